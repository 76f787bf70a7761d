"""Counters kept exact in the transaction that changes what they count: what every `totalCount`,
`postCount`, `faqCount`, `replyCount`, `kudosCount` … reads instead of counting rows.

There are two kinds, kept by two mechanisms.

**A member's marks on one row** (kudos → `kudosCount`, "I have this too" → `affectedCount`, FAQ
ratings → `helpfulCount`): each has exactly one write path, the domain function that adds or
removes the mark, which moves the counter with `add_counted` / `remove_counted` below, in the
caller's transaction, with an atomic `UPDATE … SET n = n ± 1`: concurrent requests each move it by
exactly their own row, where reading the count and writing it back would lose some.

**The sizes of the big lists**, which `COUNT(*)` would read row by row (3.7 ms at 30,000 posts,
36.5 ms at 300,000): posts in all, per board and per author, published replies per post, FAQs in
all and per category, users per role (members, Stars), issues per status, updates per issue.
These are kept by **database triggers**, created by migration 0003 from the description `COUNTED`
below, one set for SQLite and one for PostgreSQL, and read by the API (`Size`) instead of COUNT.

Why triggers rather than counter updates in the domain functions: a row's visibility changes on
many paths (createPost, seven moderation actions, Stars' MARK_SPAM, FAQ publishing, role changes
on approval, `setUserRole`, the CLI), and rows arrive and leave on paths that are not domain
functions at all: the seed's bulk inserts, tests' factories, cascades (a post's replies), fixtures
deleting what they made. Application-level updates would need every one of those paths, present
and future (engineers add write paths all the time), to remember every counter it touches; a
forgotten one drifts silently. A trigger runs inside the statement that changes the row, so in its
transaction, whoever sends it: the counters are exact on every path by construction. The cost:
SQL in two dialects (generated here from one description, so the two cannot disagree), logic out
of Python's sight (this docstring and `COUNTED` say what it does), and `recount()` to repair what
SQL that bypasses triggers (PostgreSQL's TRUNCATE, a hand-run `ALTER TABLE … DISABLE TRIGGER`)
leaves behind; `tests/test_counters.py` checks the migration's frozen copy equals `COUNTED`.

**Where counters live.** A count per parent row is a column of that row (`boards.post_count` and
`published_post_count`, `users.published_post_count`, `posts.reply_count`,
`faq_categories.faq_count` and `published_faq_count`, `issues.update_count`); a count of a whole
table is a row of `tallies` per value of its status (`posts.PUBLISHED`, `users.STAR`,
`issues.RESOLVED`, …): staff, who see every status, read the sum of a table's rows.

**Concurrency.** Each counter moves by `SET n = n + d` in the writer's transaction; the row lock
makes concurrent writers of one counter take turns, none losing another's change. On PostgreSQL
a trigger locks its counter rows in one order (tallies by name, then parent rows by id), and
parent rows with the NO KEY UPDATE lock an UPDATE takes anyway, which the KEY SHARE locks of
other writers' foreign-key checks never wait for (and it theirs): concurrent writers queue, they
do not deadlock (`tests/test_counters.py` races opposite moves). The price is that two transactions
writing the same counter (two new posts on one board) serialize from the write to their commit;
at very high write rates a tally can be spread over N slot rows summed on read.

**Dialects.** SQLite has row triggers only: AFTER INSERT, AFTER DELETE, and AFTER UPDATE OF the
columns that matter (the status and the parents' keys) WHEN one of them changed. PostgreSQL:
INSERT and DELETE are statement triggers over their transition tables (a cascade deleting a
thread's 5,000 replies moves each counter once, not 5,000 times); UPDATE is a row trigger whose
WHEN clause keeps every update that changes no counted column (kudos, flags, the counters
themselves) from calling the function at all. A tally row is created by its first increment
(upsert) and only ever decremented when present, so emptying tables in any order (tests) leaves
the counters consistent.

**Caveats.**
- Never `save()` a loaded row that holds counters (boards, faq_categories, users, posts,
  issues): a full-row save writes stale counters back; write with `.filter(…).update(…)`, as
  every path does.
- A statement's text does not name the tables its triggers write: whatever learns what a write
  changed from its SQL (the response cache, models/touched.py) adds them from `COUNTED`.
- On SQLite the row count Tortoise reports for an UPDATE or DELETE includes the rows triggers
  changed (it reads `total_changes`): on the counted tables, read it as "some or none", never as
  a number (`_delete_counted` relies on its number, so kudos and marks have no triggers).
- On SQLite, Tortoise alters a column (or drops one, or a constraint) by rebuilding the table,
  which drops the table's triggers: such a migration of a counted table must create them again
  (`create_triggers_sql(dialect, [spec])`); a test checks that the migrated database has all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.errors import RuleViolation
from models.guarded import guarded_change


async def add_counted(
    row: Model, counted: QuerySet[Any], counter: str, *, duplicate: RuleViolation | None = None
) -> None:
    """Insert `row` and add one to `counter` on what `counted` selects.

    For rows one per user and target, a unique constraint, not a check beforehand, refuses a
    second one (a check would let two racing requests both pass): its IntegrityError becomes
    `duplicate`.
    """
    try:
        await row.save(force_create=True)
    except IntegrityError:
        if duplicate is None:
            raise
        raise duplicate from None
    await counted.update(**{counter: F(counter) + 1})


async def remove_counted(
    rows: QuerySet[Any], counted: QuerySet[Any], counter: str, *, missing: RuleViolation, absent: RuleViolation
) -> None:
    """Delete `rows` and take as many off `counter` on what `counted` selects; when there were
    none, nothing changes and the refusal says why: `missing` if `counted` finds nothing, else
    `absent`."""
    await guarded_change(_delete_counted(rows, counted, counter), counted, missing=missing, refused=lambda _: absent)


async def _delete_counted(rows: QuerySet[Any], counted: QuerySet[Any], counter: str) -> int:
    deleted = await rows.delete()
    if deleted:
        await counted.update(**{counter: F(counter) - deleted})
    return deleted


# --- Counters kept by triggers ---------------------------------------------------------------------


class Tally(Model):
    """How many rows of a whole table hold one value of its status: `posts.PUBLISHED`, `users.STAR`."""

    name = fields.CharField(max_length=60, primary_key=True)
    n = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "tallies"


def tally_name(table: str, value: Any) -> str:
    return f"{table}.{getattr(value, 'value', value)}"


def tally_names(table: str, values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(tally_name(table, value) for value in values)


@dataclass(frozen=True)
class Counter:
    """A column of a parent row counting the rows of a table that point at it through `key`
    (only those whose split column holds `only`, when given)."""

    parent: str
    key: str
    column: str
    only: str | None = None


@dataclass(frozen=True)
class CountedTable:
    """A table whose rows are counted: per value of `split` in `tallies` (none when None), and
    on its parents' rows by `counters`."""

    table: str
    split: str | None
    counters: tuple[Counter, ...] = field(default=())

    @property
    def watched(self) -> tuple[str, ...]:
        """The columns whose change moves a counter."""
        return tuple(dict.fromkeys([*([self.split] if self.split else []), *(c.key for c in self.counters)]))

    def parents(self) -> list[tuple[str, str, list[Counter]]]:
        """Counters grouped by the parent row they sit on: (parent table, key, counters)."""
        grouped: dict[tuple[str, str], list[Counter]] = defaultdict(list)
        for counter in self.counters:
            grouped[(counter.parent, counter.key)].append(counter)
        return [(parent, key, counters) for (parent, key), counters in grouped.items()]


# What the triggers count. Migration 0003 holds a frozen copy (a test keeps the two equal): a
# change here, or to the SQL generated below (0003 generates it when it runs), needs a migration
# that drops the old triggers and creates the new ones (drop_triggers_sql, create_triggers_sql).
COUNTED: tuple[CountedTable, ...] = (
    CountedTable("posts", "status", (
        Counter("boards", "board_id", "post_count"),
        Counter("boards", "board_id", "published_post_count", "PUBLISHED"),
        Counter("users", "author_id", "published_post_count", "PUBLISHED"),
    )),
    CountedTable("replies", "status", (Counter("posts", "post_id", "reply_count", "PUBLISHED"),)),
    CountedTable("faqs", "status", (
        Counter("faq_categories", "category_id", "faq_count"),
        Counter("faq_categories", "category_id", "published_faq_count", "PUBLISHED"),
    )),
    CountedTable("users", "role"),
    CountedTable("issues", "status"),
    CountedTable("issue_updates", None, (Counter("issues", "issue_id", "update_count"),)),
)

_EVENTS = ("insert", "update", "delete")


def _trigger(spec: CountedTable, event: str) -> str:
    return f"{spec.table}_counters_{event}"


def _amount(counter: Counter, row: str, sign: str, split: str | None) -> str:
    """What a row adds to `counter`: ±1, or ±1 only when its split column holds `counter.only`."""
    if counter.only is None:
        return f"{sign}1"
    return f"{sign}(CASE WHEN {row}.{split} = '{counter.only}' THEN 1 ELSE 0 END)"


def _sqlite_moves(spec: CountedTable, row: str, sign: str) -> list[str]:
    """The statements moving every counter of one row (NEW or OLD) by ±1, in SQLite."""
    moves = []
    if spec.split:
        name = f"'{spec.table}.' || {row}.{spec.split}"
        if sign == "+":
            moves.append(f"INSERT INTO tallies (name, n) VALUES ({name}, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1")
        else:
            moves.append(f"UPDATE tallies SET n = n - 1 WHERE name = {name}")
    for parent, key, counters in spec.parents():
        sets = ", ".join(f"{c.column} = {c.column} {_amount(c, row, sign, spec.split)}" for c in counters)
        only = {c.only for c in counters}
        # Counters of one status only: rows in another leave the parent row unwritten.
        when = f" AND {row}.{spec.split} = '{only.pop()}'" if len(only) == 1 and None not in only else ""
        moves.append(f"UPDATE {parent} SET {sets} WHERE id = {row}.{key}{when}")
    return moves


def _sqlite_triggers(spec: CountedTable) -> list[str]:
    def trigger(event: str, head: str, moves: list[str]) -> str:
        body = "".join(f"  {move};\n" for move in moves)
        return f"CREATE TRIGGER {_trigger(spec, event)} {head}\nBEGIN\n{body}END"

    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in spec.watched)
    return [
        trigger("insert", f"AFTER INSERT ON {spec.table} FOR EACH ROW", _sqlite_moves(spec, "NEW", "+")),
        trigger("update", f"AFTER UPDATE OF {', '.join(spec.watched)} ON {spec.table} FOR EACH ROW WHEN {changed}",
                _sqlite_moves(spec, "OLD", "-") + _sqlite_moves(spec, "NEW", "+")),
        trigger("delete", f"AFTER DELETE ON {spec.table} FOR EACH ROW", _sqlite_moves(spec, "OLD", "-")),
    ]


_PG_TALLY_ADD = """CREATE OR REPLACE FUNCTION tally_add(tally_name text, delta bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  -- Created by its first increment; decremented only when present (see models/counted.py).
  IF delta > 0 THEN
    INSERT INTO tallies AS t (name, n) VALUES (tally_name, delta)
      ON CONFLICT (name) DO UPDATE SET n = t.n + EXCLUDED.n;
  ELSIF delta < 0 THEN
    UPDATE tallies SET n = n + delta WHERE name = tally_name;
  END IF;
END $$"""


def _pg_changes(spec: CountedTable, event: str) -> str:
    """The rows a statement changed as (watched columns…, d): d = +1 for a row that now counts,
    -1 for one that no longer does (an update is both: its old row out, its new row in)."""
    columns = spec.watched
    if event == "insert":
        return f"SELECT {', '.join(columns)}, 1 AS d FROM new_rows"
    if event == "delete":
        return f"SELECT {', '.join(columns)}, -1 AS d FROM old_rows"
    old = ", ".join(f"OLD.{column} AS {column}" for column in columns)
    new = ", ".join(f"NEW.{column}" for column in columns)
    return f"SELECT {old}, -1 AS d UNION ALL SELECT {new}, 1"


def _pg_function(spec: CountedTable, event: str) -> str:
    changes = f"({_pg_changes(spec, event)}) AS c"
    lines = []
    if spec.split:
        # One statement a tally, in name order: the global lock order.
        lines.append(
            f"FOR tally IN SELECT '{spec.table}.' || c.{spec.split} AS name, SUM(c.d) AS d FROM {changes} "
            "GROUP BY 1 ORDER BY 1 LOOP\n    PERFORM tally_add(tally.name, tally.d);\n  END LOOP;")
    for parent, key, counters in spec.parents():
        sums = ", ".join(
            f"SUM(c.d) AS n{i}" if counter.only is None
            else f"SUM(CASE WHEN c.{spec.split} = '{counter.only}' THEN c.d ELSE 0 END) AS n{i}"
            for i, counter in enumerate(counters))
        moves = f"(SELECT c.{key} AS id, {sums} FROM {changes} GROUP BY c.{key}) AS s"
        moved = " OR ".join(f"s.n{i} <> 0" for i in range(len(counters)))
        sets = ", ".join(f"{counter.column} = p.{counter.column} + s.n{i}" for i, counter in enumerate(counters))
        # Only the parent rows whose counters move, locked in id order before they are written;
        # NO KEY UPDATE, the lock the UPDATE takes itself: FOR UPDATE would wait for the KEY SHARE
        # locks other writers' foreign-key checks hold on the same row (two new replies to one
        # post: each holds one, each would wait for the other's).
        lines.append(f"PERFORM 1 FROM {parent} AS p, {moves}\n    WHERE p.id = s.id AND ({moved}) "
                     "ORDER BY p.id FOR NO KEY UPDATE OF p;")
        lines.append(f"UPDATE {parent} AS p SET {sets}\n    FROM {moves}\n    WHERE p.id = s.id AND ({moved});")
    body = "".join(f"  {line}\n" for line in lines)
    return (f"CREATE OR REPLACE FUNCTION {_trigger(spec, event)}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"DECLARE tally record;\nBEGIN\n{body}  RETURN NULL;\nEND $$")


def _pg_triggers(spec: CountedTable) -> list[str]:
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in spec.watched)
    heads = {
        "insert": f"AFTER INSERT ON {spec.table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
        "update": f"AFTER UPDATE ON {spec.table} FOR EACH ROW WHEN ({changed})",
        "delete": f"AFTER DELETE ON {spec.table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
    }
    statements = []
    for event in _EVENTS:
        statements.append(_pg_function(spec, event))
        statements.append(f"CREATE TRIGGER {_trigger(spec, event)} {heads[event]} EXECUTE FUNCTION {_trigger(spec, event)}()")
    return statements


def create_triggers_sql(dialect: str, specs: Sequence[CountedTable] = COUNTED) -> list[str]:
    """The statements creating the counting triggers for `dialect` ("sqlite" or "postgres")."""
    if dialect == "sqlite":
        return [statement for spec in specs for statement in _sqlite_triggers(spec)]
    if dialect == "postgres":
        return [_PG_TALLY_ADD, *(statement for spec in specs for statement in _pg_triggers(spec))]
    raise NotImplementedError(f"no counting triggers for {dialect}")


def drop_triggers_sql(dialect: str, specs: Sequence[CountedTable] = COUNTED) -> list[str]:
    statements = []
    for spec in specs:
        for event in _EVENTS:
            if dialect == "postgres":
                statements.append(f"DROP TRIGGER IF EXISTS {_trigger(spec, event)} ON {spec.table}")
                statements.append(f"DROP FUNCTION IF EXISTS {_trigger(spec, event)}()")
            else:
                statements.append(f"DROP TRIGGER IF EXISTS {_trigger(spec, event)}")
    if dialect == "postgres":
        statements.append("DROP FUNCTION IF EXISTS tally_add(text, bigint)")
    return statements


# --- Recount: every counter from its rows ---------------------------------------------------------


def _expected(spec: CountedTable, counter: Counter, parent: str) -> str:
    only = f" AND c.{spec.split} = '{counter.only}'" if counter.only is not None else ""
    return f"(SELECT COUNT(*) FROM {spec.table} AS c WHERE c.{counter.key} = {parent}.id{only})"


async def recount(client: BaseDBAsyncClient, *, fix: bool = True, specs: Sequence[CountedTable] = COUNTED) -> dict[str, int]:
    """Compare every counter with COUNT(*) of its rows; with `fix`, set the wrong ones right.

    Answers how many were wrong, by counter (`boards.post_count`, `tallies.posts`, …): all zero
    when the triggers did their job. Run it inside a transaction (`recount_all` does): on
    PostgreSQL it first takes SHARE locks on the counted tables, so that no write moves a counter
    between its count and its correction (writers wait for the recount; readers do not).
    """
    wrong: dict[str, int] = {}
    for spec in specs:
        if spec.split:
            found = {f"{spec.table}.{value}": n for value, n in await _rows(
                client, f"SELECT {spec.split}, COUNT(*) FROM {spec.table} GROUP BY {spec.split}")}
            kept = {name: n for name, n in await _rows(
                client, "SELECT name, n FROM tallies WHERE name LIKE ?", [f"{spec.table}.%"])}
            off = {name: found.get(name, 0) for name in found.keys() | kept.keys() if found.get(name, 0) != kept.get(name)}
            wrong[f"tallies.{spec.table}"] = len(off)
            if fix:
                for name, n in sorted(off.items()):
                    await _execute(client, "INSERT INTO tallies (name, n) VALUES (?, ?) "
                                           "ON CONFLICT (name) DO UPDATE SET n = EXCLUDED.n", [name, n])
        for parent, _key, counters in spec.parents():
            for counter in counters:
                expected = _expected(spec, counter, parent)
                where = f"{counter.column} <> {expected}"
                if fix:
                    changed = await _execute(client, f"UPDATE {parent} SET {counter.column} = {expected} WHERE {where}")
                else:
                    changed = (await _rows(client, f"SELECT COUNT(*) FROM {parent} WHERE {where}"))[0][0]
                wrong[f"{parent}.{counter.column}"] = changed
    return wrong


async def recount_all(*, fix: bool = True) -> dict[str, int]:
    """`recount` of the default connection in one transaction, with the locks it needs."""
    async with in_transaction() as client:
        tables = list(dict.fromkeys(spec.table for spec in COUNTED))
        if client.capabilities.dialect == "postgres":
            await client.execute_script(f"LOCK TABLE {', '.join(tables)} IN SHARE MODE")
        else:
            # SQLite: a write first takes the database's write lock, for the whole transaction.
            await client.execute_query("DELETE FROM tallies WHERE 0 = 1")
        return await recount(client, fix=fix)


def _sql(client: BaseDBAsyncClient, sql: str) -> str:
    if client.capabilities.dialect != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1))


async def _rows(client: BaseDBAsyncClient, sql: str, values: list[Any] | None = None) -> list[tuple[Any, ...]]:
    _, rows = await client.execute_query(_sql(client, sql), values)
    return [tuple(row) for row in rows]


async def _execute(client: BaseDBAsyncClient, sql: str, values: list[Any] | None = None) -> int:
    changed, _ = await client.execute_query(_sql(client, sql), values)
    return changed


# --- Reading counters: the size of a list without counting it ------------------------------------


@dataclass(frozen=True)
class Size:
    """How many rows a list holds, from counters: the sum of some tallies, plus some counter
    columns of one parent row (`parent`, a QuerySet of at most one row), plus a COUNT over the
    few rows counters leave out (`plus`: a member's own unpublished posts, read through an index
    that bounds it to them). Each part costs one statement, none of them grows with the table."""

    tallies: tuple[str, ...] = ()
    parent: QuerySet[Any] | None = None
    columns: tuple[str, ...] = ()
    plus: QuerySet[Any] | None = None

    async def read(self, tallies: dict[str, int] | None = None) -> int:
        """The size; `tallies` already read (by a per-request loader) are not read again."""
        total = 0
        if self.tallies:
            known = tallies if tallies is not None else await read_tallies(self.tallies)
            total += sum(known.get(name, 0) for name in self.tallies)
        if self.parent is not None:
            row = await self.parent.first().values_list(*self.columns)
            total += sum(row or ())
        if self.plus is not None:
            total += await self.plus.count()
        return total


async def read_tallies(names: Iterable[str] | None = None) -> dict[str, int]:
    """The tallies named (every one when None), in one statement; a tally without a row is 0."""
    if names is None:
        return {name: int(n) for name, n in await Tally.all().values_list("name", "n")}
    names = list(dict.fromkeys(names))
    found = dict(await Tally.filter(name__in=names).values_list("name", "n"))
    return {name: int(found.get(name, 0)) for name in names}
