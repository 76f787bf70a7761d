"""Full-text search across FAQs, ongoing issues and posts, through the indexes migration 0007 made.

What matches: every word of the query, in any order, English-stemmed ("resetting" finds
"reset"), case- and accent-insensitive; the last word also as a prefix (search as you type);
words in double quotes as an exact phrase. The query is parsed here into plain words, and the
database's query language is written from them alone: whatever a user types (`AND`, `NEAR`, `*`,
`:`, `-`, `(`, quotes), it is text, never syntax, so no query reaches the database as an error.
A query without a word either database indexes (punctuation, emoji) finds nothing.

Ranking: PostgreSQL `ts_rank` (title weight 1.0, body 0.4, divided by 1 + log(length)),
SQLite a similar one from the row alone (1, or 11 when the title alone holds the whole query,
divided by 1 + length / 1,000 characters: `_matches`), times the kind's weight
(`KIND_WEIGHTS`: an FAQ or an issue ranks above a post that matches as well). The score is
rounded to an integer of millionths in SQL (`SCORE_SCALE`): the value ordered by, compared by
cursors and shown as `rank`, so paging compares exactly what the database computed.

Bounded: at most the newest MAX_MATCHES_PER_KIND matches of a kind are read, ranked and counted.
SQLite's FTS5 walks its rowids newest first and stops there (a prefix through the prefix indexes of
migration 0010). PostgreSQL chooses between its plans in SQL, not by the planner's estimate (see
`_postgres_hits`); they give the same rows. A phrase's positions are checked row by row, so a
phrase whose words many rows hold is looked for among the newest 10,000 ids only
(`_sqlite_phrase_found`, `_postgres_hits`).
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pypika_tortoise.terms import EmptyCriterion, Parameterizer, ValueWrapper
from tortoise import query_utils
from tortoise.models import Model

from models import lean
from models.accounts import User
from models.errors import violation
from models.faqs import Faq
from models.issues import Issue
from models.posts import Post

QUERY_MAX = 200
# Different words in a query (a phrase's each count): every word is checked on every row the
# search reads, ranked and marked in snippets, so their number bounds the work per row
# (`ts_headline` alone took 320 ms for 21 rows with 50).
WORDS_MAX = 16
# The most matches of one kind a search ranks and counts: the newest ones (highest ids). Ranking
# reads every match it is given, so without a bound a query of common words costs in proportion
# to the table (README, Search).
MAX_MATCHES_PER_KIND = 500
# PostgreSQL first counts the matches among the newest PROBE_SAMPLE visible rows (`_postgres_hits`);
# when at least one in PROBED_ROWS_PER_MATCH of them matches, it looks for the newest matches in
# the newest PROBED_ROWS_PER_MATCH x MAX_MATCHES_PER_KIND rows (the id index backwards), else (or
# when too few are there) as GIN_ROWS below says. A small window: asyncpg's prepared statements get
# a generic plan after five runs, which guesses a third of the rows visible (the status is a
# parameter) and, for a window near that many, sorts the whole table instead (20x: 55 ms at 30,000
# posts).
PROBE_SAMPLE = 100
PROBED_ROWS_PER_MATCH = 4
# A query whose every word more than GIN_ROWS rows hold (estimated from the newest PROBE_SAMPLE)
# is looked for among the newest WIDE_PROBE_IDS ids only: on PostgreSQL when the probe did not
# answer it, on SQLite when it holds a phrase. Else the full-text index is asked, everywhere.
# Through PostgreSQL's GIN index such words cost their every row (92 ms for 3 at 300,000 posts),
# and a phrase's positions are checked row by row (`_postgres_hits`, `_sqlite_phrase_found`).
GIN_ROWS = 10_000
WIDE_PROBE_IDS = 10_000
# The prefix typed last is left out of the GIN index's condition (checked row by row instead) when
# the sampled rows hold it this many times more often than the other words.
COMMON_PREFIX_RATIO = 4
# SQLite's relevance (`_matches`): what a title holding the whole query adds to a match's 1, and
# the length (title and text, in characters) that halves it.
TITLE_WEIGHT = 10
LENGTH_DAMPING = 1000
# Above every rowid: a title walk bounded by it reads nothing.
NO_ROWID = 2**63 - 1
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

    @property
    def index(self) -> str:
        """Its SQLite FTS5 table (migrations 0007, 0010)."""
        return f"{self.model._meta.db_table}_search"


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

    @property
    def phrased(self) -> bool:
        """Holds a phrase of two words or more: their positions must be checked."""
        return any(len(phrase) > 1 for phrase in self.phrases)

    @property
    def words(self) -> int:
        return sum(len(phrase) for phrase in self.phrases)

    def loose(self) -> Terms:
        """Each word once, positions aside: what a row must hold for its phrases to be checked."""
        return _distinct([(word,) for phrase in self.phrases for word in phrase], self.prefix)

    def postgres(self) -> tuple[str, str | None, str | None]:
        """`to_tsquery` texts: the words that must match (`'word' & 'two' <-> 'words'`), and the
        last word typed as a prefix twice: stemmed and stop-worded like the rest (`'passwords':*`
        is `'password':*`), and as typed, accents folded, for the `simple` configuration (so that
        `t` or `s`, stop words in English, still start a search as you type). Words are letters
        and digits only, each quoted: nothing in them is an operator."""
        parts = [" <-> ".join(_lexeme(word) for word in phrase) for phrase in self.phrases]
        if not self.prefix:
            return " & ".join(f"({part})" for part in parts), None, None
        last = self.phrases[-1][0]
        return " & ".join(f"({part})" for part in parts[:-1]), f"{_lexeme(last)}:*", f"{_lexeme(_unaccented(last))}:*"

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
    return _distinct(phrases, prefix)


def _distinct(phrases: list[tuple[str, ...]], prefix: bool) -> Terms:
    """Each word or phrase once, as both databases fold it (case and accents): a query repeating
    a word checked and ranked it again for every repetition (`song` 50 times, or `câr ĉår ĉàř…`:
    45-360 ms a kind at 300,000 posts). The last item stays last (it may be the prefix); typed
    again after the whole word, it asks for nothing more and is dropped (the whole word, not a
    prefix of it: `play play` does not find "playlist")."""
    *earlier, last = phrases
    kept: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for phrase in earlier:
        if _folded(phrase) not in seen:
            seen.add(_folded(phrase))
            kept.append(phrase)
    if _folded(last) in seen:
        return Terms(tuple(kept), False)
    return Terms((*kept, last), prefix)


def _lexeme(word: str) -> str:
    """A word in a `to_tsquery` text: quoted (letters and digits only: `_WORD`)."""
    return f"'{word}'"


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _folded(phrase: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_unaccented(word).casefold() for word in phrase)


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
    """Statement text and its parameters, numbered for the dialect as they are added, for a
    statement on one searched table read by one viewer."""

    def __init__(self, model: type[Faq] | type[Issue] | type[Post], viewer: User | None) -> None:
        self.model = model
        self.viewer = viewer
        self.db = model._meta.db
        self.postgres = self.db.capabilities.dialect == "postgres"
        self.parameters = Parameterizer()
        self.context = _sql_context(model).copy(parameterizer=self.parameters, with_namespace=True)
        self._visible: str | None = None

    def value(self, value: Any) -> str:
        return str(ValueWrapper(value).get_sql(self.context))

    def visible(self) -> str:
        """The WHERE of `model.visible_to(viewer)`, as Tortoise writes it: the same rule as every
        other list of the model applies, not a copy of it. PostgreSQL's statement repeats it in
        several branches: written once there, its numbered parameters read the same values at
        every repetition (each writing costs 0.1-0.2 ms of Tortoise's query building). SQLite's
        parameters are positional: written at each use."""
        if self._visible is not None:
            return self._visible
        query = self.model.visible_to(self.viewer)
        query._choose_db_if_not_chosen()
        query._make_query()
        wheres = query.query._wheres
        if wheres is None or isinstance(wheres, (EmptyCriterion, query_utils.EmptyCriterion)):
            condition = "1 = 1"
        else:
            condition = f"({wheres.get_sql(self.context)})"
        if self.postgres:
            self._visible = condition
        return condition

    @property
    def values(self) -> list[Any]:
        return list(self.parameters.values)


@functools.cache
def _sql_context(model: type[Model]) -> Any:
    """The SQL context Tortoise writes `model`'s queries with (its dialect's quoting), once per
    model: made by building a query, which costs more than the rest of a statement's text."""
    query = model.all()
    query._choose_db_if_not_chosen()
    query._make_query()
    return query.query.QUERY_CLS.SQL_CONTEXT


def _literal(text: str) -> str:
    """A SQL string literal of a tsquery text (Terms.postgres: letters, digits and our own quotes)."""
    return "'" + text.replace("'", "''") + "'"


class Search:
    """One search: the parsed query (at most WORDS_MAX different words), the kinds asked for, who
    is looking, and the order."""

    def __init__(self, text: str, types: list[SearchType], viewer: User | None, order: SearchOrder) -> None:
        self.terms = parse_query(text)
        if self.terms is not None and self.terms.words > WORDS_MAX:
            raise violation(f"Search for at most {WORDS_MAX} different words", "TOO_MANY", "query")
        self.kinds = list(dict.fromkeys(types or list(SearchType)))  # each kind once, in the order asked
        self.viewer = viewer
        self.order = order

    @staticmethod
    def _tsquery(terms: Terms, value: Callable[[str], str]) -> str:
        """The PostgreSQL tsquery of `terms` (see Terms.postgres), its texts written by `value`:
        parameters where it is computed once per statement, for ranking and snippets (the one-row
        CTE `"query"`: written inline with parameters, asyncpg's prepared statements get a generic
        plan after five runs, which evaluates it again for every row matched, four times slower);
        literals (`_literal`) in the WHERE, where the planner folds it while planning, so it
        estimates the matches from the index's statistics and the GIN index can use it. Safe as a
        literal: its words are letters and digits only (`_WORD`), and quotes are doubled anyway;
        the text differs per query, so no generic plan is ever reused for another."""
        words, last, simple = terms.postgres()
        query = f"to_tsquery('search_english', {value(words)})"
        if last is not None and simple is not None:
            # A whole English stop word typed last after other words ("quokka and") is not
            # indexed: it asks for nothing more. Alone, or not a stop word, it is a prefix.
            query = (f"CASE WHEN numnode({_prefix_tsquery(last, None, value)}) = 0 AND numnode({query}) > 0 THEN {query} "
                     f"ELSE {query} && {_prefix_tsquery(last, simple, value)} END")
        return query

    def _matches(self, terms: Terms, kind: SearchType, sql: _Sql, with_score: bool) -> str:
        """The CTEs (each followed by a comma) ending with `"matches"`: the id, `_score` (0 unless
        `with_score`) and `_date` of the kind's newest MAX_MATCHES_PER_KIND visible matches.

        SQLite's score is read from the row alone, like PostgreSQL's `ts_rank(..., 1)`: 1 for the
        match, TITLE_WEIGHT more when the title alone holds the whole query, divided by 1 + the
        row's length / LENGTH_DAMPING characters (a mention in a long text counts less). Measured
        and given up (bench/RESULTS.md, "Search"): FTS5's `bm25()`, whose rarity term counts every
        row of the table holding each word or phrase, whatever the bound (14 ms for a common word
        at 300,000 posts: broad searches grew with the table); and counting the matched words with
        `highlight()`, which tokenizes every ranked text (10 us a row, 5 ms for 500 matches)."""
        if sql.postgres:
            return self._postgres_matches(terms, kind, sql, with_score)
        spec = KINDS[kind]
        table = spec.model._meta.db_table
        index = spec.index
        length = f'length("{table}"."title") + coalesce(length("{table}"."{spec.body}"), 0)' if with_score else "0"
        columns = f'"{table}"."id" AS "id", "{table}"."{spec.date}" AS "_date", {length} AS "_length"'
        if terms.phrased:
            found = self._sqlite_phrase_found(terms, kind, sql, columns)
        else:
            # FTS5 walks its rowids backwards and stops at the bound (a prefix too, through the
            # prefix indexes of migration 0010). Parameters in the order of the text (positional).
            match = sql.value(terms.fts5())
            found = (f'"found" AS MATERIALIZED (SELECT {columns} FROM "{index}" JOIN "{table}" ON "{table}"."id" = '
                     f'"{index}"."rowid" WHERE "{index}" MATCH {match} AND {sql.visible()} '
                     f'ORDER BY "{index}"."rowid" DESC LIMIT {MAX_MATCHES_PER_KIND}), ')
        if not with_score:
            return found + '"matches" AS (SELECT "id", 0 AS "_score", "_date" FROM "found"), '
        # The rows found whose title alone holds the query: the same words walked again, in the
        # title column only, over the found rows' rowids (no further back than the oldest; none
        # when nothing was found: FTS5 reads a NULL bound as no bound at all).
        titled = (f'"titled" AS MATERIALIZED (SELECT "rowid" AS "id" FROM "{index}" WHERE "{index}" MATCH '
                  f'{sql.value(f"{{title}} : ({terms.fts5()})")} AND "rowid" >= (SELECT coalesce(MIN("id"), {NO_ROWID}) FROM "found")), ')
        relevance = (f'(1 + {TITLE_WEIGHT} * ("id" IN (SELECT "id" FROM "titled"))) / '
                     f'(1.0 + "_length" / {LENGTH_DAMPING}.0)')
        return (f"{found}{titled}"
                f'"matches" AS MATERIALIZED (SELECT "id", CAST({relevance} * {KIND_WEIGHTS[kind] * SCORE_SCALE} AS INTEGER) '
                f'AS "_score", "_date" FROM "found"), ')

    @staticmethod
    def _sqlite_phrase_found(terms: Terms, kind: SearchType, sql: _Sql, columns: str) -> str:
        """`"found"` (see `_matches`) for a query holding a phrase, its position checks bounded.

        FTS5 checks a phrase on each row holding all its words until one matches, and compares
        a rowid bound only with rows that match: walked newest first, a phrase of common words
        found in few rows read the table down to its next match (`"podcast podcast podcast"`,
        in no post: 60 ms at 300,000 posts; 245 ms for three such phrases). Walked oldest first
        from a lower bound, FTS5 stops at the newest row. The bound: the newest WIDE_PROBE_IDS
        ids when every word of the query is held by more than GIN_ROWS rows (estimated from the
        newest PROBE_SAMPLE ids, as on PostgreSQL: `_postgres_hits`), else none."""
        spec = KINDS[kind]
        table, index = spec.model._meta.db_table, spec.index
        # SQLite's parameters are positional: made in the order of the text.
        match = sql.value(terms.fts5())
        newest = f'(SELECT MAX("id") FROM "{table}")'
        words = terms.loose()
        counted = [f'(SELECT COUNT(*) FROM "{index}" WHERE "{index}" MATCH '
                   f'{sql.value(Terms((word,), words.prefix and word is words.phrases[-1]).fts5())} '
                   f'AND "rowid" > {newest} - {PROBE_SAMPLE})' for word in words.phrases]
        rarest = f"min({', '.join(counted)})" if len(counted) > 1 else counted[0]
        lowest = f'(CASE WHEN {rarest} * {newest} > {GIN_ROWS} * {PROBE_SAMPLE} THEN {newest} - {WIDE_PROBE_IDS} ELSE 0 END)'
        # Materialized without an ORDER BY: FTS5 walks oldest first, from the bound. Then the
        # newest visible of what it found, through the rowid index (its IN list read backwards).
        return (f'"hit" AS MATERIALIZED (SELECT "rowid" AS "id" FROM "{index}" WHERE "{index}" MATCH {match} '
                f'AND "rowid" > {lowest}), '
                f'"found" AS MATERIALIZED (SELECT {columns} FROM "{table}" WHERE "{table}"."id" IN (SELECT "id" FROM "hit") '
                f'AND {sql.visible()} ORDER BY "{table}"."id" DESC LIMIT {MAX_MATCHES_PER_KIND}), ')

    def _postgres_matches(self, terms: Terms, kind: SearchType, sql: _Sql, with_score: bool) -> str:
        """`_matches` on PostgreSQL: the matches found (`_postgres_hits`), then ranked: `ts_rank`
        reads each row's vector, so only the (at most MAX_MATCHES_PER_KIND) rows kept are ranked."""
        spec = KINDS[kind]
        score = (f"CAST(ts_rank('{{0.1, 0.2, 0.4, 1.0}}', \"hits\".\"search_vector\", \"query\".\"q\", 1)"
                 f" * {KIND_WEIGHTS[kind] * SCORE_SCALE} AS BIGINT)") if with_score else "0"
        return (f'"query" AS MATERIALIZED (SELECT {self._tsquery(terms, sql.value)} AS "q"), '
                f"{self._postgres_hits(terms, kind, sql)}"
                f'"matches" AS MATERIALIZED (SELECT "hits"."id" AS "id", {score} AS "_score", "hits"."{spec.date}" AS "_date" '
                f'FROM "hits" CROSS JOIN "query"), ')

    @staticmethod
    def _word_tsqueries(terms: Terms) -> list[str]:
        """The tsquery of each word of `terms` (a phrase's each), the last as a prefix when typed
        as one (Terms.postgres)."""
        words = terms.loose()
        queries = [f"to_tsquery('search_english', {_literal(_lexeme(word))})" for (word,) in words.phrases]
        _, last, simple = words.postgres()
        if last is not None:
            queries[-1] = _prefix_tsquery(last, simple, _literal)
        return queries

    def _postgres_hits(self, terms: Terms, kind: SearchType, sql: _Sql) -> str:
        """CTEs ending with `"hits"`: the id, vector and date of the kind's newest
        MAX_MATCHES_PER_KIND visible matches, by a plan chosen in SQL as it runs, from a sample
        of the newest rows, not from the planner's estimate (a flat 4% of the rows for a prefix:
        a broad one read every match through the GIN bitmap, a rare one walked the whole id
        index for 500 matches that were not there; for many common words, 0.36-0.58 s through
        the GIN bitmap). Each plan is a branch of a UNION gated by a one-time filter (an InitPlan
        without row variables): PostgreSQL runs only the one it needs.

        - The sample: the newest PROBE_SAMPLE visible rows, counted: the matches, the rows holding
          the query's rarest word (a phrase's words each; a stop word, which asks for nothing,
          aside) and, for the GIN index below, the rows holding the prefix typed last and those
          holding the other words.
        - The probe, when at least one sampled row in PROBED_ROWS_PER_MATCH matches: the id index
          read backwards, the words checked on each row, until MAX_MATCHES_PER_KIND match, within
          the newest PROBED_ROWS_PER_MATCH x MAX_MATCHES_PER_KIND visible rows. When it finds that
          many, they ARE the newest matches: read in a bounded number of rows however common the
          words (a word most rows hold: about MAX_MATCHES_PER_KIND rows).
        - Else, when every word of the query is common (its rarest word, by the sample, in more
          than GIN_ROWS rows: ids stand for rows): the newest WIDE_PROBE_IDS ids only, each row
          checked, found there or not. Through the GIN index such words cost every row holding
          them, and a phrase's positions would be checked on each (the index holds none): a
          phrase found in few rows read most of the table (`"download offline lyrics"`: 255 ms at
          300,000 posts, 1 post in 180 holding it). Older matches are not found: the bound
          common words pay.
        - Else the GIN index finds every match (its rarest word bounds the lookup) and the newest
          are kept, behind an OFFSET 0 fence (the inner query planned for every match, without
          the LIMIT that invites the id index). A prefix the GIN index answers by collecting
          every row that holds it (a bitmap as large as the table for `password:*`), so when the
          sample holds the prefix COMMON_PREFIX_RATIO times more often than the other words, the
          index looks up the other words alone and the whole query is checked on each row they
          find (`ts_match_vq`: a function call, which the planner cannot turn into an index
          condition)."""
        spec = KINDS[kind]
        model = spec.model
        table = model._meta.db_table
        bound = MAX_MATCHES_PER_KIND
        vector = f'"{table}"."search_vector"'
        columns = f'"{table}"."id", {vector}, "{table}"."{spec.date}"'
        full = self._tsquery(terms, _literal)

        def newest(rows: int) -> str:
            """The newest `rows` visible rows, a table of the kind's name (the id index backwards)."""
            return f'(SELECT {columns} FROM "{table}" WHERE {sql.visible()} ORDER BY "{table}"."id" DESC LIMIT {rows}) AS "{table}"'

        def counted(query: str) -> str:
            return f"COUNT(*) FILTER (WHERE {vector} @@ {query})"

        words, last, simple = terms.postgres()
        others = f"to_tsquery('search_english', {_literal(words)})"
        # The prefix typed last after other words: the GIN index may look up the others alone.
        prefix = _prefix_tsquery(last, simple, _literal) if last is not None and words else None
        sampled = [f'{counted(f"({full})")} AS "matches"']
        if prefix is not None:
            sampled.append(f"{counted(prefix)} > {COMMON_PREFIX_RATIO} * {counted(others)} AS \"prefix_is_common\"")
        # How many sampled rows hold the query's rarest word (a stop word, which asks for
        # nothing, aside; none but stop words: NULL, as no row).
        rows_holding = [f"CASE WHEN numnode({query}) = 0 THEN NULL ELSE {counted(query)} END"
                        for query in self._word_tsqueries(terms)]
        sampled.append(f'LEAST({", ".join(rows_holding)}) AS "rarest"')
        probe = (f'SELECT * FROM {newest(PROBED_ROWS_PER_MATCH * bound)} WHERE {vector} @@ ({full}) '
                 f'ORDER BY "{table}"."id" DESC LIMIT {bound}')
        ctes = [f'"sample" AS MATERIALIZED (SELECT {", ".join(sampled)} FROM {newest(PROBE_SAMPLE)})',
                f'"probe" AS MATERIALIZED ({probe})']
        # Read left to right: the probe runs only when the sample promises it fills.
        answered = (f'(SELECT "matches" FROM "sample") * {PROBED_ROWS_PER_MATCH} >= {PROBE_SAMPLE} '
                    f'AND (SELECT COUNT(*) FROM "probe") = {bound}')
        # Every word of the query in more than GIN_ROWS rows, by the sample (ids stand for rows).
        common = (f'coalesce((SELECT "rarest" FROM "sample"), 0) * (SELECT max("id") FROM "{table}") > '
                  f'{GIN_ROWS} * {PROBE_SAMPLE}')

        def indexed(gate: str, condition: str) -> str:
            # OFFSET 0 keeps the inner query whole (not merged into the outer one): planned for
            # every match, without the ORDER BY and LIMIT that invite the id index. The gate
            # outside the LIMIT: a one-time filter above the whole plan (inside, it could land
            # under a Gather whose workers would be started before it is read).
            found = f'SELECT {columns} FROM (SELECT {columns} FROM "{table}" WHERE {condition} AND {sql.visible()} OFFSET 0) AS "{table}"'
            return f'SELECT * FROM ({found} ORDER BY "{table}"."id" DESC LIMIT {bound}) AS "{table}" WHERE {gate}'

        # Checked by `ts_match_vq`, a function call the planner cannot make an index condition
        # of: with `@@` it could AND the id range with the GIN index's every row holding the
        # words (137 ms for `"sleep timer" cro` at 300,000 posts) instead of reading the range.
        ctes.append(f'"wide" AS MATERIALIZED (SELECT {columns} FROM "{table}" WHERE "{table}"."id" > '
                    f'(SELECT max("id") FROM "{table}") - {WIDE_PROBE_IDS} AND ts_match_vq({vector}, {full}) AND '
                    f'{sql.visible()} ORDER BY "{table}"."id" DESC LIMIT {bound})')
        unanswered = f"NOT ({answered}) AND NOT ({common})"
        branches = [f'SELECT * FROM "probe" WHERE {answered}',
                    f'SELECT * FROM "wide" WHERE NOT ({answered}) AND {common}']
        everything = f"{vector} @@ ({full})"
        if prefix is None:
            branches.append(indexed(unanswered, everything))
        else:
            # An empty tsquery (stop words only) matches nothing: then the prefix is the index's.
            other_words = f'numnode({others}) > 0 AND (SELECT "prefix_is_common" FROM "sample")'
            branches += [indexed(f"{unanswered} AND {other_words}", f"{vector} @@ {others} AND ts_match_vq({vector}, {full})"),
                         indexed(f"{unanswered} AND NOT ({other_words})", everything)]
        ctes.append(f'"hits" AS ({" UNION ALL ".join(branches)})')
        return "".join(f"{cte}, " for cte in ctes)

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
        terms = self.terms
        if terms is None:
            raise ValueError("A query without a word has no statement: it finds nothing")
        spec = KINDS[kind]
        model = spec.model
        table = model._meta.db_table
        sql = _Sql(model, self.viewer)
        # Parameters are made in the order of the text (SQLite's are positional): the matches,
        # the snippet, then the cursors' bounds.
        # Ranked in either order: NEWEST edges show their `rank` too.
        matches = self._matches(terms, kind, sql, with_score=True)
        snippet = self._snippet(terms, kind, sql) if snippets else "NULL"
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
        # Counted before the cursors' bounds apply: every match (materialized: ranked once, then
        # counted and ordered).
        counted = 'SELECT *, COUNT(*) OVER () AS "_total" FROM "matches"' if total else 'SELECT * FROM "matches"'
        columns = ", ".join(f'"{table}"."{column}"' for column in model._meta.fields_db_projection.values())
        keys_read = '"page"."_score", "page"."_date"' + (', "page"."_total"' if total else "")
        statement = (f"WITH {matches.removesuffix(', ')} "
                     f'SELECT {columns}, {keys_read}, {snippet} AS "_snippet" '
                     f'FROM (SELECT * FROM ({counted}) AS "counted"{where} ORDER BY {inner_order} '
                     f'LIMIT {int(page.limit)}) AS "page" JOIN "{table}" ON "{table}"."id" = "page"."id" '
                     f'ORDER BY {outer_order}')
        return statement, sql.values

    def _snippet(self, terms: Terms, kind: SearchType, sql: _Sql) -> str:
        """The snippet of one row of the page (`"page"`, joined to its table), computed for the
        page's rows only."""
        spec = KINDS[kind]
        table = spec.model._meta.db_table
        if sql.postgres:
            options = (f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
                       "MaxFragments=2, FragmentDelimiter=\" … \"")
            query = '(SELECT "q" FROM "query")'
            return f"ts_headline('search_english', \"{table}\".\"{spec.body}\", {query}, {sql.value(options)})"
        index = spec.index
        return (f'(SELECT snippet("{index}", 1, {sql.value(MARK_START)}, {sql.value(MARK_END)}, {sql.value(" … ")}, 24) '
                f'FROM "{index}" WHERE "{index}" MATCH {sql.value(terms.fts5())} '
                f'AND "{index}"."rowid" = "page"."id")')

    async def count(self, kind: SearchType) -> int:
        """How many visible rows of one kind match, up to MAX_MATCHES_PER_KIND (one COUNT)."""
        if self.terms is None:
            return 0
        sql = _Sql(KINDS[kind].model, self.viewer)
        matches = self._matches(self.terms, kind, sql, with_score=False)
        _, records = await sql.db.execute_query(f'WITH {matches.removesuffix(", ")} SELECT COUNT(*) FROM "matches"',
                                                sql.values)
        return int(records[0][0])


def _prefix_tsquery(last: str, simple: str | None, value: Callable[[str], str]) -> str:
    """The last word typed, as a prefix (Terms.postgres): stemmed and stop-worded, or also (when
    `simple` is given) as typed, accents folded, through the `simple` configuration."""
    stemmed = f"to_tsquery('search_english', {value(last)})"
    return stemmed if simple is None else f"({stemmed} || to_tsquery('simple', {value(simple)}))"
