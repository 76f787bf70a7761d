from __future__ import annotations

import asyncio
import heapq
import html
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry

from gql.core.context import Info
from gql.core.costs import repeated_by
from gql.core.documented import described_enum, embedded
from gql.core.errors import BadUserInput
from gql.core.relay import Connection, Edge, SortOrder, Window, connection, int_range, typed_key
from gql.core.selection import selects
from gql.faqs.types import Faq
from gql.issues.types import Issue
from gql.posts.types import Post
from models import lean
from models import search as models
from models.errors import RuleViolation

T = TypeVar("T")

SearchType = described_enum(models.SearchType, "What `search` looks in.", {
    "FAQ": "Help articles (a draft only for staff).",
    "ISSUE": "Known issues.",
    "POST": "Community posts (pending or hidden ones only for their author and staff).",
})
SearchOrder = described_enum(models.SearchOrder, "How `search` orders what it found.", {
    "RELEVANCE": "Best match first: title above text, and an FAQ (x2) or an issue (x1.5) above a post that "
                 "matches as well; ties newest first.",
    "NEWEST": "Most recently updated FAQs and issues and newest posts first, however well they match.",
})
SearchResult = Annotated[Faq | Issue | Post, strawberry.union("SearchResult", description="Something `search` found.")]

# Markers are the client's own text, put into every snippet: bounded like any argument.
MARKER_MAX = 32

# A cursor's id is compared with every searched table's id column: the narrowest of their ranges.
_ID_RANGE = range(max(int_range(kind.model._meta.pk).start for kind in models.KINDS.values()),
                  min(int_range(kind.model._meta.pk).stop for kind in models.KINDS.values()))


@strawberry.type(name="SearchResultEdge", description=embedded("One search result in its list, with why it matched."))
class SearchEdge(Edge[SearchResult]):
    cursor: str = strawberry.field(description="Where this result sits, for `after`/`before`.")
    node: SearchResult = strawberry.field(description="The FAQ, issue or post found.")
    _row: strawberry.Private[Any]

    @strawberry.field(description="How well it matches, higher is better (comparable within one search and one "
                                  "database only): the relevance score RELEVANCE orders by.")
    def rank(self) -> float:
        return self._row._score / models.SCORE_SCALE

    @strawberry.field(description="A passage of the text (the FAQ's answer, the issue's description, the post's "
                                  "body) with the matched words between `start` and `end`. HTML-safe: the text is "
                                  "HTML-escaped (`<` is `&lt;`), the markers are put in as given, so the default "
                                  "`<mark>` can be rendered as HTML; a client choosing other markers escapes them "
                                  "itself. When only the title matched, the text's beginning, unmarked.")
    def snippet(
        self,
        start: Annotated[str, strawberry.argument(description=f"Put before each matched word (at most {MARKER_MAX} characters).")] = "<mark>",
        end: Annotated[str, strawberry.argument(description=f"Put after each matched word (at most {MARKER_MAX} characters).")] = "</mark>",
    ) -> str:
        for name, marker in (("start", start), ("end", end)):
            if len(marker) > MARKER_MAX:
                raise BadUserInput(f"`{name}` takes at most {MARKER_MAX} characters", argument=name)
        return marked_snippet(self._row._snippet or "", start, end)


def marked_snippet(raw: str, start: str, end: str) -> str:
    """The database's snippet (its words marked with models.MARK_START/END) as escaped HTML with
    the client's markers: the stored text is data, even when it holds tags."""
    pieces = []
    for index, between_starts in enumerate(raw.split(models.MARK_START)):
        if index == 0:
            pieces.append(html.escape(between_starts))
            continue
        marked, _, rest = between_starts.partition(models.MARK_END)
        pieces += [start, html.escape(marked), end, html.escape(rest)]
    return "".join(pieces)


def _search_edges(root: strawberry.Parent[Any]) -> list[Edge[SearchResult]]:
    return [SearchEdge(cursor=root._keyset.cursor(row), node=row, _row=row) for row in root._items]


@strawberry.type(name="SearchResultConnection", description=embedded("A page of search results."))
class SearchConnection(Connection[SearchResult]):
    # Edges of the connection's type in Python; SearchEdges, with `rank` and `snippet`, in GraphQL.
    edges: list[Edge[SearchResult]] = strawberry.field(
        resolver=_search_edges, graphql_type=list[SearchEdge],
        description="The results of this page, each with its cursor, `rank` and `snippet`.")


class SearchSource:
    """Results of several kinds merged into one order, paged by keys like any connection: a page
    reads at most its size plus one rows of each kind past the cursor (one ranked statement per
    kind through the full-text index) and merges them. RELEVANCE orders by (score, date, id,
    kind), NEWEST by (date, id, kind), all descending; the kind's name breaks exact ties."""

    def __init__(self, search: models.Search, snippets: bool, total: bool) -> None:
        self.search = search
        self.snippets = snippets
        # Each kind's count, when `totalCount` is asked for: read with the page's rows.
        self.total = total
        self.totals: dict[models.SearchType, int] = {}
        relevance = search.order is models.SearchOrder.RELEVANCE
        keys = [typed_key("score", True, int)] if relevance else []
        keys += [typed_key("date", True, datetime), typed_key("id", True, int, allowed=_ID_RANGE),
                 typed_key("kind", True, str)]
        self.key: Callable[[Any], tuple[Any, ...]] = self._relevance_key if relevance else self._newest_key
        self.order = SortOrder(keys, nulls_largest=False, read=self.key)

    def sort_order(self) -> SortOrder:
        return self.order

    def model(self) -> None:
        return None

    @staticmethod
    def _relevance_key(row: Any) -> tuple[int, datetime, int, str]:
        return row._score, row._date, row.pk, row._kind

    @staticmethod
    def _newest_key(row: Any) -> tuple[datetime, int, str]:
        return row._date, row.pk, row._kind

    async def rows(self, window: Window) -> list[Any]:
        page = models.Page(self._position(window.after), self._position(window.before), window.limit, window.backward)
        found = []
        rows_by_kind = await each_kind(self.search.kinds, lambda kind: self.search.rows(kind, page, self.snippets, self.total))
        for kind, rows in zip(self.search.kinds, rows_by_kind, strict=True):
            for row in rows:
                # SQLite gives the date as stored (text): compared and encoded as a time.
                row._date, row._kind = lean.utc_datetime(row._date), kind.value
            if rows and self.total:
                self.totals[kind] = rows[0]._total
            elif self.total and page.after is None and page.before is None:
                self.totals[kind] = 0  # no cursor, no row: nothing matches
            found.append(rows)
        merged = list(heapq.merge(*found, key=self.key, reverse=not window.backward))[:window.limit]
        return merged[::-1] if window.backward else merged

    def _position(self, values: tuple[Any, ...] | None) -> models.Position | None:
        if values is None:
            return None
        if self.search.order is not models.SearchOrder.RELEVANCE:
            values = (None, *values)
        return models.Position(*values)

    async def count(self) -> int:
        # Counted with the page's rows; one COUNT for each kind that had none to count with
        # (a page past its last match, or `totalCount` alone).
        uncounted = [kind for kind in self.search.kinds if kind not in self.totals]
        return sum(self.totals.values()) + sum(await each_kind(uncounted, self.search.count))


async def each_kind(kinds: list[models.SearchType], statement: Callable[[models.SearchType], Awaitable[T]]) -> list[T]:
    """`statement(kind)` for each kind, run at once (PostgreSQL runs them side by side on the
    pool's connections; SQLite's one connection takes them in turn, while the next is written),
    in the order of `kinds`. The first failure is raised as it is, once the others are
    cancelled and over (none is left running after the request)."""
    tasks = [asyncio.ensure_future(statement(kind)) for kind in kinds]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@strawberry.type
class SearchQueries:
    @connection("FAQs, issues (resolved ones too: a fix is worth finding) and posts matching `query`: every word, "
                "in any order, English-stemmed (\"resetting\" finds \"reset\"), case and accents ignored, the last word also as a prefix, "
                "\"double quotes\" for an exact phrase; what is typed is text, never query syntax. Best match "
                "first unless `orderBy: NEWEST`. At most the newest "
                f"{models.MAX_MATCHES_PER_KIND} matches of each kind are read, ranked and counted (`totalCount`); a "
                f"query of only common words (each in more than {models.GIN_ROWS:,} rows, by the newest) may be looked for "
                f"among the newest {models.WIDE_PROBE_IDS:,} of each kind only.",
                metadata=repeated_by("types", len(models.SearchType)), graphql_type=SearchConnection)
    def search(
        self,
        info: Info,
        query: Annotated[str, strawberry.argument(
            description=f"What to look for (1 to {models.QUERY_MAX} characters, at most {models.WORDS_MAX} different words).")],
        types: Annotated[list[models.SearchType] | None, strawberry.argument(
            description="The kinds to look in (all three when absent); each is one search.")] = None,
        order_by: Annotated[models.SearchOrder, strawberry.argument(
            description="The order of results (best match first by default).")] = models.SearchOrder.RELEVANCE,
    ) -> SearchSource:
        try:
            search = models.Search(models.clean_query(query), list(types or []), info.context.viewer,
                                   models.SearchOrder(order_by))
        except RuleViolation as refusal:
            raise BadUserInput(str(refusal), argument="query") from None
        return SearchSource(search, snippets=selects(info, "snippet"), total=selects(info, "totalCount"))
