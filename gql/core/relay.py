"""Relay plumbing: the Node interface, opaque global IDs, connections and keyset cursors.

Every connection pages by keys, not offsets: a cursor holds its item's position in the
connection's order (the sort-key values and the id, which breaks ties), and a page is the rows
after (or before) that position, one `WHERE (keys) > (cursor's keys) ORDER BY keys LIMIT n+1`.
So a deep page costs what the first does (no OFFSET scan), and rows inserted, deleted or moved
between two requests never make a page repeat or skip a row that stayed where it was. Cursors are
opaque and versioned (`_encode_cursor`); a malformed one, an old version, or one made by another
connection or another order is BAD_USER_INPUT before any SQL. `totalCount` is read only when
asked: from a counter for the big lists (`Counted`), a COUNT for the lists a filter bounds.

Resolvers say what they receive and what they return. Object types here are answered with the
rows themselves (Tortoise instances, or the shapes a loader gives), not with instances of the
Strawberry classes: so a resolver on such a type takes its row as `strawberry.Parent[Row]` (a
static method whose first parameter is the row), and a resolver that returns rows names the
GraphQL type in `graphql_type=` and annotates what it really returns: `-> models.Post | None`,
`-> Loaded[...]` for a loader's answer (gql/core/loaders.py), `-> Listing[models.Post]` for a
connection (paged by ConnectionExtension below). mypy then checks every attribute a resolver
reads off its row, and the executor still reads plain fields straight off the rows
(gql/execution/executor.py): no wrapper object per row.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

import strawberry
from pypika_tortoise import Order
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from tortoise import fields
from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from gql.core.documented import embedded
from gql.core.errors import BadUserInput, NotFound
from gql.core.selection import selects
from models import lean
from models.accounts import User

NodeT = TypeVar("NodeT")
M = TypeVar("M", bound=Model)

MAX_PK = 2**31 - 1

# GraphQL type name -> model, and back; filled by @node_type.
_MODEL_BY_TYPENAME: dict[str, type[Model]] = {}
_TYPENAME_BY_MODEL: dict[type[Model], str] = {}
# GraphQL type name -> its model's `visible_to(viewer)`: the rows `node(id:)` may answer.
_VISIBLE_TO: dict[str, Callable[[User | None], QuerySet[Any]]] = {}


def node_type(model: type[Model], name: str | None = None) -> Callable[[type], type]:
    """Register a Strawberry type as the GraphQL face of `model`, resolvable through `node(id:)`.

    The model instance itself is the root value: plain fields read its attributes directly,
    which keeps them synchronous and cheap.
    """

    visible_to = getattr(model, "visible_to", None)
    if not callable(visible_to):
        # Fail closed: a model reachable through `node(id:)` must say who may see its rows.
        raise TypeError(f"{model.__name__} needs a visible_to(viewer) classmethod (or PubliclyVisible)")

    def register(cls: type) -> type:
        typename = name or cls.__name__
        _MODEL_BY_TYPENAME[typename] = model
        _TYPENAME_BY_MODEL[model] = typename
        _VISIBLE_TO[typename] = visible_to
        # Strawberry reads is_type_of from the type definition when it builds the schema.
        get_object_definition(cls, strict=True).is_type_of = lambda obj, _info: isinstance(obj, model)
        return cls

    return register


def to_global_id(typename: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{typename}:{pk}".encode()).decode().rstrip("=")


def global_id_of(obj: Model) -> str:
    return to_global_id(_TYPENAME_BY_MODEL[type(obj)], obj.pk)


def from_global_id(global_id: str) -> tuple[str, int]:
    """Decode an ID; a malformed one is BAD_USER_INPUT, never a 500."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        typename, _, raw_pk = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
        pk = int(raw_pk)
    except (ValueError, UnicodeError, binascii.Error):
        raise BadUserInput(f"Malformed ID: {global_id!r}", argument="id") from None
    # Primary keys are 32-bit integers: a larger one would reach PostgreSQL as an error, not a miss.
    if typename not in _MODEL_BY_TYPENAME or not 0 < pk <= MAX_PK:
        raise BadUserInput(f"Malformed ID: {global_id!r}", argument="id")
    return typename, pk


def typed_pk(global_id: str, *expected: str) -> tuple[str, int]:
    """The type name and primary key inside an ID that must name one of the `expected` types."""
    typename, pk = from_global_id(global_id)
    if typename not in expected:
        raise NotFound(
            f"ID {global_id!r} is a {typename}, expected {' or '.join(expected)}", argument="id"
        )
    return typename, pk


def pk_of(global_id: str, *expected: str) -> int:
    return typed_pk(global_id, *expected)[1]


def visible_rows(typename: str, viewer: User | None) -> QuerySet[Any]:
    """The rows of the type's model `viewer` may see (its `visible_to`)."""
    return _VISIBLE_TO[typename](viewer)


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    @strawberry.field(description="Opaque global ID, usable with `node(id:)`.")
    @staticmethod
    def id(row: strawberry.Parent[Model]) -> strawberry.ID:
        return strawberry.ID(global_id_of(row))


@strawberry.type(description=embedded("Where a page sits in its list."))
class PageInfo:
    has_next_page: bool = strawberry.field(description=(
        "Whether items follow this page (read one row past it); paging backward, true whenever `before` was given."))
    has_previous_page: bool = strawberry.field(description=(
        "Whether items precede this page (read one row past it); paging forward, true whenever `after` was given."))
    start_cursor: str | None = strawberry.field(description="The first item's cursor; null on an empty page.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor, for `after`; null on an empty page.")


@strawberry.type(description=embedded("One item of a page, with its cursor."))
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description=(
        "Opaque keyset cursor of this item, for `after`/`before` on the same connection and order."))
    node: NodeT = strawberry.field(description="The item.")


def _edges(root: strawberry.Parent[Any]) -> list[Edge[Any]]:
    # Built when asked for: most pages are read through `nodes`, and a cursor per item is work.
    return [Edge(cursor=root._keyset.cursor(item), node=item) for item in root._items]


@strawberry.type(description=embedded("A page of a list (Relay connection): its items, cursors and place in the list."))
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(resolver=_edges, description="The page's items with their cursors.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list, to ask for the next one.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]
    _items: strawberry.Private[list[Any]]
    _keyset: strawberry.Private[Keyset]

    @strawberry.field(description="The nodes of this page, without their edges.")
    def nodes(self) -> list[NodeT]:
        return self._items

    @strawberry.field(description="How many items the whole list holds, across pages.")
    async def total_count(self) -> int:
        return await self._count()


# --- Keyset cursors ----------------------------------------------------------------------------
#
# A cursor is base64url (unpadded) of the compact JSON {"v": version, "o": order, "k": [keys]}:
# the sort-key values of its item, ending with the id, and a fingerprint of the connection (its
# field name, its model) and of the order (keys and directions). A page is "the rows after (or
# before) this position in this order", a row-value comparison in SQL, so no page reads the rows
# before it and a row inserted, deleted or moved elsewhere shifts nothing else.

CURSOR_VERSION = 1
# Far longer than any cursor of ours (a few keys): anything longer is refused before decoding.
MAX_CURSOR_LENGTH = 1024
_INT_RANGE = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Cursor:
    """A cursor as the client sent it, decoded but not yet checked against the connection's order."""

    order: str
    values: tuple[Any, ...]


def _refuse(argument: str, reason: str, cursor: str) -> BadUserInput:
    shown = cursor if len(cursor) <= 80 else cursor[:80] + "…"
    return BadUserInput(f"`{argument}` {reason}: {shown!r}", argument=argument)


def _decode_cursor(cursor: str, argument: str) -> Cursor:
    """The cursor's order fingerprint and key values; anything not made by this API's current
    encoding (malformed, truncated, an offset cursor of old) is BAD_USER_INPUT, before any SQL."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        decoded = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise _refuse(argument, "is not a cursor from this API", cursor) from None
    if not isinstance(decoded, dict) or set(decoded) != {"v", "o", "k"}:
        raise _refuse(argument, "is not a cursor from this API", cursor)
    version, order, values = decoded["v"], decoded["o"], decoded["k"]
    if type(version) is int and version != CURSOR_VERSION:
        raise _refuse(argument, f"is a cursor of another version of this API ({version}, now {CURSOR_VERSION}); "
                                "start again from the first page", cursor)
    if type(version) is not int or not isinstance(order, str) or not isinstance(values, list):
        raise _refuse(argument, "is not a cursor from this API", cursor)
    return Cursor(order, tuple(values))


def _encode_cursor(order: str, values: Sequence[Any]) -> str:
    text = json.dumps({"v": CURSOR_VERSION, "o": order, "k": list(values)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _checked_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise ValueError("not an ISO-8601 time with its offset")
    return moment.astimezone(UTC)


def _checked_int(value: Any, allowed: range = _INT_RANGE) -> int:
    # Within the column's own range too: PostgreSQL refuses a 64-bit parameter for an int4 column.
    if type(value) is not int or value not in allowed:
        raise ValueError(f"not an integer in [{allowed.start}, {allowed.stop})")
    return value


def _checked_number(value: Any) -> float | int:
    if type(value) is int:
        return _checked_int(value)
    if type(value) is not float:
        raise ValueError("not a number")
    return value


def _checked(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise ValueError(f"not a {kind.__name__}")
        if isinstance(value, str) and ("\x00" in value or (not value.isascii() and _not_utf8(value))):
            # JSON's \ud800 or \u0000: no driver or database takes it, so it is a forged cursor.
            raise ValueError("not text a database holds")
        return value

    return check


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def ordering_of(queryset: QuerySet[Any]) -> list[tuple[str, Order]]:
    """The queryset's ordering (its model's default when none is given), ending with the primary
    key as tie-breaker so that the order is total and its reverse is exactly the mirror image."""
    orderings = list(queryset._orderings)
    if not orderings and not queryset._annotations:
        orderings = list(queryset.model._meta.ordering)
    pk = queryset.model._meta.pk_attr
    if not any(name in (pk, "pk") for name, _ in orderings):
        orderings.append((pk, orderings[-1][1] if orderings else Order.asc))
    return orderings


def ordered(queryset: QuerySet[Any], orderings: list[tuple[str, Order]]) -> QuerySet[Any]:
    """`queryset` with exactly these orderings (QuerySet keeps them parsed; this sets them)."""
    clone = queryset._clone()
    clone._orderings = list(orderings)
    return clone


@dataclass(frozen=True)
class SortKey:
    """One key of a connection's order: how rows are compared on it, and how a cursor holds it.

    `name` is what the queryset orders by (a column, a related column as `profile__since`, or an
    annotation); `attribute` is where a fetched row holds its value."""

    name: str
    descending: bool
    nullable: bool
    attribute: str
    # JSON value -> the value compared in SQL (raises ValueError when it is not one), and back.
    parse: Callable[[Any], Any]
    dump: Callable[[Any], Any]


def _iso_datetime(value: Any) -> str:
    """A time as a cursor holds it: ISO-8601 in UTC (a key's value; NULLs never reach here)."""
    moment = lean.utc_datetime(value)
    if moment is None:
        raise ValueError("not a time")
    return moment.isoformat()


def typed_key(name: str, descending: bool, kind: type, nullable: bool = False, attribute: str = "",
              allowed: range = _INT_RANGE) -> SortKey:
    """A key of a list that is not one queryset's (a merged search): a datetime, int or str. An
    int outside `allowed` (what its column holds: `int_range`) is refused before any SQL."""
    if kind is datetime:
        return SortKey(name, descending, nullable, attribute, _checked_datetime,
                       _iso_datetime)
    if kind is int:
        return SortKey(name, descending, nullable, attribute, lambda value: _checked_int(value, allowed), int)
    return SortKey(name, descending, nullable, attribute, _checked(kind), kind)


def int_range(field: fields.Field[Any]) -> range:
    """The values an integer column holds (an IntField's 32 bits, a BigIntField's 64): a cursor's
    key beyond them would reach the driver and fail there (asyncpg: "out of int32 range")."""
    bounds = getattr(field, "constraints", {})
    return range(bounds.get("ge", _INT_RANGE.start), bounds.get("le", _INT_RANGE.stop - 1) + 1)


def _sort_key(model: type[Model], name: str, order: Order, attribute: str) -> SortKey:
    """The SortKey for `name` in `model`'s querysets, typed by the field it names (following
    relations; an annotation is a number); keys behind a relation (a LEFT JOIN) may be NULL."""
    descending = order == Order.desc
    path = name.split("__")
    field: Any = None
    nullable = len(path) > 1
    current: type[Model] | None = model
    for step in path:
        if current is None:
            field = None
            break
        meta = current._meta
        field = meta.fields_map.get(meta.pk_attr if step == "pk" else step)
        current = getattr(field, "related_model", None)
    if field is None:
        # An annotation (a computed order): a number, NULL when it has nothing to count.
        return SortKey(name, descending, True, attribute, _checked_number, lambda value: value)
    nullable = nullable or bool(field.null)
    if isinstance(field, fields.DatetimeField):
        return typed_key(name, descending, datetime, nullable, attribute)
    if isinstance(field, fields.DateField):
        return SortKey(name, descending, nullable, attribute,
                       lambda value: date.fromisoformat(_checked(str)(value)), lambda value: str(value))
    if isinstance(field, (fields.data.CharEnumFieldInstance, fields.data.IntEnumFieldInstance)):
        members = field.enum_type._value2member_map_
        return SortKey(name, descending, nullable, attribute,
                       lambda value: members[value], lambda value: getattr(value, "value", value))
    if isinstance(field, fields.BooleanField):
        return SortKey(name, descending, nullable, attribute, _checked(bool), bool)
    if isinstance(field, (fields.FloatField, fields.DecimalField)):
        return SortKey(name, descending, nullable, attribute, _checked_number, float)
    if field.field_type is int:
        return typed_key(name, descending, int, nullable, attribute, int_range(field))
    return typed_key(name, descending, str, nullable, attribute)


def _where(lookup: str, value: Any) -> Q:
    """`Q(lookup=value)` for a lookup made from a key's name (`published_at__lt`)."""
    return Q(**{lookup: value})


class SortOrder:
    """A connection's order as keyset paging needs it: the keys (ending with the id, so that the
    order is total), how to read them off a row, and the SQL condition "after/before a position".

    NULLs: a key that may be NULL sorts its NULLs where the database puts them (PostgreSQL: after
    every value, as if the largest; SQLite: before every value, as if the smallest), and the
    condition follows the same rule, so pages and ORDER BY always agree.
    """

    def __init__(self, keys: Sequence[SortKey], nulls_largest: bool,
                 read: Callable[[Any], Sequence[Any]] | None = None) -> None:
        self.keys = tuple(keys)
        self.nulls_largest = nulls_largest
        # How a row's key values are read, when not from the keys' attributes (a merged list).
        self.read = read
        self.signature = ",".join(("-" if key.descending else "+") + key.name for key in self.keys)

    @classmethod
    def of(cls, queryset: QuerySet[Any]) -> SortOrder:
        """The order of `queryset` (its model's default when it names none), ended by the id."""
        model = queryset.model
        keys = []
        for index, (name, order) in enumerate(ordering_of(queryset)):
            direct = name in model._meta.fields_map or name == "pk" or name in queryset._annotations
            attribute = (model._meta.pk_attr if name == "pk" else name) if direct else f"_key{index}"
            keys.append(_sort_key(model, name, order, attribute))
        return cls(keys, model._meta.db.capabilities.dialect == "postgres")

    def prepared(self, queryset: QuerySet[Any], backward: bool = False) -> QuerySet[Any]:
        """`queryset` ordered by these keys (reversed when `backward`), selecting the keys its
        rows do not hold as attributes (a related column) under their attribute names."""
        orderings = [(key.name, Order.desc if key.descending != backward else Order.asc) for key in self.keys]
        prepared = ordered(queryset, orderings)
        borrowed = {key.attribute: F(key.name) for key in self.keys if key.attribute.startswith("_key")}
        return prepared.annotate(**borrowed) if borrowed else prepared

    def values(self, row: Any) -> list[Any]:
        """The row's position in this order, as a cursor holds it (JSON values)."""
        found = self.read(row) if self.read is not None else [getattr(row, key.attribute) for key in self.keys]
        return [None if value is None else key.dump(value) for key, value in zip(self.keys, found, strict=True)]

    def position(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """A cursor's JSON values as SQL compares them; ValueError when they do not fit the keys."""
        if len(values) != len(self.keys):
            raise ValueError("not this order's keys")
        position = []
        for key, value in zip(self.keys, values, strict=True):
            if value is None and not key.nullable:
                raise ValueError(f"{key.name} cannot be null")
            position.append(None if value is None else key.parse(value))
        return tuple(position)

    def beyond(self, position: Sequence[Any], forward: bool, inclusive: bool = False) -> Q:
        """Rows strictly after `position` in this order (before it when not `forward`), or at it
        too when `inclusive`: the row-value comparison (k1, k2, …) > (v1, v2, …) expanded into
        `k1 > v1 OR (k1 = v1 AND k2 > v2) OR …`, each key in its own direction (SQLite and
        PostgreSQL compare row values in one direction only), NULLs by the rule above."""
        branches: list[Q] = []
        equal_so_far: list[Q] = []
        for key, value in zip(self.keys, position, strict=True):
            greater = forward != key.descending
            step = self._past(key, value, greater)
            if step is not None:
                branches.append(Q(*equal_so_far, step))
            equal_so_far.append(_where(f"{key.name}__isnull", True) if value is None else _where(key.name, value))
        if inclusive:
            branches.append(Q(*equal_so_far))
        condition = Q(*branches, join_type="OR") if branches else _where(f"{self.keys[-1].name}__in", [])
        first, value = self.keys[0], position[0]
        greater = forward != first.descending
        if value is not None and not self._nulls_beyond(first, greater):
            # Redundant, but a plain range on the leading key: where an index scan can start.
            # (Not when NULLs lie beyond the cursor: `Window.parts` splits those pages.)
            condition = Q(_where(f"{first.name}__{'gte' if greater else 'lte'}", value), condition)
        return condition

    def splits(self, position: Sequence[Any], forward: bool) -> bool:
        """Whether the rows past `position` are two ranges of the leading key: its values past
        the cursor's, and then its NULLs (a nullable key whose NULLs lie beyond)."""
        first = self.keys[0]
        return position[0] is not None and self._nulls_beyond(first, forward != first.descending)

    def without_leading_nulls(self) -> SortOrder:
        """This order over the rows whose leading key is not NULL."""
        return SortOrder([replace(self.keys[0], nullable=False), *self.keys[1:]], self.nulls_largest, self.read)

    def order_by_sql(self, model: type[Model], backward: bool) -> str:
        """ORDER BY's text for a SELECT of `model`'s columns (and the borrowed keys): to order
        the union of a split page as each of its parts is ordered."""
        fields_map = model._meta.fields_map
        columns = []
        for key in self.keys:
            field = fields_map.get(key.attribute)
            column = (field.source_field or key.attribute) if field is not None else key.attribute
            columns.append(f'"{column}" {"DESC" if key.descending != backward else "ASC"}')
        return ",".join(columns)

    def _nulls_beyond(self, key: SortKey, greater: bool) -> bool:
        """Whether `key`'s NULLs come after every value in the `greater` direction."""
        return key.nullable and greater == self.nulls_largest

    def _past(self, key: SortKey, value: Any, greater: bool) -> Q | None:
        """Rows whose `key` is greater (or less) than `value`, NULL counted as largest or
        smallest; None when no row can be."""
        nulls_beyond = self._nulls_beyond(key, greater)
        if value is None:
            return None if nulls_beyond or not key.nullable else _where(f"{key.name}__isnull", False)
        compared = _where(f"{key.name}__{'gt' if greater else 'lt'}", value)
        return Q(compared, _where(f"{key.name}__isnull", True), join_type="OR") if nulls_beyond else compared


@dataclass(frozen=True)
class Window:
    """What one page reads: the rows between the positions (exclusive), at most `limit` of them,
    from the `before` end when `backward`. Hashable: a loader key."""

    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None
    limit: int
    backward: bool

    def condition(self, order: SortOrder) -> Q | None:
        bounds = [order.beyond(position, forward)
                  for position, forward in ((self.after, True), (self.before, False)) if position is not None]
        return Q(*bounds) if bounds else None

    def select(self, order: SortOrder, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """`queryset` narrowed to the window, in the order it is read (reversed when backward)."""
        condition = self.condition(order)
        prepared = order.prepared(queryset, self.backward)
        return prepared.filter(condition) if condition is not None else prepared

    def parts(self, order: SortOrder, queryset: QuerySet[Any]) -> list[QuerySet[Any]]:
        """The window as querysets each an index range can serve, in reading order: one, or two
        when the rows past the only cursor are the leading key's values and then its NULLs (on
        SQLite, newest-first posts: `published_at < ? OR published_at IS NULL` would scan the
        index from the list's start, as an OFFSET did)."""
        bound = self.after if self.before is None else self.before if self.after is None else None
        if bound is None or not order.splits(bound, forward=self.after is not None):
            return [self.select(order, queryset)]
        valued = self.select(order.without_leading_nulls(), queryset)
        nulls = order.prepared(queryset, self.backward).filter(**{f"{order.keys[0].name}__isnull": True})
        return [valued, nulls]


_fingerprints: dict[str, str] = {}


class Keyset:
    """A SortOrder bound to one connection: cursors made here are refused by any other connection
    or order (their fingerprint differs), before any SQL."""

    def __init__(self, name: str, order: SortOrder) -> None:
        self.order = order
        identity = f"{name}|{order.signature}"
        fingerprint = _fingerprints.get(identity)
        if fingerprint is None:
            digest = base64.urlsafe_b64encode(hashlib.sha256(identity.encode()).digest()[:6]).decode()
            # Bounded by the schema's connections and orders (a few dozen).
            fingerprint = _fingerprints.setdefault(identity, digest)
        self.fingerprint = fingerprint

    def cursor(self, row: Any) -> str:
        return _encode_cursor(self.fingerprint, self.order.values(row))

    def window(self, page: PageArgs) -> Window:
        """The page's window, its cursors checked against this connection's order."""
        return Window(self._position(page.after, "after"), self._position(page.before, "before"),
                      page.size + 1, page.backward)

    def _position(self, cursor: Cursor | None, argument: str) -> tuple[Any, ...] | None:
        if cursor is None:
            return None
        if cursor.order != self.fingerprint:
            raise BadUserInput(f"`{argument}` is a cursor of another list or another order; "
                               "cursors work only on the connection, and the order, that made them",
                               argument=argument)
        try:
            return self.order.position(cursor.values)
        except (ValueError, TypeError, KeyError, OverflowError):
            raise BadUserInput(f"`{argument}` is not a cursor from this API", argument=argument) from None


def connection_name(field_name: str, model: type[Model] | None) -> str:
    """What a connection's cursors are bound to: its field (GraphQL name) and the table it lists."""
    return f"{field_name}:{model._meta.db_table if model is not None else ''}"


class PageSizes(Protocol):
    """The settings a page's size is checked against (gql/settings.py)."""

    @property
    def page_size_default(self) -> int: ...

    @property
    def page_size_max(self) -> int: ...


@dataclass(frozen=True)
class PageArgs:
    """Validated `first`/`after`/`last`/`before`; the cursors decoded, to be checked against the
    connection's order (`Keyset.window`) once the resolver has said what it lists."""

    first: int | None
    after: Cursor | None
    last: int | None
    before: Cursor | None

    @classmethod
    def parse(cls, info: Any, arguments: dict[str, Any]) -> PageArgs:
        """The page arguments a connection field was given (taken out of `arguments`), checked
        against the request's settings."""
        given = [_given(arguments.pop(name, None)) for name, _, _ in _PAGE_ARGUMENTS]
        return cls.checked(info.context.settings, *given)

    @classmethod
    def checked(
        cls, settings: PageSizes, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageArgs:
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= settings.page_size_max:
                raise BadUserInput(
                    f"`{name}` must be between 0 and {settings.page_size_max}, got {value}",
                    argument=name,
                    maximum=settings.page_size_max,
                )
        if first is not None and last is not None:
            raise BadUserInput("Pass either `first` or `last`, not both", argument="last")
        if first is None and last is None:
            first = settings.page_size_default
        return cls(
            first=first,
            after=None if after is None else _decode_cursor(after, "after"),
            last=last,
            before=None if before is None else _decode_cursor(before, "before"),
        )

    @property
    def backward(self) -> bool:
        """`last`: the page is the end of the window nearest `before` (or the list's tail)."""
        return self.last is not None

    @property
    def size(self) -> int:
        return (self.last if self.backward else self.first) or 0


def _memo(fetch: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    value: list[int] = []

    async def once() -> int:
        if not value:
            value.append(await fetch())
        return value[0]

    return once


def _build(rows: Sequence[Any], page: PageArgs, keyset: Keyset, count: Callable[[], Awaitable[int]]) -> Connection[Any]:
    """A page from the rows its window read: one row more than it shows, in list order, so that
    the extra row (the first when paging backward) says whether more lie beyond. Toward the
    cursor's side, Relay lets a server answer cheaply: a page after `after` has the cursor's item
    before it, a page before `before` has that item after it."""
    size = page.size
    more = len(rows) > size
    items = list(rows[len(rows) - size:] if page.backward and more else rows[:size])
    has_next, has_previous = (page.before is not None, more) if page.backward else (more, page.after is not None)
    return Connection(
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=keyset.cursor(items[0]) if items else None,
            end_cursor=keyset.cursor(items[-1]) if items else None,
        ),
        _count=count,
        _items=items,
        _keyset=keyset,
    )


class Source(Protocol):
    """A list that is not one QuerySet (a search over several tables), paged by keys all the same."""

    def sort_order(self) -> SortOrder: ...

    def model(self) -> type[Model] | None: ...

    async def rows(self, window: Window) -> list[Any]:
        """The window's rows in list order (for a backward window, those nearest its end)."""
        ...

    async def count(self) -> int: ...


class QuerySetSource:
    """A QuerySet as a Source: one SELECT a page, narrowed by the cursor's keys, never an OFFSET."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        self.queryset = queryset
        self.order = SortOrder.of(queryset)

    def sort_order(self) -> SortOrder:
        return self.order

    def model(self) -> type[Model] | None:
        return self.queryset.model

    async def rows(self, window: Window) -> list[Any]:
        parts = [part.limit(window.limit) for part in window.parts(self.order, self.queryset)]
        if len(parts) == 1 or not all(lean.is_plain(part) for part in parts):
            rows = await lean.fetch(window.select(self.order, self.queryset).limit(window.limit))
        else:
            # Both ranges in one statement, ordered again as one list (at most twice `limit` rows).
            rows = await lean.fetch_union(parts, self.order.order_by_sql(self.queryset.model, window.backward),
                                          window.limit)
        return rows[::-1] if window.backward else rows

    async def count(self) -> int:
        return await self.queryset.count()


@dataclass(frozen=True)
class Counted(Generic[M]):
    """What a connection resolver returns for a list a counter keeps the size of: the rows (an
    unsliced QuerySet, paged in SQL as any other) and `count`, which reads the counter, so that
    `totalCount` never COUNTs the rows (models/counted.py)."""

    rows: QuerySet[M]
    count: Callable[[], Awaitable[int]]


class CountedSource(QuerySetSource):
    """A QuerySetSource whose count comes from a counter."""

    def __init__(self, counted: Counted[Any]) -> None:
        super().__init__(counted.rows)
        self._count = counted.count

    async def count(self) -> int:
        return await self._count()


async def paginate_source(source: Source, page: PageArgs, keyset: Keyset) -> Connection[Any]:
    """One page: the window's rows plus one, to learn what lies beyond without a COUNT."""
    window = keyset.window(page)
    return _build(await source.rows(window), page, keyset, _memo(source.count))


class KeyedList(Protocol):
    """One parent's list inside a page of parents (a post's replies), read through loaders that
    answer every parent of the page in one statement, each with only the rows its window needs."""

    keyed: bool  # True: what tells a KeyedList from a Source

    def sort_order(self) -> SortOrder: ...

    def model(self) -> type[Model] | None: ...

    def rows(self, window: Window) -> list[Any] | Awaitable[list[Any]]:
        """The window's rows in list order (see Source.rows)."""
        ...

    def count(self) -> int | Awaitable[int]: ...


# What a connection's resolver returns, for ConnectionExtension to page (see its docstring); the
# field names its GraphQL type in `graphql_type=Connection[...]`.
Listing: TypeAlias = QuerySet[M] | Counted[M] | Source | KeyedList


def paginate_keyed(items: KeyedList, page: PageArgs, keyset: Keyset) -> Connection[Any] | Awaitable[Connection[Any]]:
    """A page of a KeyedList; synchronous when a page hook already filled its loaders."""

    async def count() -> int:
        total = items.count()
        return total if isinstance(total, int) else await total

    rows = items.rows(keyset.window(page))
    if isinstance(rows, list):
        return _build(rows, page, keyset, count)

    async def later() -> Connection[Any]:
        return _build(await _value(rows), page, keyset, count)

    return later()


async def _value(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


_PAGE_ARGUMENTS = (
    ("first", int, "Return the first n items (default 20, at most 100)."),
    ("after", str, "Return the items after this cursor (an opaque cursor of this connection and order)."),
    ("last", int, "Return the last n items (at most 100)."),
    ("before", str, "Return the items before this cursor (an opaque cursor of this connection and order)."),
)


class ConnectionExtension(FieldExtension):
    """Gives a list field `first/after/last/before` and pages what its resolver returns.

    The resolver returns an unsliced, ordered QuerySet (paged in SQL), the same with the counter
    that knows its size (`Counted`: no COUNT for `totalCount`), a Source, or a KeyedList (a
    parent's rows through a loader, one window per parent). Page sizes and the cursors' encoding
    are checked before the resolver runs, the cursors' order once it has said what it lists:
    either way before any SQL.
    """

    def __init__(self, on_page: Callable[[Any, list[Any]], Awaitable[None]] | None = None) -> None:
        super().__init__()
        self.on_page = on_page

    def apply(self, field: StrawberryField) -> None:
        field.arguments = [
            *field.arguments,
            *(
                StrawberryArgument(
                    python_name=name,
                    graphql_name=None,
                    type_annotation=StrawberryAnnotation(python_type | None),
                    description=description,
                    default=strawberry.UNSET,
                )
                for name, python_type, description in _PAGE_ARGUMENTS
            ),
        ]

    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        page = PageArgs.parse(info, kwargs)
        result = next_(source, info, **kwargs)
        if self.on_page is None and _is_keyed(result):
            # A filled loader answers at once; otherwise the executor awaits one batch.
            return paginate_keyed(result, page, Keyset(connection_name(info.field_name, result.model()), result.sort_order()))
        return self._page(result, page, info)

    async def resolve_async(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        page = PageArgs.parse(info, kwargs)
        return await self._page(next_(source, info, **kwargs), page, info)

    async def _page(self, result: Any, page: PageArgs, info: Any) -> Connection[Any]:
        if inspect.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        # A QuerySet is awaitable too: never await it here, page it in SQL.
        if isinstance(result, Counted):
            result = CountedSource(result)
        elif isinstance(result, QuerySet):
            result = QuerySetSource(result)
        if not hasattr(result, "sort_order"):
            raise TypeError(f"a connection's resolver returns a QuerySet, Counted, Source or KeyedList, not {result!r}")
        keyset = Keyset(connection_name(info.field_name, result.model()), result.sort_order())
        if _is_keyed(result):
            connection = await _value(paginate_keyed(result, page, keyset))
        elif not _selects_rows(info):
            # Only `totalCount` asked for: no page to read (the cursors are still checked).
            keyset.window(page)
            connection = _build([], page, keyset, _memo(result.count))
        else:
            connection = await paginate_source(result, page, keyset)
        if self.on_page is not None:
            await self.on_page(info, connection.nodes())
        return connection


def _is_keyed(result: Any) -> bool:
    return getattr(result, "keyed", False) is True


def _selects_rows(info: Any) -> bool:
    """Whether the query asks the connection for anything its rows decide (not only totalCount)."""
    return any(selects(info, name) for name in ("edges", "nodes", "pageInfo"))


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def connection(
    description: str,
    *,
    on_page: Callable[[Any, list[Any]], Awaitable[None]] | None = None,
    permission_classes: Sequence[type[BasePermission]] = (),
    **field_options: Any,
) -> Any:
    """`@connection("...")` on a resolver that returns an ordered QuerySet, a Source or a KeyedList.

    `await on_page(info, rows)` sees each page's rows, to prime or fill loaders for the whole page.
    `permission_classes` (gql/permissions.py) are checked once the page arguments are (a bad `first`
    is BAD_USER_INPUT for anyone), before the resolver runs.
    """
    extensions: list[FieldExtension] = [ConnectionExtension(on_page)]
    if permission_classes:
        # The last extension is the outermost: the permissions run inside the page's.
        extensions.insert(0, PermissionExtension([rule() for rule in permission_classes], use_directives=False))
    field = strawberry.field(description=description, extensions=extensions, **field_options)
    field.permission_classes = list(permission_classes)  # declared, as on any field (the checks are above)
    return field
