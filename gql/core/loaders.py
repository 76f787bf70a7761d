"""Per-request dataloader plumbing and the generic loader shapes every domain reuses.

Loaders are built lazily, one instance per class per request (aiodataloader binds to the running
loop at construction), and are named `<Thing>By<Key>Loader` as in Saleor. Each is generic in its
key and value (`Loader[K, V]`), so `info.context.loaders[UserByIdLoader]` is a
`Loader[int, User | None]` and `await ….load(pk)` is a `User | None` to the type checker.

This module knows the request only by shape (`LoaderInfo`): gql/core/context.py imports the
registry from here, so naming Context would make an import cycle.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar

from aiodataloader import DataLoader
from pypika_tortoise.analytics import RowNumber
from tortoise.models import Model
from tortoise.queryset import QuerySet

from gql.core.errors import BadUserInput
from gql.core.relay import Counted, Keyset, PageArgs, SortOrder, Window, connection_name, ordered
from gql.core.selection import Selecting, selects
from gql.settings import Settings
from models import lean
from models.accounts import User
from models.counted import Size, read_tallies

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=Model)
LoaderT = TypeVar("LoaderT", bound="Loader[Any, Any]")

# A loader's answer to `get`: the value itself when it is already loaded, else a future of it.
# Resolvers that pass it on return `Loaded[...]` and name their GraphQL type in `graphql_type=`.
Loaded: TypeAlias = V | asyncio.Future[V]
# What a resolver returns when it may have to wait (`then` over a loader's answer).
MaybeAwaitable: TypeAlias = V | Awaitable[V]

# (viewer id, target id): the key of the viewer's own row on a target.
ViewerTarget: TypeAlias = tuple[int, int]


class LoaderContext(Protocol):
    """What loaders read of the request's Context (gql/core/context.py)."""

    @property
    def loaders(self) -> Loaders: ...

    @property
    def viewer(self) -> User | None: ...

    @property
    def settings(self) -> Settings: ...


class LoaderInfo(Selecting, Protocol):
    """What loaders read of a resolver's `info` (Strawberry's Info over our Context has it)."""

    @property
    def context(self) -> LoaderContext: ...


class Loader(DataLoader[K, V]):
    """Subclasses implement `fetch(keys) -> {key: value}`; keys it leaves out get `missing()`."""

    # Under which name models/lean.py keeps this loader's batch statement (one per class).
    statement_owner: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.statement_owner = f"{cls.__module__}.{cls.__qualname__}"

    def __init__(self) -> None:
        super().__init__()

    async def fetch(self, keys: list[K]) -> Mapping[K, V]:
        raise NotImplementedError

    def missing(self) -> V:
        raise NotImplementedError(f"{type(self).__name__} answers every key or says what a missing one is")

    async def batch_load_fn(self, keys: list[K]) -> list[V]:
        found = await self.fetch(keys)
        return [found[key] if key in found else self.missing() for key in keys]

    def get(self, key: K) -> Loaded[V]:
        """The value itself when it is already loaded (or primed), else a future to await.

        A plain value lets GraphQL complete the field synchronously: no task, no extra loop turn.
        """
        future = self._cache.get(key)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
        return self.load(key)

    async def fill(self, keys: list[K]) -> None:
        """Load these keys now, in one statement, so that `get` answers them synchronously.

        Straight to `fetch`, without a queued future per key (a page fills hundreds); keys
        already loaded, or on their way, are left to their own batch."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._cache]
        if not wanted:
            return
        found = await self.fetch(wanted)
        for key in wanted:
            self.prime(key, found[key] if key in found else self.missing())


class ModelByIdLoader(Loader[int, M | None]):
    """Rows of `model` by primary key; None for an id that has no row."""

    model: type[M]

    async def fetch(self, keys: list[int]) -> Mapping[int, M | None]:
        return {row.pk: row for row in await lean.fetch_keyed(self.statement_owner, self._queryset, keys)}

    def _queryset(self, keys: list[int]) -> QuerySet[M]:
        return self.model.filter(pk__in=keys)

    def missing(self) -> M | None:
        return None


class RowsByKeyLoader(Loader[int, list[T]]):
    """One-to-many: every row whose `key_field` is among the keys, grouped, in the model's order,
    each as `value(row)` gives it.

    With `value_column` (a column, or a related one as `tag__name`) each key gets that column's
    values, read as pairs without building rows."""

    key_field: ClassVar[str]
    value_column: ClassVar[str | None] = None

    def queryset(self, keys: list[int]) -> QuerySet[Any]:
        raise NotImplementedError

    def value(self, row: Any) -> T:
        return row  # a row is its own value unless a subclass says otherwise

    async def fetch(self, keys: list[int]) -> Mapping[int, list[T]]:
        grouped: dict[int, list[T]] = defaultdict(list)
        if self.value_column is not None:
            for key, value in await self.queryset(keys).values_list(self.key_field, self.value_column):
                grouped[key].append(value)
            return grouped
        for row in await lean.fetch_keyed(self.statement_owner, self.queryset, keys):
            grouped[getattr(row, self.key_field)].append(self.value(row))
        return grouped

    def missing(self) -> list[T]:
        return []


# (parent id, window): one page of one parent's list.
PageKey: TypeAlias = tuple[int, Window]


class CounterByIdLoader(Loader[int, int]):
    """A counter column of each parent row (`posts.reply_count`, `boards.published_post_count`),
    by the parent's id, in one statement: the size of each parent's list, kept
    exact by triggers (models/counted.py), so that no count reads the rows it counts."""

    model: ClassVar[type[Model]]
    column: ClassVar[str]

    async def fetch(self, keys: list[int]) -> Mapping[int, int]:
        return dict(await self.model.filter(id__in=keys).values_list("id", self.column))

    def missing(self) -> int:
        return 0


class PageRowsByKeyLoader(Loader[PageKey, list[M]]):
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
    # Each parent's total: a counter column, never a COUNT of its rows.
    count_loader: ClassVar[type[CounterByIdLoader]]

    def queryset(self, keys: list[int]) -> QuerySet[M]:
        """Every row of these parents, filtered and ordered (unsliced)."""
        raise NotImplementedError

    @functools.cached_property
    def listing(self) -> tuple[type[M], SortOrder]:
        """The model listed and the lists' order (the same for every parent), once per request."""
        queryset = self.queryset([])
        return queryset.model, SortOrder.of(queryset)

    async def fetch(self, keys: list[PageKey]) -> Mapping[PageKey, list[M]]:
        parents_by_window: dict[Window, list[int]] = defaultdict(list)
        for parent, window in keys:
            parents_by_window[window].append(parent)
        found: dict[PageKey, list[M]] = {}
        # One statement per window: one for a whole page of parents asking the same page.
        for window, parents in parents_by_window.items():
            grouped: dict[int, list[M]] = defaultdict(list)
            for row in await self._window(parents, window):
                grouped[getattr(row, self.key_field)].append(row)
            for parent in parents:
                rows = grouped.get(parent, [])
                found[(parent, window)] = rows[::-1] if window.backward else rows
        return found

    async def _window(self, parents: list[int], window: Window) -> list[M]:
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
            select_related_idx=ranked._select_related_idx,  # type: ignore[arg-type]  # Tortoise's QuerySet holds Table | str where its executor says str
        )
        return await executor.execute_select(sql, values, custom_fields=["page_rank"])

    def missing(self) -> list[M]:
        return []


class KeyedRows(Generic[M]):
    """A parent's list as a connection reads it (a relay `KeyedList`): each window through the
    loader, the count through its count loader; both answer at once when a page hook filled them."""

    __slots__ = ("loader_class", "loaders", "parent")
    keyed = True

    def __init__(self, loaders: Loaders, loader_class: type[PageRowsByKeyLoader[M]], parent: int) -> None:
        self.loaders, self.loader_class, self.parent = loaders, loader_class, parent

    def sort_order(self) -> SortOrder:
        return self.loaders[self.loader_class].listing[1]

    def model(self) -> type[M]:
        return self.loaders[self.loader_class].listing[0]

    def rows(self, window: Window) -> Loaded[list[M]]:
        return self.loaders[self.loader_class].get((self.parent, window))

    def head(self, size: int) -> Loaded[list[M]]:
        """The first `size` rows, as the connection's `first: size` reads them (with the one row past
        the page): the same loader key, so a field asking both costs one statement."""
        return self.rows(Window(None, None, size + 1, False))

    def count(self) -> Loaded[int]:
        return self.loaders[self.loader_class.count_loader].get(self.parent)


def rows_of(info: LoaderInfo, loader_class: type[PageRowsByKeyLoader[M]], parent: int) -> KeyedRows[M]:
    """What a connection resolver over a parent's rows returns (see PageRowsByKeyLoader)."""
    return KeyedRows(info.context.loaders, loader_class, parent)


class TallyByNameLoader(Loader[str, int]):
    """Whole-table counters (`tallies`) by name. The table holds a row per status of a handful of
    tables (a few dozen rows, however large the community): the first load reads all of it, and
    every later `totalCount` of the request (the landing page's FAQs, issues and Stars, asked at
    different moments) is answered from that one statement, from one consistent snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self._all: asyncio.Future[dict[str, int]] | None = None

    async def fetch(self, keys: list[str]) -> Mapping[str, int]:
        if self._all is None:
            self._all = asyncio.ensure_future(read_tallies())
        every = await self._all
        return {key: every.get(key, 0) for key in keys}

    def missing(self) -> int:
        return 0


def size_of(info: LoaderInfo, size: Size) -> Callable[[], Awaitable[int]]:
    """The function a connection calls for its `totalCount`: `size` read when asked, its tallies
    through the request's TallyByNameLoader."""

    async def count() -> int:
        tallies = None
        if size.tallies:
            values = await info.context.loaders[TallyByNameLoader].load_many(list(size.tallies))
            tallies = dict(zip(size.tallies, values, strict=True))
        return await size.read(tallies)

    return count


def counted(info: LoaderInfo, rows: QuerySet[M], size: Size) -> Counted[M]:
    """What a connection resolver returns for `rows` whose size `size` reads from counters."""
    return Counted(rows, size_of(info, size))


class ViewerRowByTargetLoader(Loader[ViewerTarget, V]):
    """The viewer's own row on each target (their kudo, "I have this too", subscription, rating).

    Keys are (viewer id, target id): one statement answers a whole page. `answer` says what a
    row found is worth (whether there is one, or a column of it), `missing` what its absence is.
    """

    model: ClassVar[type[Model]]
    target_field: ClassVar[str]
    # The column `answer` reads; none when only the row's existence counts.
    value_field: ClassVar[str | None] = None

    def answer(self, value: Any) -> V:
        raise NotImplementedError

    async def fetch(self, keys: list[ViewerTarget]) -> Mapping[ViewerTarget, V]:
        columns = ["user_id", self.target_field, *([self.value_field] if self.value_field else [])]
        rows = await self.model.filter(
            user_id__in={viewer for viewer, _ in keys}, **{f"{self.target_field}__in": [target for _, target in keys]}
        ).values_list(*columns)
        return {(row[0], row[1]): self.answer(row[2] if self.value_field else None) for row in rows}


class ViewerMarkByTargetLoader(ViewerRowByTargetLoader[bool]):
    """Whether the viewer has a row on each target (a kudo, a mark, a subscription)."""

    def answer(self, value: Any) -> bool:
        return True

    def missing(self) -> bool:
        return False


class ViewerValueByTargetLoader(ViewerRowByTargetLoader[T | None]):
    """A column of the viewer's row on each target (a rating's `helpful`); None without a row."""

    value_field: ClassVar[str | None]

    def answer(self, value: Any) -> T | None:
        return value  # read by values_list: the column's Python value

    def missing(self) -> T | None:
        return None


def viewer_row(info: LoaderInfo, loader_class: type[ViewerRowByTargetLoader[V]], target_id: int) -> Loaded[V]:
    """The viewer's own answer on a target (see ViewerRowByTargetLoader); none when anonymous."""
    loader = info.context.loaders[loader_class]
    viewer = info.context.viewer
    return loader.missing() if viewer is None else loader.get((viewer.pk, target_id))


class Loaders:
    """The request's loaders, created on first use: `context.loaders[UserByIdLoader].get(pk)`."""

    def __init__(self) -> None:
        self._instances: dict[type[Loader[Any, Any]], Loader[Any, Any]] = {}

    def __getitem__(self, loader_class: type[LoaderT]) -> LoaderT:
        instance = self._instances.get(loader_class)
        if instance is None:
            instance = self._instances[loader_class] = loader_class()
        # Read once per field of every row: no isinstance to narrow what the line above guarantees.
        return instance  # type: ignore[return-value]  # each class's slot holds an instance of that class


@dataclass(frozen=True)
class PageFiller:
    """An `on_page` hook: for each field the query selects, load its values for the whole page
    at once (the same one statement its loader would issue), so each row then resolves it
    synchronously. `fields` maps a GraphQL field name of the page's node type to (loader, row
    attribute holding the key): a name that is no field would never be selected, and its loads
    silently never made (tests/test_typed_layers.py holds every key to a field)."""

    fields: Mapping[str, tuple[type[Loader[Any, Any]], str]]

    async def __call__(self, info: LoaderInfo, rows: list[Any]) -> None:
        for name, (loader_class, attribute) in self.fields.items():
            if not rows or not selects(info, name):
                continue
            keys = list({getattr(row, attribute): None for row in rows})
            if issubclass(loader_class, PageRowsByKeyLoader):
                await _fill_pages(info, name, loader_class, keys)
            else:
                await info.context.loaders[loader_class].fill(keys)


def page_filler(**fields: tuple[type[Loader[Any, Any]], str]) -> PageFiller:
    """The `on_page` hook filling `fields` (GraphQL field name: (loader, key attribute)) for a page."""
    return PageFiller(fields)


async def _fill_pages(info: LoaderInfo, name: str, loader_class: type[PageRowsByKeyLoader[Any]],
                      parents: list[int]) -> None:
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


def _arguments_of(info: LoaderInfo, name: str) -> list[dict[str, Any]]:
    """The distinct arguments of every selection of `name` below the current field."""
    found: list[dict[str, Any]] = []
    pending: list[Any] = list(info.selected_fields)
    while pending:
        field = pending.pop()
        if getattr(field, "name", None) == name:
            arguments = dict(getattr(field, "arguments", None) or {})
            if arguments not in found:
                found.append(arguments)
        pending.extend(getattr(field, "selections", ()))
    return found


def then(value: Loaded[V], apply: Callable[[V], R]) -> MaybeAwaitable[R]:
    """`apply` to a loader's answer, synchronously when it is already there (see `Loader.get`)."""
    if isinstance(value, asyncio.Future):
        pending = value

        async def later() -> R:
            return apply(await pending)

        return later()
    return apply(value)
