"""Per-request dataloader plumbing and the generic loader shapes every domain reuses.

Loaders are built lazily, one instance per class per request (aiodataloader binds to the running
loop at construction), and are named `<Thing>By<Key>Loader` as in Saleor.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, ClassVar, TypeVar

from aiodataloader import DataLoader
from pypika_tortoise.analytics import RowNumber
from tortoise.models import Model
from tortoise.queryset import QuerySet

from gql.core.errors import BadUserInput
from gql.core.relay import Counted, Keyset, PageArgs, SortOrder, Window, connection_name, ordered
from gql.core.selection import selects
from models import lean
from models.counted import Size, read_tallies

LoaderT = TypeVar("LoaderT", bound="Loader")


class Loader(DataLoader):
    """Subclasses implement `fetch(keys) -> {key: value}`; keys it leaves out get `missing()`."""

    def __init__(self) -> None:
        super().__init__()

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        raise NotImplementedError

    def missing(self) -> Any:
        return None

    async def batch_load_fn(self, keys: list[Any]) -> list[Any]:
        found = await self.fetch(keys)
        return [found[key] if key in found else self.missing() for key in keys]

    def get(self, key: Any) -> Any:
        """The value itself when it is already loaded (or primed), else a future to await.

        A plain value lets GraphQL complete the field synchronously: no task, no extra loop turn.
        """
        future = self._cache.get(key)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
        return self.load(key)

    async def fill(self, keys: list[Any]) -> None:
        """Load these keys now, in one statement, so that `get` answers them synchronously.

        Straight to `fetch`, without a queued future per key (a page fills hundreds); keys
        already loaded, or on their way, are left to their own batch."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._cache]
        if not wanted:
            return
        found = await self.fetch(wanted)
        for key in wanted:
            self.prime(key, found[key] if key in found else self.missing())


class ModelByIdLoader(Loader):
    model: ClassVar[type[Model]]

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        return {row.pk: row for row in await lean.fetch_keyed(type(self), self._queryset, keys)}

    def _queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return self.model.filter(pk__in=keys)


class RowsByKeyLoader(Loader):
    """One-to-many: every row whose `key_field` is among the keys, grouped, in the model's order.

    With `value_column` (a column, or a related one as `tag__name`) each key gets that column's
    values, read as pairs without building rows."""

    key_field: ClassVar[str]
    value_column: ClassVar[str | None] = None

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        raise NotImplementedError

    def value(self, row: Any) -> Any:
        return row

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        grouped: dict[Hashable, list[Any]] = defaultdict(list)
        if self.value_column is not None:
            for key, value in await self.queryset(keys).values_list(self.key_field, self.value_column):
                grouped[key].append(value)
            return grouped
        for row in await lean.fetch_keyed(type(self), self.queryset, keys):
            grouped[getattr(row, self.key_field)].append(self.value(row))
        return grouped

    def missing(self) -> Any:
        return []


class PageRowsByKeyLoader(Loader):
    """One-to-many read a window at a time: the rows of one page of each parent's list (a post's
    replies, an issue's timeline), never the whole list, in one statement for every parent.

    Keys are (parent, window): each parent's rows in the window (relay `Window`: after and/or
    before a cursor's position, at most `limit` rows, from the end nearest `before` when
    backward), in list order (the queryset's, ending with the primary key). SQL keeps the rows
    past the cursors' keys, numbers each parent's with
    `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY …)` in a subquery and keeps the first `limit`,
    so a parent with 50,000 rows costs the page's rows, not 50,000 instances, however deep the
    page (SQLite ≥ 3.25 and PostgreSQL alike). `count_loader` answers `totalCount`.
    """

    key_field: ClassVar[str]
    # Each parent's total: a counter column (`CounterByIdLoader`), never a COUNT of its rows.
    count_loader: ClassVar[type[Loader]]

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        """Every row of these parents, filtered and ordered (unsliced)."""
        raise NotImplementedError

    @functools.cached_property
    def listing(self) -> tuple[type[Model], SortOrder]:
        """The model listed and the lists' order (the same for every parent), once per request."""
        queryset = self.queryset([])
        return queryset.model, SortOrder.of(queryset)

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        parents_by_window: dict[Window, list[Any]] = defaultdict(list)
        for parent, window in keys:
            parents_by_window[window].append(parent)
        found: dict[Hashable, Any] = {}
        # One statement per window: one for a whole page of parents asking the same page.
        for window, parents in parents_by_window.items():
            grouped: dict[Hashable, list[Any]] = defaultdict(list)
            for row in await self._window(parents, window):
                grouped[getattr(row, self.key_field)].append(row)
            for parent in parents:
                rows = grouped.get(parent, [])
                found[(parent, window)] = rows[::-1] if window.backward else rows
        return found

    async def _window(self, parents: list[Any], window: Window) -> list[Any]:
        selected = window.select(self.listing[1], self.queryset(parents))
        meta = selected.model._meta
        table = meta.basetable
        rank = RowNumber().over(table[meta.fields_map[self.key_field].source_field or self.key_field])
        for name, direction in selected._orderings:
            rank = rank.orderby(table[meta.fields_map[name].source_field or name], order=direction)
        ranked = ordered(selected, []).annotate(page_rank=rank)
        ranked._choose_db_if_not_chosen()
        ranked._make_query()
        inner, values = ranked.query.get_parameterized_sql()
        # The limit is an int of our own making (at most the largest page plus one).
        sql = f'SELECT * FROM ({inner}) "ranked" WHERE "page_rank" <= {int(window.limit)} ORDER BY "page_rank"'
        if lean.is_plain(ranked):
            return await lean.fetch_sql(ranked, sql, values)
        executor = ranked._db.executor_class(
            model=ranked.model, db=ranked._db, prefetch_map={}, prefetch_queries={},
            select_related_idx=ranked._select_related_idx,
        )
        return await executor.execute_select(sql, values, custom_fields=["page_rank"])

    def missing(self) -> Any:
        return []


class KeyedRows:
    """A parent's list as a connection reads it (a relay `KeyedList`): each window through the
    loader, the count through its count loader; both answer at once when a page hook filled them."""

    __slots__ = ("loader_class", "loaders", "parent")
    keyed = True

    def __init__(self, loaders: Loaders, loader_class: type[PageRowsByKeyLoader], parent: Any) -> None:
        self.loaders, self.loader_class, self.parent = loaders, loader_class, parent

    def sort_order(self) -> SortOrder:
        return self.loaders[self.loader_class].listing[1]

    def model(self) -> type[Model]:
        return self.loaders[self.loader_class].listing[0]

    def rows(self, window: Window) -> Any:
        return self.loaders[self.loader_class].get((self.parent, window))

    def head(self, size: int) -> Any:
        """The first `size` rows, as the connection's `first: size` reads them (with the one row past
        the page): the same loader key, so a field asking both costs one statement."""
        return self.rows(Window(None, None, size + 1, False))

    def count(self) -> Any:
        return self.loaders[self.loader_class.count_loader].get(self.parent)


def rows_of(info: Any, loader_class: type[PageRowsByKeyLoader], parent: Any) -> Any:
    """What a connection resolver over a parent's rows returns (see PageRowsByKeyLoader)."""
    return KeyedRows(info.context.loaders, loader_class, parent)


class CounterByIdLoader(Loader):
    """A counter column of each parent row (`posts.reply_count`, `boards.published_post_count`),
    by the parent's id, in one statement: the size of each parent's list, kept
    exact by triggers (models/counted.py), so that no count reads the rows it counts."""

    model: ClassVar[type[Model]]
    column: ClassVar[str]

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        return dict(await self.model.filter(id__in=keys).values_list("id", self.column))

    def missing(self) -> Any:
        return 0


class TallyByNameLoader(Loader):
    """Whole-table counters (`tallies`) by name. The table holds a row per status of a handful of
    tables (a few dozen rows, however large the community): the first load reads all of it, and
    every later `totalCount` of the request (the landing page's FAQs, issues and Stars, asked at
    different moments) is answered from that one statement, from one consistent snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self._all: asyncio.Future[dict[str, int]] | None = None

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        if self._all is None:
            self._all = asyncio.ensure_future(read_tallies())
        every = await self._all
        return {key: every.get(key, 0) for key in keys}

    def missing(self) -> Any:
        return 0


def size_of(info: Any, size: Size) -> Callable[[], Awaitable[int]]:
    """The function a connection calls for its `totalCount`: `size` read when asked, its tallies
    through the request's TallyByNameLoader."""

    async def count() -> int:
        tallies = None
        if size.tallies:
            values = await info.context.loaders[TallyByNameLoader].load_many(list(size.tallies))
            tallies = dict(zip(size.tallies, values))
        return await size.read(tallies)

    return count


def counted(info: Any, rows: QuerySet[Any], size: Size) -> Counted:
    """What a connection resolver returns for `rows` whose size `size` reads from counters."""
    return Counted(rows, size_of(info, size))


class ViewerRowByTargetLoader(Loader):
    """The viewer's own row on each target (their kudo, "I have this too", subscription, rating).

    Keys are (viewer id, target id): one statement answers a whole page. With `value_field` the
    answer is that column (a rating's `helpful`, None when there is no row); without, whether
    there is a row.
    """

    model: ClassVar[type[Model]]
    target_field: ClassVar[str]
    value_field: ClassVar[str | None] = None

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        columns = ["user_id", self.target_field, *([self.value_field] if self.value_field else [])]
        rows = await self.model.filter(
            user_id__in={viewer for viewer, _ in keys}, **{f"{self.target_field}__in": [target for _, target in keys]}
        ).values_list(*columns)
        return {(row[0], row[1]): row[2] if self.value_field else True for row in rows}

    def missing(self) -> Any:
        return None if self.value_field else False


def viewer_row(info: Any, loader_class: type[ViewerRowByTargetLoader], target_id: int) -> Any:
    """The viewer's own answer on a target (see ViewerRowByTargetLoader); none when anonymous."""
    loader = info.context.loaders[loader_class]
    viewer = info.context.viewer
    return loader.missing() if viewer is None else loader.get((viewer.pk, target_id))


class Loaders:
    """The request's loaders, created on first use: `context.loaders[UserByIdLoader].get(pk)`."""

    def __init__(self) -> None:
        self._instances: dict[type[Loader], Loader] = {}

    def __getitem__(self, loader_class: type[LoaderT]) -> LoaderT:
        instance = self._instances.get(loader_class)
        if instance is None:
            instance = self._instances[loader_class] = loader_class()
        return instance  # type: ignore[return-value]


PageHook = Callable[[Any, list[Any]], Awaitable[None]]


def page_filler(**fields: tuple[type[Loader], str]) -> PageHook:
    """An `on_page` hook: for each field the query selects, load its values for the whole page
    at once (the same one statement its loader would issue), so each row then resolves it
    synchronously. `fields` maps a GraphQL field name to (loader, row attribute holding the key)."""

    async def fill(info: Any, rows: list[Any]) -> None:
        for name, (loader_class, attribute) in fields.items():
            if not rows or not selects(info, name):
                continue
            keys = list({getattr(row, attribute): None for row in rows})
            if issubclass(loader_class, PageRowsByKeyLoader):
                await _fill_pages(info, name, loader_class, keys)
            else:
                await info.context.loaders[loader_class].fill(keys)

    return fill


async def _fill_pages(info: Any, name: str, loader_class: type[PageRowsByKeyLoader], parents: list[Any]) -> None:
    """Fill each parent's window of the connection field `name`, as its arguments ask (the same
    keys the field's resolver will ask for, so that it answers synchronously)."""
    loader, settings = info.context.loaders[loader_class], info.context.settings
    model, order = loader.listing
    keyset = Keyset(connection_name(name, model), order)
    for arguments in _arguments_of(info, name):
        try:
            # Literals come as text (`first: 1` is "1"), variables as coerced values.
            sizes = [None if arguments.get(arg) is None else int(arguments[arg]) for arg in ("first", "last")]
            page = PageArgs.checked(settings, sizes[0], arguments.get("after"), sizes[1], arguments.get("before"))
            window = keyset.window(page)
        except (BadUserInput, TypeError, ValueError):
            continue  # the field itself reports it
        await loader.fill([(parent, window) for parent in parents])


def _arguments_of(info: Any, name: str) -> list[dict[str, Any]]:
    """The distinct arguments of every selection of `name` below the current field."""
    found: list[dict[str, Any]] = []
    pending = list(info.selected_fields)
    while pending:
        field = pending.pop()
        if getattr(field, "name", None) == name:
            arguments = dict(getattr(field, "arguments", None) or {})
            if arguments not in found:
                found.append(arguments)
        pending.extend(getattr(field, "selections", ()))
    return found


def then(value: Any, apply: Callable[[Any], Any]) -> Any:
    """`apply` to a loader's answer, synchronously when it is already there (see `Loader.get`)."""
    if isinstance(value, asyncio.Future):

        async def later() -> Any:
            return apply(await value)

        return later()
    return apply(value)
