"""Counters kept exact in the transaction that changes what they count: what every `totalCount`,
`postCount`, `faqCount`, `replyCount`, `kudosCount` … reads instead of counting rows.

There are two kinds, kept by two mechanisms.

**A member's marks on one row** (kudos → `kudosCount`, "I have this too" → `affectedCount`, FAQ
ratings → `helpfulCount`): each has exactly one write path, the domain function that adds or
removes the mark, which moves the counter with `add_counted` / `remove_counted` below, in the
caller's transaction, with an atomic `UPDATE … SET n = n ± 1`: concurrent requests each move it by
exactly their own row, where reading the count and writing it back would lose some.

**The sizes of the big lists**, which `COUNT(*)` would read row by row (3.7 ms at 30,000 posts,
36.5 ms at 300,000): posts in all, per board, per author and per tag, published replies per post,
FAQs in all and per category, users per role (members, Stars), issues per status, updates per
issue. These are kept by **database triggers**, created by migration 0003 from the description
`COUNTED` below (and by 0004 from `COUNTED_LINKS`, for the posts per tag: a count over a link
table, whose rows count by their post's status), one set for SQLite and one for PostgreSQL, and
read by the API (`Size`) instead of COUNT.

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
`faq_categories.faq_count` and `published_faq_count`, `issues.update_count`, `tags.post_count`
and `published_post_count`); a count of a whole
table is a row of `tallies` per value of its status (`posts.PUBLISHED`, `users.STAR`,
`issues.RESOLVED`, …): staff, who see every status, read the sum of a table's rows.

**Concurrency.** Each counter moves by `SET n = n + d` in the writer's transaction; the row lock
makes concurrent writers of one counter take turns, none losing another's change. On PostgreSQL
a trigger locks its counter rows in one order (tallies by name, then parent rows by id), and
parent rows with the NO KEY UPDATE lock an UPDATE takes anyway, which the KEY SHARE locks of
other writers' foreign-key checks never wait for (and it theirs): concurrent single-row writers
queue, they do not deadlock (`tests/test_counters.py` races opposite moves). A statement that
changes many rows at once locks their parents row by row, so two such statements over the same
parents in different orders could still deadlock (PostgreSQL then aborts one, which retries or
fails cleanly; the API writes one row per statement). The price is that two transactions
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
  issues, tags): a full-row save writes stale counters back; write with `.filter(…).update(…)`, as
  every path does.
- A statement's text does not name the tables its triggers write: whatever learns what a write
  changed from its SQL (the response cache, models/touched.py) adds them from `trigger_writes()`
  (`COUNTED` and `COUNTED_LINKS`).
- On SQLite the row count Tortoise reports for an UPDATE or DELETE includes the rows triggers
  changed (it reads `total_changes`): on the counted tables, read it as "some or none", never as
  a number (`_delete_counted` relies on its number, so kudos and marks have no triggers).
- On SQLite, Tortoise alters a column (or drops one, or a constraint) by rebuilding the table,
  which drops the table's triggers: such a migration of a counted table must create them again
  (`create_triggers_sql(dialect, [spec])`); a test checks that the migrated database has all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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


# --- Counters over a link table: posts per tag ----------------------------------------------------
#
# A tag's posts are rows of `post_tags`, and whether one counts as published is the status of
# another table's row, the post's. So the count moves on two tables: a link appearing or
# disappearing (an insert, a delete, the cascade of a post's deletion) moves its tag's counters by
# the post's status; a post's status changing moves the published counter of every tag of the
# post. `CountedTable` cannot say that (its split column is on the counted row itself), hence
# `CountedLink` and its own triggers, generated here for both dialects and frozen as SQL in
# migration 0004 (`tests/test_counters.py` keeps the two equal).
#
# The rule the triggers keep: a parent's counters count the links whose target row exists. A
# target's deletion takes its links off in a BEFORE DELETE trigger (while they still exist, with
# the target's status), so that the cascade deleting them afterwards, which no longer finds the
# target, moves nothing. On PostgreSQL the link triggers lock the target rows FOR SHARE before
# reading their status: a concurrent status change (its UPDATE takes the NO KEY UPDATE lock that
# SHARE conflicts with) waits for the link's transaction, and its trigger then sees the link, or
# the link's trigger waits for the status change and reads the new status; either way each link
# is counted with the status it ends with, never twice, never lost.
#
# Lock order: target rows (FOR SHARE), then parent rows in id order; a status change holds its
# target row and takes the tallies, boards and users (COUNTED) before the tags. Deleting a target
# takes its parents (tags) before the tallies its own AFTER trigger moves: a post deleted while
# new posts with the same tags are written may deadlock with them, and PostgreSQL aborts one (no
# API path deletes posts; operators and fixtures do, one statement at a time).


@dataclass(frozen=True)
class CountedLink:
    """Rows of a link table counted on the parent row one of its keys points at (`post_tags` on
    `tags` by `tag_id`): every link in a counter without `only`, and in a counter with `only`
    the links whose target row (`posts` by `through`, `post_id`) holds `only` in `split`."""

    table: str
    through: str
    target: str
    split: str
    counters: tuple[Counter, ...]

    def __post_init__(self) -> None:
        assert self.counters and len({(c.parent, c.key) for c in self.counters}) == 1, "one parent per link"

    @property
    def parent(self) -> str:
        return self.counters[0].parent

    @property
    def key(self) -> str:
        return self.counters[0].key

    @property
    def split_counters(self) -> tuple[Counter, ...]:
        """The counters a change of the target's split column moves."""
        return tuple(counter for counter in self.counters if counter.only is not None)

    def trigger_names(self) -> dict[str, str]:
        """Each trigger's name (and on PostgreSQL its function's) by what it follows, with its table."""
        return {
            **{f"{self.table}.{event}": f"{self.table}_counters_{event}" for event in _EVENTS},
            **{f"{self.target}.{event}": f"{self.target}_{self.parent}_counters_{event}" for event in ("update", "delete")},
        }


# What the link triggers count. Migration 0004 holds the SQL generated from this, frozen (a test
# keeps the two equal): a change here, or to the generator below, needs a migration that drops
# the old triggers and creates the new ones (drop_link_triggers_sql, create_link_triggers_sql).
COUNTED_LINKS: tuple[CountedLink, ...] = (
    CountedLink("post_tags", "post_id", "posts", "status", (
        Counter("tags", "tag_id", "post_count"),
        Counter("tags", "tag_id", "published_post_count", "PUBLISHED"),
    )),
)


def trigger_writes() -> dict[str, set[str]]:
    """Which tables the counting triggers on each table write (COUNTED and COUNTED_LINKS): what
    a write to a table changes besides itself (models/touched.py)."""
    writes: dict[str, set[str]] = defaultdict(set)
    for spec in COUNTED:
        writes[spec.table].update(counter.parent for counter in spec.counters)
        if spec.split:
            writes[spec.table].add(Tally._meta.db_table)
    for link in COUNTED_LINKS:
        writes[link.table].add(link.parent)
        writes[link.target].add(link.parent)
    return dict(writes)


def _link_amount(link: CountedLink, counter: Counter, row: str) -> str:
    """What one link of the target row `row` adds to `counter`: 1, or 1 when `row` holds `only`."""
    if counter.only is None:
        return "1"
    return f"(CASE WHEN {row}.{link.split} = '{counter.only}' THEN 1 ELSE 0 END)"


def _sqlite_link_move(link: CountedLink, row: str, sign: str) -> str:
    """Move the parent's counters by one link (NEW or OLD) whose target still exists."""
    target = f"(SELECT 1 FROM {link.target} AS t WHERE t.id = {row}.{link.through})"
    sets = ", ".join(
        f"{c.column} = {c.column} {sign} 1" if c.only is None
        else f"{c.column} = {c.column} {sign} (SELECT {_link_amount(link, c, 't')} FROM {link.target} AS t "
             f"WHERE t.id = {row}.{link.through})"
        for c in link.counters)
    return f"UPDATE {link.parent} SET {sets} WHERE id = {row}.{link.key} AND EXISTS {target}"


def _sqlite_target_move(link: CountedLink, counters: Sequence[Counter], row: str, delta: Callable[[Counter], str]) -> str:
    """Move `counters` of every parent the target row `row` links to by delta(counter) a link."""
    links = f"(SELECT COUNT(*) FROM {link.table} AS c WHERE c.{link.through} = {row}.id AND c.{link.key} = {link.parent}.id)"
    sets = ", ".join(f"{c.column} = {c.column} + {delta(c)} * {links}" for c in counters)
    return (f"UPDATE {link.parent} SET {sets} "
            f"WHERE id IN (SELECT c.{link.key} FROM {link.table} AS c WHERE c.{link.through} = {row}.id)")


def _link_moved(link: CountedLink, old: str, new: str, distinct: str) -> str:
    """The condition under which a target's update moves a counter: the target passed an `only`."""
    return " OR ".join(f"({old}.{link.split} = '{only}') {distinct} ({new}.{link.split} = '{only}')"
                       for only in dict.fromkeys(c.only for c in link.split_counters))


def _sqlite_link_triggers(link: CountedLink) -> list[str]:
    names = link.trigger_names()

    def trigger(name: str, head: str, moves: list[str]) -> str:
        body = "".join(f"  {move};\n" for move in moves)
        return f"CREATE TRIGGER {name} {head}\nBEGIN\n{body}END"

    keys = (link.key, link.through)
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in keys)
    statements = [
        trigger(names[f"{link.table}.insert"], f"AFTER INSERT ON {link.table} FOR EACH ROW",
                [_sqlite_link_move(link, "NEW", "+")]),
        trigger(names[f"{link.table}.update"],
                f"AFTER UPDATE OF {', '.join(keys)} ON {link.table} FOR EACH ROW WHEN {changed}",
                [_sqlite_link_move(link, "OLD", "-"), _sqlite_link_move(link, "NEW", "+")]),
        trigger(names[f"{link.table}.delete"], f"AFTER DELETE ON {link.table} FOR EACH ROW",
                [_sqlite_link_move(link, "OLD", "-")]),
    ]
    if link.split_counters:
        statements.append(trigger(
            names[f"{link.target}.update"],
            f"AFTER UPDATE OF {link.split} ON {link.target} FOR EACH ROW WHEN {_link_moved(link, 'OLD', 'NEW', 'IS NOT')}",
            [_sqlite_target_move(link, link.split_counters, "NEW",
                                 lambda c: f"({_link_amount(link, c, 'NEW')} - {_link_amount(link, c, 'OLD')})")]))
    # BEFORE: the links are still there, with the target's status; the cascade then finds no target.
    statements.append(trigger(
        names[f"{link.target}.delete"], f"BEFORE DELETE ON {link.target} FOR EACH ROW",
        [_sqlite_target_move(link, link.counters, "OLD", lambda c: f"-{_link_amount(link, c, 'OLD')}")]))
    return statements


def _pg_link_function(link: CountedLink, name: str, changes: str) -> str:
    """A link trigger's function: `changes` selects (key, through, d) for the links it changed."""
    changed = f"({changes}) AS c"
    sums = ", ".join(
        f"SUM(c.d) AS n{i}" if counter.only is None
        else f"SUM(CASE WHEN t.{link.split} = '{counter.only}' THEN c.d ELSE 0 END) AS n{i}"
        for i, counter in enumerate(link.counters))
    moves = (f"(SELECT c.{link.key} AS id, {sums} FROM {changed} JOIN {link.target} AS t ON t.id = c.{link.through} "
             f"GROUP BY c.{link.key}) AS s")
    moved = " OR ".join(f"s.n{i} <> 0" for i in range(len(link.counters)))
    sets = ", ".join(f"{counter.column} = p.{counter.column} + s.n{i}" for i, counter in enumerate(link.counters))
    lines = [
        # The targets whose status decides, FOR SHARE: a status change waits for this transaction
        # (or this waits for it, then reads the new status). A target already gone counts nothing.
        (f"PERFORM 1 FROM {link.target} AS t WHERE t.id IN (SELECT c.{link.through} FROM {changed}) "
         "ORDER BY t.id FOR SHARE OF t;"),
        f"PERFORM 1 FROM {link.parent} AS p, {moves}\n    WHERE p.id = s.id AND ({moved}) ORDER BY p.id FOR NO KEY UPDATE OF p;",
        f"UPDATE {link.parent} AS p SET {sets}\n    FROM {moves}\n    WHERE p.id = s.id AND ({moved});",
    ]
    body = "".join(f"  {line}\n" for line in lines)
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}  RETURN NULL;\nEND $$")


def _pg_target_function(link: CountedLink, name: str, counters: Sequence[Counter], row: str,
                        delta: Callable[[Counter], str], result: str) -> str:
    """A target trigger's function: `counters` of every parent the row links to move by delta a link."""
    links = (f"(SELECT c.{link.key} AS id, COUNT(*) AS n FROM {link.table} AS c WHERE c.{link.through} = {row}.id "
             f"GROUP BY c.{link.key}) AS s")
    sets = ", ".join(f"{c.column} = p.{c.column} + s.n * {delta(c)}" for c in counters)
    lines = [
        f"PERFORM 1 FROM {link.parent} AS p, {links}\n    WHERE p.id = s.id ORDER BY p.id FOR NO KEY UPDATE OF p;",
        f"UPDATE {link.parent} AS p SET {sets}\n    FROM {links}\n    WHERE p.id = s.id;",
    ]
    body = "".join(f"  {line}\n" for line in lines)
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}  RETURN {result};\nEND $$")


def _pg_link_triggers(link: CountedLink) -> list[str]:
    names = link.trigger_names()
    columns = f"{link.key}, {link.through}"
    keys = (link.key, link.through)
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in keys)
    old = ", ".join(f"OLD.{column} AS {column}" for column in keys)
    new = ", ".join(f"NEW.{column}" for column in keys)
    functions = {
        f"{link.table}.insert": (
            _pg_link_function(link, names[f"{link.table}.insert"], f"SELECT {columns}, 1 AS d FROM new_rows"),
            f"AFTER INSERT ON {link.table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"),
        f"{link.table}.update": (
            _pg_link_function(link, names[f"{link.table}.update"], f"SELECT {old}, -1 AS d UNION ALL SELECT {new}, 1"),
            f"AFTER UPDATE ON {link.table} FOR EACH ROW WHEN ({changed})"),
        f"{link.table}.delete": (
            _pg_link_function(link, names[f"{link.table}.delete"], f"SELECT {columns}, -1 AS d FROM old_rows"),
            f"AFTER DELETE ON {link.table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"),
    }
    if link.split_counters:
        functions[f"{link.target}.update"] = (
            _pg_target_function(link, names[f"{link.target}.update"], link.split_counters, "NEW",
                                lambda c: f"({_link_amount(link, c, 'NEW')} - {_link_amount(link, c, 'OLD')})", "NULL"),
            f"AFTER UPDATE ON {link.target} FOR EACH ROW WHEN ({_link_moved(link, 'OLD', 'NEW', 'IS DISTINCT FROM')})")
    # BEFORE: the links are still there, with the target's status; the cascade then finds no target.
    functions[f"{link.target}.delete"] = (
        _pg_target_function(link, names[f"{link.target}.delete"], link.counters, "OLD",
                            lambda c: f"-{_link_amount(link, c, 'OLD')}", "OLD"),
        f"BEFORE DELETE ON {link.target} FOR EACH ROW")
    statements = []
    for what, (function, head) in functions.items():
        statements.append(function)
        statements.append(f"CREATE TRIGGER {names[what]} {head} EXECUTE FUNCTION {names[what]}()")
    return statements


def create_link_triggers_sql(dialect: str, links: Sequence[CountedLink] = COUNTED_LINKS) -> list[str]:
    """The statements creating the link counters' triggers for `dialect` ("sqlite" or "postgres")."""
    if dialect == "sqlite":
        return [statement for link in links for statement in _sqlite_link_triggers(link)]
    if dialect == "postgres":
        return [statement for link in links for statement in _pg_link_triggers(link)]
    raise NotImplementedError(f"no counting triggers for {dialect}")


def drop_link_triggers_sql(dialect: str, links: Sequence[CountedLink] = COUNTED_LINKS) -> list[str]:
    statements = []
    for link in links:
        for what, name in link.trigger_names().items():
            if dialect == "postgres":
                statements.append(f"DROP TRIGGER IF EXISTS {name} ON {what.split('.')[0]}")
                statements.append(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                statements.append(f"DROP TRIGGER IF EXISTS {name}")
    return statements


def recount_links_sql(links: Sequence[CountedLink] = COUNTED_LINKS, *, check: bool = False) -> list[tuple[str, str]]:
    """(counter, statement) per link counter: an UPDATE setting the wrong ones right, or with
    `check` a SELECT of how many are wrong. The links whose target exists, as the triggers count."""
    statements = []
    for link in links:
        for counter in link.counters:
            only = f" AND t.{link.split} = '{counter.only}'" if counter.only is not None else ""
            expected = (f"(SELECT COUNT(*) FROM {link.table} AS c JOIN {link.target} AS t ON t.id = c.{link.through} "
                        f"WHERE c.{link.key} = {link.parent}.id{only})")
            where = f"{counter.column} <> {expected}"
            sql = (f"SELECT COUNT(*) FROM {link.parent} WHERE {where}" if check
                   else f"UPDATE {link.parent} SET {counter.column} = {expected} WHERE {where}")
            statements.append((f"{link.parent}.{counter.column}", sql))
    return statements


async def recount_links(client: BaseDBAsyncClient, *, fix: bool = True,
                        links: Sequence[CountedLink] = COUNTED_LINKS) -> dict[str, int]:
    """`recount` for the link counters (COUNTED_LINKS): how many were wrong, by counter."""
    wrong: dict[str, int] = {}
    for name, sql in recount_links_sql(links, check=not fix):
        wrong[name] = await _execute(client, sql) if fix else (await _rows(client, sql))[0][0]
    return wrong


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
    """`recount` and `recount_links` of the default connection in one transaction, with the locks
    they need."""
    async with in_transaction() as client:
        tables = list(dict.fromkeys([*(spec.table for spec in COUNTED),
                                     *(table for link in COUNTED_LINKS for table in (link.table, link.target))]))
        if client.capabilities.dialect == "postgres":
            await client.execute_script(f"LOCK TABLE {', '.join(tables)} IN SHARE MODE")
        else:
            # SQLite: a write first takes the database's write lock, for the whole transaction.
            await client.execute_query("DELETE FROM tallies WHERE 0 = 1")
        return {**await recount(client, fix=fix), **await recount_links(client, fix=fix)}


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
