from __future__ import annotations

import heapq
from typing import Annotated, Any

import strawberry
from tortoise.queryset import QuerySet

from gql.context import Info
from gql.errors import BadUserInput
from gql.faqs.types import Faq
from gql.limits.analysis import repeated_by
from gql.issues.types import Issue
from gql.posts.types import Post
from gql.relay import Connection, connection, ordered, ordering_of, reversed_ordering
from models import search as models
from models.errors import RuleViolation

SearchType = strawberry.enum(models.SearchType, description="What `search` looks in.")
SearchResult = Annotated[Faq | Issue | Post, strawberry.union("SearchResult", description="Something `search` found.")]


class SearchSource:
    """Results of several kinds merged newest first (by date, then id, then kind).

    A page never reads more than it needs: the first page reads at most `stop` rows of each kind;
    a deeper one (its depth bounded by MAX_CURSOR_OFFSET) reads only the (date, id) keys of the
    rows before it, then the page's own rows; `last` without `before` reads at most `last` rows
    of each kind from the oldest end, plus one COUNT per kind for the cursors' offsets.
    """

    def __init__(self, sources: list[tuple[QuerySet[Any], str]]) -> None:
        self.sources = sources

    async def slice(self, start: int, stop: int) -> list[Any]:
        if start == 0:
            per_kind = [[(getattr(row, date), row.pk, kind, row) for row in await queryset.limit(stop)]
                        for kind, (queryset, date) in enumerate(self.sources)]
            return [row for *_, row in heapq.merge(*per_kind, key=_merge_key, reverse=True)][:stop]
        keys = [[(moment, pk, kind, None) for moment, pk in await queryset.limit(stop).values_list(date, "id")]
                for kind, (queryset, date) in enumerate(self.sources)]
        page = list(heapq.merge(*keys, key=_merge_key, reverse=True))[start:stop]
        rows: dict[tuple[int, int], Any] = {}
        for kind, (queryset, _) in enumerate(self.sources):
            ids = [pk for _, pk, of_kind, _ in page if of_kind == kind]
            if ids:
                rows.update(((kind, row.pk), row) for row in await queryset.filter(id__in=ids))
        return [rows[(kind, pk)] for _, pk, kind, _ in page if (kind, pk) in rows]

    async def tail(self, size: int) -> list[Any]:
        per_kind = [[(getattr(row, date), row.pk, kind, row)
                     for row in await ordered(queryset, reversed_ordering(ordering_of(queryset))).limit(size)]
                    for kind, (queryset, date) in enumerate(self.sources)]
        oldest = [row for *_, row in heapq.merge(*per_kind, key=_merge_key)][:size]
        return oldest[::-1]

    async def count(self) -> int:
        # One COUNT per kind searched (each kind once, however often `types` names it).
        return sum([await queryset.count() for queryset, _ in self.sources])


def _merge_key(item: tuple[Any, int, int, Any]) -> tuple[Any, int, int]:
    return item[0], item[1], item[2]


@strawberry.type
class SearchQueries:
    @connection("FAQs, ongoing issues and posts whose title or text contains `query` (plain text), newest first.",
                metadata=repeated_by("types", len(models.SearchType)))
    def search(self, info: Info, query: str, types: list[SearchType] | None = None) -> Connection[SearchResult]:
        try:
            text = models.clean_query(query)
        except RuleViolation as refusal:
            raise BadUserInput(str(refusal), argument="query") from None
        # Each kind is searched once, however many times `types` names it.
        kinds = list(dict.fromkeys(types or []))
        return SearchSource(models.matching(text, kinds, info.context.viewer))  # type: ignore[arg-type,return-value]
