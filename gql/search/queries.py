from __future__ import annotations

import heapq
from typing import Annotated, Any

import strawberry
from tortoise.queryset import QuerySet

from gql.context import Info
from gql.errors import BadUserInput
from gql.faqs.types import Faq
from gql.issues.types import Issue
from gql.posts.types import Post
from gql.relay import Connection, connection
from models import search as models
from models.errors import RuleViolation

SearchType = strawberry.enum(models.SearchType, description="What `search` looks in.")
SearchResult = Annotated[Faq | Issue | Post, strawberry.union("SearchResult", description="Something `search` found.")]


class SearchSource:
    """Results of several kinds merged newest first; a page reads at most `stop` rows of each kind."""

    def __init__(self, sources: list[tuple[QuerySet[Any], str]]) -> None:
        self.sources = sources

    async def slice(self, start: int, stop: int) -> list[Any]:
        per_kind = [(list(await queryset.limit(stop)), date) for queryset, date in self.sources]
        merged = heapq.merge(*([(getattr(row, date), row.pk, row) for row in rows] for rows, date in per_kind),
                             key=lambda item: (item[0], item[1]), reverse=True)
        return [row for _, _, row in merged][start:stop]

    async def count(self) -> int:
        return sum([await queryset.count() for queryset, _ in self.sources])


@strawberry.type
class SearchQueries:
    @connection("FAQs, ongoing issues and posts whose title or text contains `query` (plain text), newest first.")
    def search(self, info: Info, query: str, types: list[SearchType] | None = None) -> Connection[SearchResult]:
        try:
            text = models.clean_query(query)
        except RuleViolation as refusal:
            raise BadUserInput(str(refusal), argument="query") from None
        return SearchSource(models.matching(text, types or [], info.context.viewer))  # type: ignore[arg-type,return-value]
