"""Full-text search across FAQs, ongoing issues and posts, through the indexes migration 0007 made.

What matches: every word of the query, in any order, English-stemmed ("resetting" finds
"reset"), case- and accent-insensitive; the last word also as a prefix (search as you type);
words in double quotes as an exact phrase. The query is parsed here into plain words, and the
database's query language is written from them alone: whatever a user types (`AND`, `NEAR`, `*`,
`:`, `-`, `(`, quotes), it is text, never syntax, so no query reaches the database as an error.
A query without a word either database indexes (punctuation, emoji) finds nothing.

Ranking: PostgreSQL `ts_rank` (title weight 1.0, body 0.4, divided by 1 + log(length)),
SQLite `bm25` (title 10, body 1: sign flipped, higher is better), times the kind's weight
(`KIND_WEIGHTS`: an FAQ or an issue ranks above a post that matches as well). The score is
rounded to an integer of millionths in SQL (`SCORE_SCALE`): the value ordered by, compared by
cursors and shown as `rank`, so paging compares exactly what the database computed.

Bounded: at most the newest MAX_MATCHES_PER_KIND matches of a kind are read, ranked and counted.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Callable

from pypika_tortoise.terms import EmptyCriterion, Parameterizer, ValueWrapper
from tortoise import query_utils
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models import lean
from models.accounts import User
from models.errors import violation
from models.faqs import Faq
from models.issues import Issue
from models.posts import Post

QUERY_MAX = 200
# The most matches of one kind a search ranks and counts: the newest ones (highest ids). Ranking
# reads every match it is given, so without a bound a query of common words costs in proportion
# to the table. SQLite's FTS5 stops reading at the bound; PostgreSQL does when its planner, which
# sees the tsquery (`_tsquery_seen_by_the_planner`), reads the id index backwards (README, Search).
MAX_MATCHES_PER_KIND = 500
# Ranks are held as integers of millionths: what SQL orders by and cursors compare, exactly.
SCORE_SCALE = 1_000_000


class SearchType(str, Enum):
    FAQ = "FAQ"
    ISSUE = "ISSUE"
    POST = "POST"


class SearchOrder(str, Enum):
    RELEVANCE = "RELEVANCE"
    NEWEST = "NEWEST"


# What a help seeker wants first when it matches as well as a post: an answer, or a known issue.
KIND_WEIGHTS: dict[SearchType, float] = {SearchType.FAQ: 2.0, SearchType.ISSUE: 1.5, SearchType.POST: 1.0}


@dataclass(frozen=True)
class Kind:
    """One searched table: its model (whose `visible_to` says which rows a viewer finds), the text
    column snippets come from (migration 0007 indexes it with the title), and the date that
    orders it newest first."""

    model: type[Faq] | type[Issue] | type[Post]
    body: str
    date: str


KINDS: dict[SearchType, Kind] = {
    SearchType.FAQ: Kind(Faq, "body", "updated_at"),
    SearchType.ISSUE: Kind(Issue, "description", "updated_at"),
    SearchType.POST: Kind(Post, "body", "created_at"),
}

# A word as both databases' tokenizers see one: letters and digits (any script), nothing else.
_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"')
# Mark a snippet's matched words in the database's answer, to be replaced by the client's markers
# once the text is escaped: random per process, so no stored text can hold them (letters and
# digits only, which `ts_headline`'s option parser takes as they are).
_NONCE = secrets.token_hex(12)
MARK_START, MARK_END = f"s{_NONCE}s", f"e{_NONCE}e"


def clean_query(text: str) -> str:
    text = text.strip()
    if not text:
        raise violation("Say what to search for", "BLANK", "query")
    if len(text) > QUERY_MAX:
        raise violation(f"Search text takes at most {QUERY_MAX} characters", "TOO_LONG", "query")
    return text


@dataclass(frozen=True)
class Terms:
    """A query as what must match: each item a phrase (one word, or several in this order); the
    last one also matches as a prefix when `prefix` (a bare word typed last)."""

    phrases: tuple[tuple[str, ...], ...]
    prefix: bool

    def postgres(self) -> tuple[str, str | None, str | None]:
        """`to_tsquery` texts: the words that must match (`'word' & 'two' <-> 'words'`), and the
        last word typed as a prefix twice: stemmed and stop-worded like the rest (`'passwords':*`
        is `'password':*`), and as typed, accents folded, for the `simple` configuration (so that
        `t` or `s`, stop words in English, still start a search as you type). Words are letters
        and digits only, each quoted: nothing in them is an operator."""
        parts = [" <-> ".join(f"'{word}'" for word in phrase) for phrase in self.phrases]
        if not self.prefix:
            return " & ".join(f"({part})" for part in parts), None, None
        last = self.phrases[-1][0]
        folded = "".join(c for c in unicodedata.normalize("NFKD", last) if not unicodedata.combining(c))
        return " & ".join(f"({part})" for part in parts[:-1]), f"'{last}':*", f"'{folded}':*"

    def fts5(self) -> str:
        """An FTS5 query: each phrase one string (`"two words"`), implicitly ANDed; the last
        `"word"*` when a prefix. Words hold no `"`, so a string cannot be closed early."""
        parts = ['"' + " ".join(phrase) + '"' for phrase in self.phrases]
        if self.prefix:
            parts[-1] += "*"
        return " ".join(parts)


def parse_query(text: str) -> Terms | None:
    """The words and phrases of `text`; None when it holds no word (nothing can match). An
    unclosed quote quotes to the end, as a user who is still typing means."""
    if text.count('"') % 2:
        text += '"'
    phrases: list[tuple[str, ...]] = []
    prefix = False
    position = 0
    for quoted in [*_PHRASE.finditer(text), None]:
        loose = text[position:quoted.start() if quoted else len(text)]
        words = _WORD.findall(loose)
        phrases += [(word,) for word in words]
        prefix = bool(words) and quoted is None and not loose[-1:].isspace()
        if quoted is not None:
            phrase = tuple(_WORD.findall(quoted.group(1)))
            if phrase:
                phrases.append(phrase)
            position = quoted.end()
    if not phrases:
        return None
    return Terms(tuple(phrases), prefix)


@dataclass(frozen=True)
class Position:
    """Where a page starts or ends in the order: (score, date, id) and the kind's name, which
    breaks ties between kinds; score is None in NEWEST order."""

    score: int | None
    date: datetime
    id: int
    kind: str


@dataclass(frozen=True)
class Page:
    after: Position | None
    before: Position | None
    limit: int
    backward: bool


class _Sql:
    """Statement text and its parameters, numbered for the dialect as they are added."""

    def __init__(self, model: type[Model]) -> None:
        self.db = model._meta.db
        self.postgres = self.db.capabilities.dialect == "postgres"
        query = model.all()
        query._choose_db_if_not_chosen()
        query._make_query()
        self.context = query.query.QUERY_CLS.SQL_CONTEXT.copy(parameterizer=Parameterizer(), with_namespace=True)

    def value(self, value: Any) -> str:
        return str(ValueWrapper(value).get_sql(self.context))

    def condition(self, queryset: QuerySet[Any]) -> str:
        """The WHERE of `queryset` (a model's `visible_to`), as Tortoise writes it: the same rule
        as every other list of that model applies, not a copy of it."""
        query = queryset._clone()
        query._choose_db_if_not_chosen()
        query._make_query()
        wheres = query.query._wheres
        if wheres is None or isinstance(wheres, (EmptyCriterion, query_utils.EmptyCriterion)):
            return "1 = 1"
        return f"({wheres.get_sql(self.context)})"

    @property
    def values(self) -> list[Any]:
        return list(self.context.parameterizer.values)  # type: ignore[union-attr]


class Search:
    """One search: the parsed query, the kinds asked for, who is looking, and the order."""

    def __init__(self, text: str, types: list[SearchType], viewer: User | None, order: SearchOrder) -> None:
        self.terms = parse_query(text)
        self.kinds = list(dict.fromkeys(types or list(SearchType)))  # each kind once, in the order asked
        self.viewer = viewer
        self.order = order

    def _tsquery(self, sql: _Sql) -> str:
        """The PostgreSQL tsquery of these terms (see Terms.postgres), as a one-row CTE `"query"`:
        computed once per statement, for ranking and snippets. (Written inline with parameters,
        asyncpg's prepared statements get a generic plan after five runs, which evaluates it again
        for every row matched: four times slower.)"""
        return f'"query" AS MATERIALIZED (SELECT {self._tsquery_of(sql.value)} AS "q"), '

    def _tsquery_seen_by_the_planner(self) -> str:
        """The same tsquery written with literals, for the WHERE: the planner folds it while
        planning and estimates from the index's statistics how many rows match, so a word most
        rows hold is read newest first from the id index and stops at MAX_MATCHES_PER_KIND, where
        the CTE's value, unseen, made it read every match through the GIN bitmap (0.9 ms against
        2.8 s for a word in 88% of 300,000 posts). Safe as a literal: its words are letters and
        digits only (`_WORD`), and quotes are doubled anyway; the text differs per query, so no
        generic plan is ever reused for another."""
        return self._tsquery_of(lambda text: "'" + text.replace("'", "''") + "'")

    def _tsquery_of(self, value: Callable[[str], str]) -> str:
        words, last, simple = self.terms.postgres()  # type: ignore[union-attr]
        query = f"to_tsquery('search_english', {value(words)})"
        if last is not None:
            stemmed = f"to_tsquery('search_english', {value(last)})"
            # A whole English stop word typed last after other words ("quokka and") is not
            # indexed: it asks for nothing more. Alone, or not a stop word, it is a prefix.
            query = (f"CASE WHEN numnode({stemmed}) = 0 AND numnode({query}) > 0 THEN {query} "
                     f"ELSE {query} && ({stemmed} || to_tsquery('simple', {value(simple)})) END")
        return query

    def _hits(self, kind: SearchType, sql: _Sql, with_score: bool) -> tuple[str, str, str]:
        """The CTEs the matching needs (ending with a comma, or none), FROM, WHERE and LIMIT of
        the kind's matching, visible rows (the newest MAX_MATCHES_PER_KIND), and the score's expression."""
        spec = KINDS[kind]
        table = spec.model._meta.db_table
        weight = KIND_WEIGHTS[kind]
        if sql.postgres:
            ctes = self._tsquery(sql)
            score = (f"CAST(ts_rank('{{0.1, 0.2, 0.4, 1.0}}', \"{table}\".\"search_vector\", \"query\".\"q\", 1)"
                     f" * {weight * SCORE_SCALE} AS BIGINT)")
            where = f"\"{table}\".\"search_vector\" @@ ({self._tsquery_seen_by_the_planner()})"
            source = f'"{table}" CROSS JOIN "query"'
        else:
            ctes = ""
            score = f'CAST(-bm25("{table}_search", 10.0, 1.0) * {weight * SCORE_SCALE} AS INTEGER)'
            where = f'"{table}_search" MATCH {sql.value(self.terms.fts5())}'  # type: ignore[union-attr]
            source = f'"{table}_search" JOIN "{table}" ON "{table}"."id" = "{table}_search"."rowid"'
        visible = sql.condition(spec.model.visible_to(self.viewer))
        # The newest MAX_MATCHES_PER_KIND matches: FTS5 walks its rowids backwards and stops there;
        # PostgreSQL reads the id index backwards for common words (stopping there too), the GIN
        # bitmap for rare ones (then keeps the newest), as its statistics estimate.
        newest = f'"{table}_search"."rowid"' if not sql.postgres else f'"{table}"."id"'
        bounded = f"ORDER BY {newest} DESC LIMIT {MAX_MATCHES_PER_KIND}"
        return ctes, f"FROM {source} WHERE {where} AND {visible} {bounded}", score if with_score else "0"

    async def rows(self, kind: SearchType, page: Page, snippets: bool, total: bool = False) -> list[Any]:
        """Up to `page.limit` visible matches of one kind past the page's positions, in the
        order (reversed when backward), each with `_score`, `_date`, `_snippet` (None unless
        `snippets`) and, when `total`, `_total`: how many visible rows of the kind match, past the
        cursors or not, up to MAX_MATCHES_PER_KIND (the ranking reads every match it is given:
        counting them there saves a COUNT that would read them again). One statement."""
        if self.terms is None:
            return []
        model = KINDS[kind].model
        statement, values = self.statement(kind, page, snippets, total)
        return await lean.fetch_sql(model.all(), statement, values)

    def statement(self, kind: SearchType, page: Page, snippets: bool, total: bool = False) -> tuple[str, list[Any]]:
        """The SELECT `rows` runs, and its parameters (a query with words only)."""
        spec = KINDS[kind]
        model = spec.model
        table = model._meta.db_table
        sql = _Sql(model)
        # Parameters are made in the order of the text (SQLite's are positional): the matches,
        # the snippet, then the cursors' bounds.
        ctes, hits, score = self._hits(kind, sql, with_score=True)
        # Every match's key only (narrow: the ranking reads them all); the page's rows are read
        # whole once chosen, with their snippets.
        matches = f'SELECT "{table}"."id" AS "id", {score} AS "_score", "{table}"."{spec.date}" AS "_date" {hits}'
        snippet = self._snippet(kind, sql) if snippets else "NULL"
        relevance = self.order is SearchOrder.RELEVANCE
        keys = (['"_score"'] if relevance else []) + ['"_date"', '"id"']
        bounds = []
        for position, forward in ((page.after, True), (page.before, False)):
            if position is None:
                continue
            # Every key descends, so "after" is smaller: one row-value comparison. Rows equal on
            # every key come after the cursor's when their kind's name is smaller.
            values = ([position.score] if relevance else []) + [position.date, position.id]
            tie = (kind.value < position.kind) if forward else (kind.value > position.kind)
            comparison = ("<" if forward else ">") + ("=" if tie else "")
            bounds.append(f"({', '.join(keys)}) {comparison} ({', '.join(sql.value(value) for value in values)})")
        direction = "ASC" if page.backward else "DESC"
        inner_order = ", ".join(f"{key} {direction}" for key in keys)
        outer_order = ", ".join(f'"page".{key} {direction}' for key in keys)
        where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
        # Counted before the cursors' bounds apply: every match. The matches are materialized:
        # SQLite's bm25() works only where the full-text table is scanned, not under a window.
        counted = 'SELECT *, COUNT(*) OVER () AS "_total" FROM "matches"' if total else 'SELECT * FROM "matches"'
        columns = ", ".join(f'"{table}"."{column}"' for column in model._meta.fields_db_projection.values())
        keys_read = '"page"."_score", "page"."_date"' + (', "page"."_total"' if total else "")
        statement = (f'WITH {ctes}"matches" AS MATERIALIZED ({matches}) '
                     f'SELECT {columns}, {keys_read}, {snippet} AS "_snippet" '
                     f'FROM (SELECT * FROM ({counted}) AS "counted"{where} ORDER BY {inner_order} '
                     f'LIMIT {int(page.limit)}) AS "page" JOIN "{table}" ON "{table}"."id" = "page"."id" '
                     f'ORDER BY {outer_order}')
        return statement, sql.values

    def _snippet(self, kind: SearchType, sql: _Sql) -> str:
        """The snippet of one row of the page (`"page"`), computed for the page's rows only."""
        spec = KINDS[kind]
        table = spec.model._meta.db_table
        if sql.postgres:
            options = (f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
                       "MaxFragments=2, FragmentDelimiter=\" … \"")
            query = '(SELECT "q" FROM "query")'
            return f"ts_headline('search_english', \"{table}\".\"{spec.body}\", {query}, {sql.value(options)})"
        index = f"{table}_search"
        return (f'(SELECT snippet("{index}", 1, {sql.value(MARK_START)}, {sql.value(MARK_END)}, {sql.value(" … ")}, 24) '
                f'FROM "{index}" WHERE "{index}" MATCH {sql.value(self.terms.fts5())} '  # type: ignore[union-attr]
                f'AND "{index}"."rowid" = "page"."id")')

    async def count(self, kind: SearchType) -> int:
        """How many visible rows of one kind match, up to MAX_MATCHES_PER_KIND (one COUNT)."""
        if self.terms is None:
            return 0
        sql = _Sql(KINDS[kind].model)
        ctes, hits, _ = self._hits(kind, sql, with_score=False)
        with_ctes = f"WITH {ctes.rstrip(', ')} " if ctes else ""
        _, records = await sql.db.execute_query(f'{with_ctes}SELECT COUNT(*) FROM (SELECT 1 {hits}) AS "matches"',
                                                sql.values)
        return int(records[0][0])
