"""The execution context: graphql-core's executor, with the least machinery for plain fields.

Three things the stock executor does per resolved value cost more than the value itself:
- A Tortoise model instance defines `__await__` (awaiting it returns the model itself), so the
  stock awaitable test sends every row a resolver returns as an object, and every list item,
  through a coroutine and an extra turn of the event loop (100 of each for a 100-post page).
- A plain field (an attribute of its row, a scalar or an enum: `title`, `publishedAt`, `status`)
  gets a `GraphQLResolveInfo`, Strawberry's resolver wrapper and the generic completion, about
  three quarters of the executor's time on a list page. `execute_field` answers those with one
  `getattr` and the type's own output coercion, and leaves everything else (and every error,
  null in a non-null field included) to the stock code, so the answers are the same.
- A field with a resolver of its own but no arguments and no extensions (`id`, `author`) runs
  Strawberry's generic wrapper per call: argument conversion, a chain of partials, three
  indirections. `lighten_resolvers` gives such fields a resolver that calls the function with
  the source and Strawberry's `Info`, which is all the wrapper ends up passing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any, TypeGuard

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info
from tortoise.models import Model

# What plain fields hold: never awaitable, answered by one set look-up.
_PLAIN_TYPES = frozenset({type(None), bool, int, float, str, list, tuple, dict, datetime, date})


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's test, except for Tortoise model instances (see the module's docstring)."""
    # Called for every resolved value: answer the plain ones (most of them) without another call.
    if type(value) in _PLAIN_TYPES or isinstance(value, Model):
        return False
    return optimized_is_awaitable(value)


# A plain field's (attribute name, leaf type) by the field's identity; None for every other field.
_PlainField = tuple[str, GraphQLLeafType] | None
_plain_fields: dict[int, tuple[GraphQLField, _PlainField]] = {}


def plain_field(field_def: GraphQLField) -> _PlainField:
    """(attribute, leaf type) when the field reads an attribute of its source and is a scalar or
    enum: a Strawberry field without resolver, extensions or arguments, or a graphql-core field
    left to its default resolver (introspection's are not: their sources are dicts or types)."""
    known = _plain_fields.get(id(field_def))
    if known is not None and known[0] is field_def:
        return known[1]
    plain: _PlainField = None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    leaf = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    if (
        definition is not None
        and getattr(definition, "is_basic_field", False)
        and not field_def.args
        and is_leaf_type(leaf)
        and getattr(field_def.resolve, "_is_default", False)
    ):
        plain = (definition.python_name, leaf)
    _plain_fields[id(field_def)] = (field_def, plain)
    return plain


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Sub-executors are shallow copies of this one, so they inherit the predicate.
        self.is_awaitable = is_awaitable
        # Strawberry always passes a manager; it wraps resolvers only when an extension resolves.
        manager = self.middleware_manager
        self.resolves_plainly = manager is None or not manager._middleware_resolvers

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if self.resolves_plainly:
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            plain = plain_field(field_def) if field_def is not None else None
            if plain is not None:
                try:
                    value = getattr(source, plain[0], None)
                except Exception:  # noqa: BLE001 - a raising property: the stock path reports it
                    value = None
                if value is not None and not isinstance(value, Exception):
                    try:
                        coerced = plain[1].coerce_output_value(value)
                    except Exception:  # noqa: BLE001 - the stock path reports it as a field error
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        return coerced
        # Anything else, and any value that needs the stock path's errors, as graphql-core does it.
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def lighten_resolvers(schema: Schema) -> int:
    """Give every field whose resolver takes at most its source and `info` (no arguments, no
    field extensions such as permissions or connections) a direct resolver; none when the
    schema has exception handlers, which the wrapper applies. Returns how many it changed."""
    if schema.schema_converter._exception_handler_specs:
        return 0
    info_class = schema.config.info_class
    changed = 0
    for graphql_type in schema._schema.type_map.values():
        if graphql_type.name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_def in graphql_type.fields.values():
            definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            direct = _direct_resolver(definition, info_class) if isinstance(definition, StrawberryField) else None
            if direct is not None and not field_def.args:
                field_def.resolve = direct
                changed += 1
    return changed


def _direct_resolver(field: StrawberryField, info_class: type[Info]) -> Any:
    resolver = field.base_resolver
    if resolver is None or field.extensions or resolver.arguments or field.is_subscription:
        return None
    function = resolver.wrapped_func
    if not callable(function):
        return None
    # What Strawberry's wrapper passes (strawberry.schema.schema_converter.get_arguments): the
    # source first for `self`, by name for a `Parent`/root parameter, `info` by name. A `Parent`
    # that comes first (gql/core/relay.py's convention for rows) takes the source positionally,
    # as `self` does: a keyword call costs more, once per row.
    parameters = tuple(resolver.signature.parameters.values())
    leading_parent = resolver.parent_parameter is not None and parameters[:1] == (resolver.parent_parameter,)
    with_self = resolver.self_parameter is not None or leading_parent
    source_names = [parameter.name for parameter in (resolver.parent_parameter, resolver.root_parameter)
                    if parameter and not (leading_parent and parameter is resolver.parent_parameter)]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
        keywords = {name: source for name in source_names}
        if info_name is not None:
            keywords[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **keywords) if with_self else function(**keywords)

    if info_name is None and not source_names:
        # The commonest shape (`id`, and plain methods): no keywords to build.
        return (lambda source, _info: function(source)) if with_self else (lambda _source, _info: function())
    return resolve
