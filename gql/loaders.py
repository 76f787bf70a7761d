"""Per-request dataloader plumbing and the generic loader shapes every domain reuses.

Loaders are built lazily, one instance per class per request (aiodataloader binds to the running
loop at construction), and are named `<Thing>By<Key>Loader` as in Saleor.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Awaitable, Callable, ClassVar, Hashable, Iterable, TypeVar

from aiodataloader import DataLoader
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet

from gql.selection import selects

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
        """Load these keys now, in one batch, so that `get` answers them synchronously."""
        await self.load_many(keys)


class ModelByIdLoader(Loader):
    model: ClassVar[type[Model]]

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        return {row.pk: row for row in await self.model.filter(pk__in=keys)}


class RowsByKeyLoader(Loader):
    """One-to-many: every row whose `key_field` is among the keys, grouped, in the model's order."""

    key_field: ClassVar[str]

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        raise NotImplementedError

    def value(self, row: Any) -> Any:
        return row

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        grouped: dict[Hashable, list[Any]] = defaultdict(list)
        for row in await self.queryset(keys):
            grouped[getattr(row, self.key_field)].append(self.value(row))
        return grouped

    def missing(self) -> Any:
        return []


class CountByKeyLoader(Loader):
    """How many rows of `queryset(keys)` each key has, in one GROUP BY."""

    key_field: ClassVar[str]

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        raise NotImplementedError

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        rows = (
            await self.queryset(keys)
            .annotate(n=Count("id"))
            .group_by(self.key_field)
            .values_list(self.key_field, "n")
        )
        return dict(rows)

    def missing(self) -> Any:
        return 0


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

    def prime_many(self, loader_class: type[Loader], rows: Iterable[Model]) -> None:
        """Seed a by-id loader with rows a list query already fetched."""
        loader = self[loader_class]
        for row in rows:
            loader.prime(row.pk, row)


PageHook = Callable[[Any, list[Any]], Awaitable[None]]


def page_filler(**fields: tuple[type[Loader], str]) -> PageHook:
    """An `on_page` hook: for each field the query selects, load its values for the whole page
    at once (the same one statement its loader would issue), so each row then resolves it
    synchronously. `fields` maps a GraphQL field name to (loader, row attribute holding the key)."""

    async def fill(info: Any, rows: list[Any]) -> None:
        for name, (loader_class, attribute) in fields.items():
            if rows and selects(info, name):
                await info.context.loaders[loader_class].fill(list({getattr(row, attribute) for row in rows}))

    return fill


def then(value: Any, apply: Callable[[Any], Any]) -> Any:
    """`apply` to a loader's answer, synchronously when it is already there (see `Loader.get`)."""
    if isinstance(value, asyncio.Future):

        async def later() -> Any:
            return apply(await value)

        return later()
    return apply(value)
