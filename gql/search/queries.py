from __future__ import annotations

import heapq
from datetime import datetime
from typing import Annotated, Any

import strawberry
from tortoise.queryset import QuerySet

from gql.context import Info
from gql.errors import BadUserInput
from gql.faqs.types import Faq
from gql.limits.analysis import repeated_by
from gql.issues.types import Issue
from gql.posts.types import Post
from gql.relay import Connection, SortOrder, Window, connection, typed_key
from models import lean
from models import search as models
from models.errors import RuleViolation

SearchType = strawberry.enum(models.SearchType, description="What `search` looks in.")
SearchResult = Annotated[Faq | Issue | Post, strawberry.union("SearchResult", description="Something `search` found.")]


class SearchSource:
    """Results of several kinds merged newest first (by date, then id, then kind name), paged by
    keys like any connection: a page reads at most its size plus one rows of each kind, past the
    cursor's (date, id, kind) in that kind's own (date, id) order, and merges them."""

    def __init__(self, sources: list[tuple[QuerySet[Any], str]]) -> None:
        self.kinds = [(queryset, date, queryset.model.__name__, SortOrder.of(queryset)) for queryset, date in sources]
        self.date_of = {queryset.model: date for queryset, date in sources}
        self.order = SortOrder([typed_key("date", True, datetime), typed_key("id", True, int),
                                typed_key("kind", True, str)], nulls_largest=False, read=self._key)

    def sort_order(self) -> SortOrder:
        return self.order

    def model(self) -> None:
        return None

    def _key(self, row: Any) -> tuple[Any, int, str]:
        return getattr(row, self.date_of[type(row)]), row.pk, type(row).__name__

    async def rows(self, window: Window) -> list[Any]:
        found = []
        for queryset, _, name, order in self.kinds:
            bounds = []
            # Within one (date, id), kinds follow their names, newest-first order descending too.
            if window.after is not None:
                bounds.append(order.beyond(window.after[:2], True, inclusive=name < window.after[2]))
            if window.before is not None:
                bounds.append(order.beyond(window.before[:2], False, inclusive=name > window.before[2]))
            selected = order.prepared(queryset, window.backward).filter(*bounds).limit(window.limit)
            found.append([(*self._key(row), row) for row in await lean.fetch(selected)])
        merged = [row for *_, row in heapq.merge(*found, key=_merge_key, reverse=not window.backward)][:window.limit]
        return merged[::-1] if window.backward else merged

    async def count(self) -> int:
        # One COUNT per kind searched (each kind once, however often `types` names it).
        return sum([await queryset.count() for queryset, *_ in self.kinds])


def _merge_key(item: tuple[Any, int, str, Any]) -> tuple[Any, int, str]:
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
