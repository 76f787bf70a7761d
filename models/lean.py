"""Rows for reading: model instances built straight from the driver's records.

Why: a read-only page of rows needs attributes, not Tortoise's full construction. Per row,
`Model._init_from_db` takes the record as keyword arguments, sets every column through three
loops of `setattr`, converts enums through `Enum.__call__` and, on SQLite, parses every DATETIME
with the iso8601 package; `select_related` also splits every joined row into dictionaries. Under
load that was a third of a list request's time (bench/RESULTS.md). Here the query is still
Tortoise's own (its SQL, its filters and orderings), and each record becomes an instance of the
model with one dictionary fill and the few conversions the driver leaves: `isinstance`, `pk` and every column attribute behave as usual,
with the same Python values `_init_from_db` gives (aware UTC datetimes, enum members, bools).

Only plain querysets take this path (no `select_related`, `prefetch_related`, `.only()` or
`.values()`): anything else is awaited as Tortoise would. Rows built here are for reading;
writes load their rows through the models as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

ModelT = TypeVar("ModelT", bound=Model)
Record = Any  # an asyncpg Record or an sqlite3.Row: both iterate values, index and give keys()


def utc_datetime(value: Any) -> datetime | None:
    """What `DatetimeField.to_python_value` gives with `use_tz` and UTC, without iso8601: asyncpg
    returns aware UTC datetimes already; SQLite stores ISO-8601 text, which `fromisoformat` reads."""
    if value is None:
        return None
    if type(value) is datetime:
        if value.tzinfo is UTC:
            return value
    elif isinstance(value, str):
        value = datetime.fromisoformat(value)
    else:
        # A number (SQLite can hold one): Tortoise reads it as a timestamp.
        value = datetime.fromtimestamp(value, UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _enum(field: Any) -> Callable[[Any], Any]:
    members = field.enum_type._value2member_map_

    def convert(value: Any) -> Any:
        if value is None:
            return None
        member = members.get(value)
        return member if member is not None else field.to_python_value(value)

    return convert


def _cast(field_type: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else field_type(value)


def _converter(field: Any) -> Callable[[Any], Any]:
    if isinstance(field, fields.DatetimeField):
        return utc_datetime
    if isinstance(field, (fields.data.CharEnumFieldInstance, fields.data.IntEnumFieldInstance)):
        return _enum(field)
    return field.to_python_value


class _Plan:
    """How the records of one column order become instances of one model: every value goes in as
    it came (one `dict.update` from `zip`), then the columns the driver does not already give as
    Python values are converted in place (Tortoise's own classification, for its dialect)."""

    __slots__ = ("attributes", "conversions")

    def __init__(self, model: type[Model], columns: tuple[str, ...]) -> None:
        meta = model._meta
        attribute_of = {column: attribute for column, attribute, _ in meta.db_native_fields}
        converters: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        for column, attribute, field in meta.db_default_fields:
            attribute_of[column] = attribute
            converters[column] = (attribute, _cast(field.field_type))
        for column, attribute, field in meta.db_complex_fields:
            attribute_of[column] = attribute
            converters[column] = (attribute, _converter(field))
        # Columns that are not the model's (annotations such as a window's rank) keep their names.
        self.attributes = tuple(attribute_of.get(column, column) for column in columns)
        self.conversions = tuple(
            (index, *converters[column]) for index, column in enumerate(columns) if column in converters
        )


_plans: dict[tuple[type[Model], tuple[str, ...]], _Plan] = {}


def build_rows(model: type[ModelT], records: list[Record]) -> list[ModelT]:
    """Instances of `model` from the records of a SELECT of (at least) its columns."""
    if not records:
        return []
    columns = tuple(records[0].keys())
    plan = _plans.get((model, columns))
    if plan is None:
        plan = _plans[(model, columns)] = _Plan(model, columns)
    meta = model._meta
    state = {
        "_partial": False,
        "_saved_in_db": True,
        "_custom_generated_pk": meta.db_pk_column not in meta.generated_db_fields,
    }
    new, attributes, conversions = model.__new__, plan.attributes, plan.conversions
    rows = []
    for record in records:
        instance = new(model)
        values = instance.__dict__
        values.update(state)
        values["_await_when_save"] = {}
        values.update(zip(attributes, record, strict=True))  # the plan was made for these columns
        for index, attribute, convert in conversions:
            values[attribute] = convert(record[index])
        rows.append(instance)
    return rows


def is_plain(queryset: QuerySet[Any]) -> bool:
    """Whether the queryset selects the model's own columns and nothing else."""
    return not (
        queryset._select_related
        or queryset._prefetch_map
        or queryset._prefetch_queries
        or queryset._fields_for_select
        or queryset._single
    )


async def fetch(queryset: QuerySet[ModelT]) -> list[ModelT]:
    """The rows of `queryset`, as `await queryset` returns them, built lean when it is plain."""
    if not is_plain(queryset):
        return list(await queryset)
    query, sql, values = _compiled(queryset)
    return await fetch_sql(query, sql, values)


def _compiled(queryset: QuerySet[ModelT]) -> tuple[QuerySet[ModelT], str, list[Any]]:
    """A copy of `queryset` bound to its database, and the SQL and parameters Tortoise makes of it."""
    query = queryset._clone()
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, values = query.query.get_parameterized_sql()
    return query, sql, values


async def fetch_sql(queryset: QuerySet[ModelT], sql: str, values: list[Any]) -> list[ModelT]:
    """Rows of `queryset.model` from SQL made from the queryset (its columns, and maybe more)."""
    queryset._choose_db_if_not_chosen()
    _, records = await queryset._db.execute_query(sql, values)
    return build_rows(queryset.model, list(records))


async def fetch_union(querysets: list[QuerySet[ModelT]], order_by: str, limit: int) -> list[ModelT]:
    """The rows of several plain querysets of one model (each limited and ordered), in one
    statement: `UNION ALL` of them, ordered by `order_by` (column text of our own making) and
    cut at `limit`. PostgreSQL numbers its parameters: each part's are renumbered after the
    previous parts' (Tortoise puts every value in a parameter, so `$n` in the text is only that)."""
    query, sql, values = union_sql(querysets, order_by, limit)
    return await fetch_sql(query, sql, values)


def union_sql(querysets: list[QuerySet[ModelT]], order_by: str, limit: int) -> tuple[QuerySet[ModelT], str, list[Any]]:
    """The statement `fetch_union` runs: a queryset bound to the database, its SQL, its values."""
    compiled = [_compiled(queryset) for queryset in querysets]
    postgres = compiled[0][0]._db.capabilities.dialect == "postgres"
    texts: list[str] = []
    values: list[Any] = []
    for index, (_, sql, part_values) in enumerate(compiled):
        if postgres and values:
            sql = _renumbered(sql, shift=len(values))
        texts.append(f'SELECT * FROM ({sql}) "part{index}"')
        values += part_values
    sql = f'SELECT * FROM ({" UNION ALL ".join(texts)}) "parts" ORDER BY {order_by} LIMIT {int(limit)}'
    return compiled[0][0], sql, values


def _renumbered(sql: str, shift: int) -> str:
    """PostgreSQL's `$n` parameters of `sql`, numbered `shift` further."""
    return re.sub(r"\$(\d+)", lambda match: f"${int(match.group(1)) + shift}", sql)


async def first(queryset: QuerySet[ModelT]) -> ModelT | None:
    """`queryset.first()`, built lean."""
    rows = await fetch(queryset.limit(1))
    return rows[0] if rows else None


# Statements by (owner, number of keys); bounded, as the number of keys comes from requests.
_keyed_statements: dict[tuple[Hashable, int], tuple[type[Model], str]] = {}
MAX_KEYED_STATEMENTS = 2048


async def fetch_keyed(owner: Hashable, queryset_for: Callable[[list[Any]], QuerySet[ModelT]], keys: list[Any]) -> list[ModelT]:
    """The rows of `queryset_for(keys)`: a loader's batch (`key__in=keys`, in `owner`'s order).

    Why: building the SQL of an `IN` of a hundred keys took Tortoise and PyPika longer than the
    database took to answer it. When the statement's only parameters are the keys themselves,
    in order and of the same types, its text depends on nothing but their number, so it is built
    once per owner and number of keys and reused with the new keys as parameters. Any other
    statement (a constant among its parameters) is built every time, as before.

    `queryset_for` must depend on the keys alone (a loader's batch does: loaders know no viewer),
    since the text built for one call serves every later call of the same owner and size.
    """
    slot = (owner, len(keys))
    known = _keyed_statements.get(slot)
    if known is not None:
        model, sql = known
        _, records = await model._choose_db().execute_query(sql, list(keys))
        # The statement was built from this owner's queryset, whose model is ModelT: a dict of
        # every owner's statements cannot say so.
        return build_rows(cast("type[ModelT]", model), list(records))
    queryset = queryset_for(keys)
    if not is_plain(queryset):
        return list(await queryset)
    query, sql, values = _compiled(queryset)
    same = values == list(keys) and all(type(value) is type(key) for value, key in zip(values, keys, strict=True))
    if same and len(_keyed_statements) < MAX_KEYED_STATEMENTS:
        _keyed_statements[slot] = (queryset.model, sql)
    return await fetch_sql(query, sql, values)
