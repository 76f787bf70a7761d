"""One walk over the operation: depth, aliases, directives per field, and a GitHub-style cost.

Cost: every object (and every connection) a query can return counts one point, multiplied by the
`first`/`last` of each connection around it (the page-size default when absent), as GitHub counts
nodes. A plain list whose length an argument sets (declared with `sized_by`) multiplies the same
way. `login` fields are counted too, aliases included, for the login-attempt budget.
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
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    parse,
    value_from_ast_untyped,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

_SIZE_ARGUMENT = "cost_size_argument"


def sized_by(argument: str) -> dict[str, str]:
    """Field metadata for a list that is not a connection but holds as many objects as `argument`
    says (`daily(days: 366)`): the cost counts each of them, as it counts a connection's `first`."""
    return {_SIZE_ARGUMENT: argument}


@dataclass
class Analysis:
    """What one walk found; shared through the cache below, so read-only once returned."""

    operation: OperationType | None = None
    depth: int = 0
    aliases: int = 0
    # Every field selection, repeats and `__typename` included: graphql-core merges repeats, but
    # it still reads and validates each one.
    fields: int = 0
    max_directives: int = 0
    cost: int = 0
    login_handles: list[str | None] = field(default_factory=list)


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
                   variables: dict[str, Any] | None, default_page: int) -> Analysis:
    """`analyse(parse_cached(query))`, remembered per (query, operation, variables): the same
    operation sent again (the common case for an app or a dashboard) skips the walk."""
    key = _variables_key(variables)
    if key is None:
        return analyse(schema, parse_cached(query, max_tokens), operation_name, variables, default_page)
    return _analyse_remembered(schema, query, max_tokens, operation_name, key, default_page)


@lru_cache(maxsize=1024)
def _analyse_remembered(schema: GraphQLSchema, query: str, max_tokens: int, operation_name: str | None,
                        variables_json: str, default_page: int) -> Analysis:
    variables = orjson.loads(variables_json) if variables_json else None
    return analyse(schema, parse_cached(query, max_tokens), operation_name, variables, default_page)


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    default_page: int,
) -> Analysis:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    result = Analysis()
    if len(chosen) != 1:
        return result  # execution reports the missing or ambiguous operation
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return result
    result.operation = operation.operation
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _Walker(schema, fragments, variables or {}, default_page, result)
    walker.selection_set(operation.selection_set, root, depth=1, multiplier=1, visiting=frozenset())
    return result


class _Walker:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any], default_page: int, result: Analysis) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.default_page, self.result = default_page, result

    def selection_set(self, selections: SelectionSetNode, parent: Any, depth: int, multiplier: int,
                      visiting: frozenset[str]) -> None:
        for selection in selections.selections:
            self.result.max_directives = max(self.result.max_directives, len(selection.directives or ()))
            if isinstance(selection, FieldNode):
                self.field(selection, parent, depth, multiplier, visiting)
            elif isinstance(selection, InlineFragmentNode):
                target = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                self.selection_set(selection.selection_set, target or parent, depth, multiplier, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visiting:
                    continue  # validation refuses unknown fragments and cycles
                target = self.schema.get_type(fragment.type_condition.name.value)
                self.selection_set(fragment.selection_set, target or parent, depth, multiplier, visiting | {name})

    def field(self, node: FieldNode, parent: Any, depth: int, multiplier: int, visiting: frozenset[str]) -> None:
        self.result.depth = max(self.result.depth, depth)
        self.result.fields += 1
        if node.alias is not None:
            self.result.aliases += 1
        fields = getattr(parent, "fields", None)  # unions have none: only their fragments select
        definition: GraphQLField | None = fields.get(node.name.value) if fields else None
        if definition is None:
            return  # __typename and unknown fields: validation speaks about the latter
        if node.name.value == "login" and parent is self.schema.mutation_type:
            self.result.login_handles.append(self._login_handle(node))
        named = get_named_type(definition.type)
        if not is_composite_type(named) or node.selection_set is None:
            return
        multiplier *= self._list_size(node, definition)
        self.result.cost += multiplier
        if named.name.endswith("Connection"):
            multiplier *= self._page_size(node)
        self.selection_set(node.selection_set, named, depth + 1, multiplier, visiting)

    def _arguments(self, node: FieldNode) -> dict[str, Any]:
        return {arg.name.value: value_from_ast_untyped(arg.value, self.variables) for arg in node.arguments or ()}

    def _page_size(self, node: FieldNode) -> int:
        return self._count_argument(node, ("first", "last"), self.default_page)

    def _list_size(self, node: FieldNode, definition: GraphQLField) -> int:
        field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        name = getattr(field, "metadata", {}).get(_SIZE_ARGUMENT)
        if name is None:
            return 1
        default = definition.args[name].default_value
        return self._count_argument(node, (name,), default if isinstance(default, int) else 1)

    def _count_argument(self, node: FieldNode, names: tuple[str, ...], default: int) -> int:
        """The first of `names` given as a count (an int >= 0); the field refuses bad ones itself."""
        arguments = self._arguments(node)
        for name in names:
            value = arguments.get(name)
            if isinstance(value, int) and value >= 0:
                return value
        return default

    def _login_handle(self, node: FieldNode) -> str | None:
        value = self._arguments(node).get("input")
        handle = value.get("handle") if isinstance(value, dict) else None
        return handle.strip().lower() if isinstance(handle, str) else None
