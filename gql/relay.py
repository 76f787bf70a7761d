"""Relay plumbing: the Node interface, opaque global IDs, connections and cursors.

Connections page with offset cursors. They are opaque to clients, cost one LIMIT/OFFSET query a
page (plus the size of the list only when `totalCount` or `last` without `before` needs it: read
from a counter for the big lists, `Counted`; a COUNT for the lists a filter bounds), and work the
same for every ordering, including the computed ones (POPULAR, MOST_AFFECTED).

No page reads more than its own rows: `last` without `before` reads the tail in reverse order
(plus the COUNT its cursors' offsets need), and a cursor deeper than MAX_CURSOR_OFFSET is refused
before any SQL, so no OFFSET is ever larger than that. (Keyset cursors will replace offsets.)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Protocol, Sequence, TypeVar

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField
from pypika_tortoise import Order
from tortoise.models import Model
from tortoise.queryset import QuerySet

from gql.errors import BadUserInput, NotFound
from gql.selection import selects
from models import lean

if TYPE_CHECKING:
    from gql.context import Info

NodeT = TypeVar("NodeT")

MAX_PK = 2**31 - 1

# GraphQL type name -> model, and back; filled by @node_type.
_MODEL_BY_TYPENAME: dict[str, type[Model]] = {}
_TYPENAME_BY_MODEL: dict[type[Model], str] = {}


def node_type(model: type[Model], name: str | None = None) -> Callable[[type], type]:
    """Register a Strawberry type as the GraphQL face of `model`, resolvable through `node(id:)`.

    The model instance itself is the root value: plain fields read its attributes directly,
    which keeps them synchronous and cheap.
    """

    if not callable(getattr(model, "visible_to", None)):
        # Fail closed: a model reachable through `node(id:)` must say who may see its rows.
        raise TypeError(f"{model.__name__} needs a visible_to(viewer) classmethod (or PubliclyVisible)")

    def register(cls: type) -> type:
        typename = name or cls.__name__
        _MODEL_BY_TYPENAME[typename] = model
        _TYPENAME_BY_MODEL[model] = typename
        # Strawberry reads is_type_of from the type definition when it builds the schema.
        cls.__strawberry_definition__.is_type_of = lambda obj, _info: isinstance(obj, model)  # type: ignore[attr-defined]
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


def model_for(typename: str) -> type[Model]:
    return _MODEL_BY_TYPENAME[typename]


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    @strawberry.field(description="Opaque global ID, usable with `node(id:)`.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id_of(self))  # type: ignore[arg-type]


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


def _edges(root: strawberry.Parent[Any]) -> list[Edge[Any]]:
    # Built when asked for: most pages are read through `nodes`, and a cursor per item is work.
    return [Edge(cursor=_encode_cursor(root._start + i), node=item) for i, item in enumerate(root._items)]


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(resolver=_edges)
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]
    _items: strawberry.Private[list[Any]]
    _start: strawberry.Private[int]

    @strawberry.field(description="The nodes of this page, without their edges.")
    def nodes(self) -> list[NodeT]:
        return self._items

    @strawberry.field(description="How many items the whole list holds, across pages.")
    async def total_count(self) -> int:
        return await self._count()


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, argument: str, maximum: int) -> int:
    """The offset inside a cursor; malformed, or deeper than `maximum`, is BAD_USER_INPUT."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
        offset = int(raw) if raw.isascii() and raw.isdigit() else -1
    except (ValueError, UnicodeError, binascii.Error):
        offset, kind = -1, ""
    if kind != "offset" or offset < 0:
        raise BadUserInput(f"`{argument}` is not a cursor from this API: {cursor!r}", argument=argument)
    if offset > maximum:
        # Any integer, however large (past 2^63 too): refused here, before any SQL.
        raise BadUserInput(
            f"`{argument}` points {offset} items deep; cursors reach at most {maximum} items "
            "(narrow the list with its filters, or page from the other end)",
            argument=argument,
            maximum=maximum,
        )
    return offset


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


def reversed_ordering(orderings: list[tuple[str, Order]]) -> list[tuple[str, Order]]:
    return [(name, Order.asc if order == Order.desc else Order.desc) for name, order in orderings]


def ordered(queryset: QuerySet[Any], orderings: list[tuple[str, Order]]) -> QuerySet[Any]:
    """`queryset` with exactly these orderings (QuerySet keeps them parsed; this sets them)."""
    clone = queryset._clone()
    clone._orderings = list(orderings)
    return clone


@dataclass(frozen=True)
class PageArgs:
    """Validated `first`/`after`/`last`/`before`, the cursors decoded to offsets."""

    first: int | None
    after: int | None
    last: int | None
    before: int | None

    @classmethod
    def parse(
        cls,
        info: "Info",
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> "PageArgs":
        return cls.checked(info.context.settings, first, after, last, before)

    @classmethod
    def checked(
        cls, settings: Any, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> "PageArgs":
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
        maximum = settings.max_cursor_offset
        return cls(
            first=first,
            after=None if after is None else _decode_cursor(after, "after", maximum),
            last=last,
            before=None if before is None else _decode_cursor(before, "before", maximum),
        )

    @property
    def from_end(self) -> bool:
        """`last` without `before`: the page is the list's tail, whose offsets need the count."""
        return self.last is not None and self.before is None

    def bounds(self, total: int) -> tuple[int, int]:
        """The [start, end) offsets of the page in a list of `total` items (read only when
        `from_end`)."""
        start = self.after + 1 if self.after is not None else 0
        end = self.before
        if self.last is not None:
            if end is None:
                end = total
            return max(start, end - self.last), end
        stop = start + (self.first or 0)
        return start, stop if end is None else min(end, stop)

    def has_next(self, rows_read: int, size: int) -> bool:
        """Forward pages read one row more than they show; a page before a cursor has that
        cursor's row after it."""
        return self.before is not None if self.last is not None else rows_read > size


def _memo(fetch: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    value: list[int] = []

    async def once() -> int:
        if not value:
            value.append(await fetch())
        return value[0]

    return once


def _build(items: Sequence[Any], start: int, has_next: bool, count: Callable[[], Awaitable[int]]) -> Connection[Any]:
    items = list(items)
    return Connection(
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=start > 0,
            start_cursor=_encode_cursor(start) if items else None,
            end_cursor=_encode_cursor(start + len(items) - 1) if items else None,
        ),
        _count=count,
        _items=items,
        _start=start,
    )


class Source(Protocol):
    """A list that is neither one QuerySet nor in memory (a search over several tables)."""

    async def slice(self, start: int, stop: int) -> list[Any]: ...

    async def tail(self, size: int) -> list[Any]:
        """The last `size` items, in list order (read from the end, never from the start)."""
        ...

    async def count(self) -> int: ...


class QuerySetSource:
    """A QuerySet as a Source: LIMIT/OFFSET in SQL, the tail through the reversed ordering."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        self.orderings = ordering_of(queryset)
        self.queryset = ordered(queryset, self.orderings)

    async def slice(self, start: int, stop: int) -> list[Any]:
        return await lean.fetch(self.queryset.offset(start).limit(stop - start))

    async def tail(self, size: int) -> list[Any]:
        rows = await lean.fetch(ordered(self.queryset, reversed_ordering(self.orderings)).limit(size))
        return rows[::-1]

    async def count(self) -> int:
        return await self.queryset.count()


@dataclass(frozen=True)
class Counted:
    """What a connection resolver returns for a list a counter keeps the size of: the rows (an
    unsliced QuerySet, paged in SQL as any other) and `count`, which reads the counter, so that
    `totalCount` (and a tail's offsets) never COUNT the rows (models/counted.py)."""

    rows: QuerySet[Any]
    count: Callable[[], Awaitable[int]]


class CountedSource:
    """A Source whose rows come from another and whose count comes from a counter."""

    def __init__(self, rows: Source, count: Callable[[], Awaitable[int]]) -> None:
        self.rows, self._count = rows, count

    def slice(self, start: int, stop: int) -> Awaitable[list[Any]]:
        return self.rows.slice(start, stop)

    def tail(self, size: int) -> Awaitable[list[Any]]:
        return self.rows.tail(size)

    async def count(self) -> int:
        return await self._count()


async def paginate_source(source: Source, page: PageArgs) -> Connection[Any]:
    """One page: the rows of the window plus one, to learn `hasNextPage` without a COUNT; for
    `last` without `before`, the COUNT (for the cursors' offsets) and the tail, read backwards."""
    count = _memo(source.count)
    if page.from_end:
        start, end = page.bounds(await count())
        size = max(end - start, 0)
        return _build(await source.tail(size) if size else [], start, False, count)
    start, end = page.bounds(0)
    size = max(end - start, 0)
    rows = await source.slice(start, start + size + 1)
    return _build(rows[:size], start, page.has_next(len(rows), size), count)


class KeyedList(Protocol):
    """One parent's list inside a page of parents (a post's replies), read through loaders that
    answer every parent of the page in one statement, each with only the rows its window needs."""

    def window(self, start: int, stop: int, from_end: bool = False) -> list[Any] | Awaitable[list[Any]]:
        """Items [start, stop) in list order, or counted from the end when `from_end` (returned
        in list order either way)."""
        ...

    def count(self) -> int | Awaitable[int]: ...


def paginate_keyed(items: KeyedList, page: PageArgs) -> Connection[Any] | Awaitable[Connection[Any]]:
    """A page of a KeyedList; synchronous when a page hook already filled its loaders."""

    async def count() -> int:
        total = items.count()
        return total if isinstance(total, int) else await total

    if page.from_end:

        async def tail() -> Connection[Any]:
            start, end = page.bounds(await count())
            size = max(end - start, 0)
            rows = await _value(items.window(0, size, from_end=True)) if size else []
            return _build(rows, start, False, count)

        return tail()
    start, end = page.bounds(0)
    size = max(end - start, 0)

    def build(rows: list[Any]) -> Connection[Any]:
        return _build(rows[:size], start, page.has_next(len(rows), size), count)

    rows = items.window(start, start + size + 1)
    if isinstance(rows, list):
        return build(rows)

    async def later() -> Connection[Any]:
        return build(await _value(rows))

    return later()


async def _value(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def paginate_list(items: Sequence[Any], page: PageArgs) -> Connection[Any]:
    """The same paging over a list already in memory (a dataloader's result), without a wait."""

    async def count() -> int:
        return len(items)

    start, end = page.bounds(len(items))
    start, stop = min(start, len(items)), min(end, len(items))
    return _build(items[start:stop], start, stop < len(items), count)


_PAGE_ARGUMENTS = (
    ("first", int, "Return the first n items (default 20, at most 100)."),
    ("after", str, "Return the items after this cursor."),
    ("last", int, "Return the last n items (at most 100)."),
    ("before", str, "Return the items before this cursor."),
)


class ConnectionExtension(FieldExtension):
    """Gives a list field `first/after/last/before` and pages what its resolver returns.

    The resolver returns an unsliced QuerySet (paged in SQL), the same with the counter that
    knows its size (`Counted`: no COUNT for `totalCount`), a Source, a KeyedList (a parent's
    rows through a loader, one window per parent) or a list (paged in memory);
    the page arguments are checked before the resolver runs, so a bad one costs no SQL.
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
        page = PageArgs.parse(info, *(_given(kwargs.pop(name, None)) for name, _, _ in _PAGE_ARGUMENTS))
        result = next_(source, info, **kwargs)
        if self.on_page is None:
            if isinstance(result, list):
                # Already in memory: the page is ready now, no wait for the executor.
                return paginate_list(result, page)
            if hasattr(result, "window"):
                # A filled loader answers at once; otherwise the executor awaits one batch.
                return paginate_keyed(result, page)
        return self._page(result, page, info)

    async def resolve_async(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        page = PageArgs.parse(info, *(_given(kwargs.pop(name, None)) for name, _, _ in _PAGE_ARGUMENTS))
        return await self._page(next_(source, info, **kwargs), page, info)

    async def _page(self, result: Any, page: PageArgs, info: Any) -> Connection[Any]:
        if inspect.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        source: Source | None = None
        if isinstance(result, Counted):
            # Rows paged as any QuerySet's, the count from the counter.
            source = CountedSource(QuerySetSource(result.rows), result.count)
        # A QuerySet is awaitable too: never await it here, page it in SQL.
        elif isinstance(result, QuerySet):
            source = QuerySetSource(result)
        elif hasattr(result, "slice"):
            source = result
        if source is not None:
            if not _selects_rows(info):
                # Only `totalCount` asked for: no page to read.
                return _build([], 0, False, _memo(source.count))
            connection = await paginate_source(source, page)
        elif hasattr(result, "window"):
            connection = await _value(paginate_keyed(result, page))
        else:
            connection = paginate_list(result, page)
        if self.on_page is not None:
            await self.on_page(info, connection.nodes())
        return connection


def _selects_rows(info: Any) -> bool:
    """Whether the query asks the connection for anything its rows decide (not only totalCount)."""
    return any(selects(info, name) for name in ("edges", "nodes", "pageInfo"))


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def connection(
    description: str, *, on_page: Callable[[Any, list[Any]], Awaitable[None]] | None = None, **field_options: Any
) -> Any:
    """`@connection("...")` on a resolver that returns a QuerySet or a list of nodes.

    `await on_page(info, rows)` sees each page's rows, to prime or fill loaders for the whole page.
    """
    return strawberry.field(description=description, extensions=[ConnectionExtension(on_page)], **field_options)
