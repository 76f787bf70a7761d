"""One walk over the operation: depth, aliases, fields, directives per field, and a GitHub-style cost.

Cost: every object (and every connection) a query can return counts one point, multiplied by the
`first`/`last` of each connection around it (the page-size default when absent), as GitHub counts
nodes. A plain list whose length an argument sets (declared with `sized_by`) multiplies the same
way, and so does a list argument each item of which repeats the work (`repeated_by`). Arguments
are read as execution will read them: variables coerced (`100.0` is the Int 100) and their
defaults applied, the schema's argument defaults too. `login` fields are counted, aliases
included, for the login-attempt budget.

The walk is linear in the document's size, whatever its fragments: each fragment is tallied once
and its tally reused at every spread (a fragment spread twice in a fragment spread twice... costs
one tally per fragment, not 2^n walks), and it stops at the first shape limit exceeded. The
document's size itself is bounded by the parser's token limit before the walk starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    parse,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.schema.schema_converter import GraphQLCoreConverter

from gql.core.costs import PER_CLIENT, REPEAT_ARGUMENT, SIZE_ARGUMENT


@dataclass(frozen=True)
class ShapeLimits:
    depth: int
    aliases: int
    fields: int
    directives: int


class ShapeLimitExceeded(Exception):
    """The walk stopped at this limit; `value` is what it had counted by then (at least that)."""

    def __init__(self, what: str, code: str, value: int, limit: int) -> None:
        super().__init__(f"{what} is {value}, over the limit of {limit}")
        self.code, self.value, self.limit = code, value, limit


class NulInArgument(Exception):
    """An argument holds U+0000. PostgreSQL's text cannot store it (the statement fails: an
    unexpected error), SQLite would store it; no text of ours needs it. So it is refused for every
    argument, literal or variable, on every database, before anything runs."""

    def __init__(self, field: str, argument: str) -> None:
        super().__init__(f"`{field}({argument}:)` holds the character U+0000, which no text here may hold")
        self.argument = argument


def _holds_nul(value: Any) -> bool:
    """Whether a coerced argument value holds U+0000 in any string, at any depth (no recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


@dataclass
class Figures:
    """What a selection set holds, for one unit of the multiplier around it (cost is linear in it)."""

    depth: int = 0
    aliases: int = 0
    # Every field selection, repeats and `__typename` included: graphql-core merges repeats, but
    # it still reads and validates each one.
    fields: int = 0
    directives: int = 0  # the most on one selection
    cost: int = 0
    login_handles: list[str | None] = field(default_factory=list)
    per_client: bool = False

    def shape(self) -> Figures:
        """The figures validation's work grows with, without the cost and logins of running it."""
        return Figures(depth=self.depth, aliases=self.aliases, fields=self.fields, directives=self.directives)

    def add(self, other: Figures) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.fields += other.fields
        self.directives = max(self.directives, other.directives)
        self.cost += other.cost
        self.login_handles += other.login_handles
        self.per_client = self.per_client or other.per_client


@dataclass
class Analysis(Figures):
    """The operation's figures; shared through the cache below, so read-only once returned."""

    operation: OperationType | None = None
    # The chosen operation's name in the document (an anonymous one has none).
    operation_name: str | None = None
    # Selection sets the walk read: the work it did, linear in the document's size.
    walked: int = 0


_EMPTY = Figures()


@lru_cache(maxsize=512)
def parse_cached(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


# Variables longer than this as JSON are analysed afresh rather than kept as a cache key.
_CACHEABLE_VARIABLES_CHARS = 1000


def _variables_key(variables: dict[str, Any] | None) -> str | None:
    """The variables as a cache key; None when too long to keep (or past orjson's 64-bit ints)."""
    if not variables:
        return ""
    try:
        key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return None
    return key if len(key) <= _CACHEABLE_VARIABLES_CHARS else None


def analyse_cached(schema: GraphQLSchema, query: str, max_tokens: int, operation_name: str | None,
                   variables: dict[str, Any] | None, default_page: int, limits: ShapeLimits) -> Analysis:
    """`analyse(parse_cached(query))`, remembered per (query, operation, variables): the same
    operation sent again (the common case for an app or a dashboard) skips the walk."""
    key = _variables_key(variables)
    if key is None:
        return analyse(schema, parse_cached(query, max_tokens), operation_name, variables, default_page, limits)
    return _analyse_remembered(schema, query, max_tokens, operation_name, key, default_page, limits)


@lru_cache(maxsize=1024)
def _analyse_remembered(schema: GraphQLSchema, query: str, max_tokens: int, operation_name: str | None,
                        variables_json: str, default_page: int, limits: ShapeLimits) -> Analysis:
    variables = orjson.loads(variables_json) if variables_json else None
    return analyse(schema, parse_cached(query, max_tokens), operation_name, variables, default_page, limits)


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    default_page: int,
    limits: ShapeLimits,
) -> Analysis:
    """The chosen operation's figures, and the shape of the whole document (validation reads all of
    it: other operations and unused fragments count towards the shape limits, not the cost);
    raises ShapeLimitExceeded as soon as one shape limit is passed."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    # None when missing or ambiguous: execution reports that, after validation read the document.
    operation = chosen[0] if len(chosen) == 1 else None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {}) if operation else None
    # Invalid variables: execution refuses them before any resolver runs; count with defaults only.
    walker = _Walker(schema, document, coerced if isinstance(coerced, VariableValues) else VariableValues({}, {}),
                     default_page, limits)
    analysis = Analysis(operation=operation.operation if operation else None,
                        operation_name=operation.name.value if operation and operation.name else None)
    walker.tally_fragments()
    for each in operations:
        figures = walker.selection_set(each.selection_set, schema.get_root_type(each.operation))
        analysis.add(figures if each is operation else figures.shape())
        walker.check(analysis)
    used = set(walker.dependency_order([name for each in operations for name in _spreads(each.selection_set)]))
    for name, figures in walker.tallied.items():
        if name not in used:
            analysis.add(figures.shape())
            walker.check(analysis)
    analysis.walked = walker.walked
    return analysis


def _spreads(selections: SelectionSetNode) -> list[str]:
    """The fragments a selection set spreads, at any nesting (without recursion)."""
    names, pending = [], [selections]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
                pending.append(selection.selection_set)
    return names


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues,
                 default_page: int, limits: ShapeLimits) -> None:
        self.schema, self.variables, self.default_page, self.limits = schema, variables, default_page, limits
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.tallied: dict[str, Figures] = {}
        self.walked = 0

    def tally_fragments(self) -> None:
        # Each fragment after those it spreads, so that a spread only reads a tally: a chain of
        # fragments may be longer than Python's recursion limit (the parser bounds the nesting
        # inside one selection set, not across fragments).
        for name in self.dependency_order(list(self.fragments)):
            fragment = self.fragments[name]
            target = self.schema.get_type(fragment.type_condition.name.value)
            self.tallied[name] = self.selection_set(fragment.selection_set, target)

    def dependency_order(self, roots: list[str]) -> list[str]:
        """The fragments reachable from `roots`, each after the ones it spreads; unknown fragments
        and cycles are left out (validation refuses both)."""
        order: list[str] = []
        done: set[str] = set()
        entered: set[str] = set()
        stack = [(name, False) for name in reversed(roots)]
        while stack:
            name, children_done = stack.pop()
            if children_done:
                entered.discard(name)
                done.add(name)
                order.append(name)
            elif name in self.fragments and name not in done and name not in entered:
                entered.add(name)
                stack.append((name, True))
                stack.extend((child, False) for child in reversed(_spreads(self.fragments[name].selection_set)))
        return order

    def selection_set(self, selections: SelectionSetNode, parent: Any) -> Figures:
        self.walked += 1
        tally = Figures()
        for selection in selections.selections:
            tally.directives = max(tally.directives, len(selection.directives or ()))
            if isinstance(selection, FieldNode):
                tally.add(self.field(selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                tally.add(self.selection_set(selection.selection_set, target or parent))
            elif isinstance(selection, FragmentSpreadNode):
                tally.add(self.tallied.get(selection.name.value, _EMPTY))
            self.check(tally)
        return tally

    def field(self, node: FieldNode, parent: Any) -> Figures:
        tally = Figures(depth=1, fields=1, aliases=int(node.alias is not None))
        fields = getattr(parent, "fields", None)  # unions have none: only their fragments select
        definition: GraphQLField | None = fields.get(node.name.value) if fields else None
        if definition is None:
            return tally  # __typename and unknown fields: validation speaks about the latter
        metadata = getattr(definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF), "metadata", None) or {}
        tally.per_client = bool(metadata.get(PER_CLIENT))
        arguments = self._arguments(definition, node) if node.arguments or definition.args else {}
        for name, value in arguments.items():
            if _holds_nul(value):
                raise NulInArgument(node.name.value, name)
        if node.name.value == "login" and parent is self.schema.mutation_type:
            tally.login_handles.append(_login_handle(arguments))
        named = get_named_type(definition.type)
        if not is_composite_type(named) or node.selection_set is None:
            return tally
        objects = self._list_size(arguments, metadata) * self._repeats(arguments, metadata)
        page = self._count(arguments, ("first", "last"), self.default_page) if named.name.endswith("Connection") else 1
        inner = self.selection_set(node.selection_set, named)
        # `__Type.ofType` unwraps one list or non-null wrapper: the schema bounds that chain (three
        # levels for `[T!]!`), so it adds no depth. Otherwise the standard introspection query
        # (GraphiQL's, codegen's, a fuzzer's: nine `ofType` levels) is deeper than MAX_DEPTH.
        unwraps = node.name.value == "ofType" and parent is self.schema.get_type("__Type")
        return Figures(depth=int(not unwraps) + inner.depth, aliases=tally.aliases + inner.aliases, fields=1 + inner.fields,
                      directives=inner.directives, cost=objects + objects * page * inner.cost,
                      login_handles=tally.login_handles + inner.login_handles, per_client=tally.per_client or inner.per_client)

    def check(self, tally: Figures) -> None:
        # A part's figures never exceed the whole's (cost aside: a `first: 0` around it may zero
        # it, so cost is checked on the whole operation by the guard).
        limits = self.limits
        for value, limit, what, code in (
            (tally.depth, limits.depth, "Query depth", "MAX_DEPTH_EXCEEDED"),
            (tally.aliases, limits.aliases, "Aliases", "MAX_ALIASES_EXCEEDED"),
            (tally.fields, limits.fields, "Field selections", "MAX_FIELDS_EXCEEDED"),
            (tally.directives, limits.directives, "Directives on one field", "MAX_DIRECTIVES_EXCEEDED"),
        ):
            if value > limit:
                raise ShapeLimitExceeded(what, code, value, limit)

    def _arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as execution will see them; none when they are invalid (execution
        then refuses the field before its resolver runs)."""
        try:
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return {}

    def _list_size(self, arguments: dict[str, Any], metadata: dict[str, Any]) -> int:
        name = metadata.get(SIZE_ARGUMENT)
        if name is None:
            return 1
        value = arguments.get(name)
        return len(value) if isinstance(value, list) else self._count(arguments, (name,), 1)

    def _repeats(self, arguments: dict[str, Any], metadata: dict[str, Any]) -> int:
        if REPEAT_ARGUMENT not in metadata:
            return 1
        name, when_absent = metadata[REPEAT_ARGUMENT]
        items = arguments.get(name)
        return len(set(items)) or 1 if isinstance(items, list) else when_absent

    @staticmethod
    def _count(arguments: dict[str, Any], names: tuple[str, ...], default: int) -> int:
        """The first of `names` given as a count (an int >= 0); the field refuses bad ones itself."""
        for name in names:
            value = arguments.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return default


def _login_handle(arguments: dict[str, Any]) -> str | None:
    value = arguments.get("input")
    handle = value.get("handle") if isinstance(value, dict) else None
    return handle.strip().lower() if isinstance(handle, str) else None
