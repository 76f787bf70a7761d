"""Migrations keep data: a database built at the first migration and filled, every table, with
rows generated from that migration's own columns, is migrated one step at a time to the head;
after every step each row written so far is still there, with the same value in every column
that still exists and the documented default in every column added since. Rows are added again
after every step (tables created later get theirs), and the steps are read from the migration
graph: a new migration file is covered without touching this test.

What a migration changes on purpose is declared here (INTENDED): the counters that 0003/0004
compute (and the triggers keep from then on) are checked by `recount` instead of by value; 0008
deletes the Star profiles of members; 0009 re-derives excerpts (each must equal its body's). A data migration also registers
the rows it is about (SCENARIOS: built with SQL just before it runs, checked after it): 0008's
demoted members, and that running it again changes nothing.

Runs in a scratch database (a SQLite file; a PostgreSQL database dropped after) through an ORM
context of its own, so the session's database is never touched. tests/test_counters.py checks
0003/0004's counts on hand-written rows through the real `migrate` command.
"""

from __future__ import annotations

import itertools
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable
from uuid import UUID

import pytest
from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.migration import Migration
from tortoise.migrations.schema_generator.state import State
from tortoise.migrations.schema_generator.state_apps import StateApps
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.counted import COUNTED, COUNTED_LINKS, Tally, recount_all
from models.db import tortoise_config
from models.text import excerpt
from tests.conftest import BACKEND, _admin_dsn

APP = "models"
# Rows added to every table before each step: row 0 leaves every nullable column NULL, row 1 fills it.
ROWS_PER_STEP = 2

# Columns the counting triggers keep (models/counted.py): written 0 like a new row's, computed by
# 0003/0004 from the rows, then moved by the triggers; checked by `recount` instead of by value.
COUNTER_COLUMNS = {(counter.parent, counter.column) for spec in COUNTED for counter in spec.counters} | {
    (counter.parent, counter.column) for link in COUNTED_LINKS for counter in link.counters}
# Tables that hold only what triggers derive from other tables: nothing to fill.
DERIVED_TABLES = {Tally._meta.db_table}


@dataclass
class Intended:
    """What one migration changes in existing rows on purpose."""

    # (table, column) it rewrites -> what each row must hold after it (from the row as it stands then)
    rewrites: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = dataclass_field(default_factory=dict)
    # Which rows it deletes, from the snapshot before it: table -> predicate on (row, snapshot).
    deletes: dict[str, Callable[[dict[str, Any], "Snapshot"], bool]] = dataclass_field(default_factory=dict)


def _profile_of_a_member(row: dict[str, Any], before: Snapshot) -> bool:
    user = before.rows["users"].get(row["user_id"])
    return user is not None and user["role"] == "MEMBER"


INTENDED: dict[str, Intended] = {
    "0008_star_profiles_of_demoted_members": Intended(deletes={"star_profiles": _profile_of_a_member}),
    "0009_excerpts_from_bodies": Intended(rewrites={("posts", "excerpt"): lambda row: excerpt(row["body"])}),
}


# --- A scratch database and an ORM context of its own ----------------------------------------------


@asynccontextmanager
async def scratch_database(tmp_path: Path, name: str) -> AsyncIterator[str]:
    """An empty database for one test, on the session's backend: a SQLite file in `tmp_path`, or a
    PostgreSQL database next to TEST_POSTGRES_URL's (dropped afterwards)."""
    if BACKEND != "postgres":
        yield f"sqlite://{tmp_path / (name + '.sqlite3')}"
        return
    import asyncpg

    base = os.environ["TEST_POSTGRES_URL"]
    database = f"community_api_{name}_{os.getpid()}"
    admin = await asyncpg.connect(_admin_dsn(base))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
        yield base.rsplit("/", 1)[0] + f"/{database}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


class MigratingDatabase:
    """A database migrated one migration at a time, in a TortoiseContext of its own (the session's
    ORM stays on the session's database)."""

    def __init__(self, url: str) -> None:
        self.config = tortoise_config(url)

    @property
    def client(self) -> BaseDBAsyncClient:
        return self.context.connections.get("default")

    async def __aenter__(self) -> MigratingDatabase:
        self.context = TortoiseContext()
        await self.context.__aenter__()
        await self.context.init(config=self.config)
        self.executor = MigrationExecutor(self.client, self.config["apps"])
        self.state = State(models={}, apps=StateApps(default_connections={APP: "default"}))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.context.__aexit__(*exc)

    async def migrations(self) -> list[Migration]:
        """The app's migrations not applied yet, in the order `migrate` applies them."""
        return [step.migration for step in await self.executor.plan() if step.migration.app_label == APP]

    async def migrate_to(self, name: str) -> None:
        """Apply the migrations not applied yet, up to `name` (`migrate --target` without its
        replay of the applied ones' state, which costs as much as migrating again)."""
        pending = await self.migrations()
        for migration in pending[:[m.name for m in pending].index(name) + 1]:
            await self.apply(migration, self.state)

    async def apply(self, migration: Migration, state: State) -> None:
        """Apply one migration as `MigrationExecutor.migrate` does (its schema editor, one transaction,
        recorded as applied), moving `state` forward with it: the state the previous step left is
        the one this step starts from, so nothing is replayed."""
        await self.executor.recorder.ensure_schema(self.executor._schema_editor(atomic=False))
        editor = self.executor._schema_editor(atomic=migration.atomic)
        if editor.atomic_migration:
            async with in_transaction("default") as connection:
                editor.client = connection
                await migration.apply(state, schema_editor=editor)
        else:
            await migration.apply(state, schema_editor=editor)
        await self.executor.recorder.record_applied(APP, migration.name)

    def mark(self, n: int) -> str:
        return f"${n}" if self.client.capabilities.dialect == "postgres" else "?"


# --- Rows from a migration's columns ---------------------------------------------------------------


@dataclass
class Table:
    """One model's table as a migration state has it: its columns and the fields they store."""

    name: str
    pk: str
    generated_pk: bool
    columns: dict[str, fields.Field]  # column -> field

    def references(self) -> dict[str, str]:
        """column -> the table its foreign key points at."""
        return {column: field.reference.related_model._meta.db_table for column, field in self.columns.items()
                if getattr(field, "reference", None) is not None}


def tables_of(state: State) -> dict[str, Table]:
    tables = {}
    for model_state in state.models.values():
        model: type[Model] = state.apps.get_model(f"{model_state.app}.{model_state.name}")
        meta = model._meta
        pk_field = meta.fields_map[meta.pk_attr]
        tables[meta.db_table] = Table(
            name=meta.db_table, pk=meta.fields_db_projection[meta.pk_attr],
            generated_pk=bool(getattr(pk_field, "generated", False)),
            columns={column: meta.fields_map[name] for name, column in meta.fields_db_projection.items()})
    return tables


def parents_first(tables: dict[str, Table]) -> list[Table]:
    ordered: list[Table] = []
    pending = dict(tables)
    while pending:
        ready = [t for t in pending.values()
                 if all(parent == t.name or parent not in pending for parent in t.references().values())]
        assert ready, f"foreign keys in a cycle: {sorted(pending)}"
        for table in sorted(ready, key=lambda t: t.name):
            ordered.append(pending.pop(table.name))
    return ordered


_serial = itertools.count(1)


def value_for(table: Table, column: str, row: int, parents: dict[str, list[Any]]) -> Any:
    """A value the column's field accepts, distinct per row (unique columns), as a driver takes it."""
    field = table.columns[column]
    n = next(_serial)
    if field.null and row == 0:
        return None
    if column in table.references():
        return parents[table.references()[column]][row]
    if (table.name, column) in COUNTER_COLUMNS:
        return 0
    enum_type = getattr(field, "enum_type", None)
    if enum_type is not None:
        members = list(enum_type)
        return members[n % len(members)].value
    if isinstance(field, fields.BooleanField):
        return n % 2 == 0
    if isinstance(field, (fields.IntField, fields.BigIntField, fields.SmallIntField)):
        return n
    if isinstance(field, fields.DatetimeField):
        return datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc) + timedelta(minutes=n)
    if isinstance(field, fields.DateField):
        day = date(1990, 1, 1) + timedelta(days=n)
        return day.isoformat() if BACKEND == "sqlite" else day
    if isinstance(field, fields.JSONField):
        return f'["en", "x{n}"]'
    if isinstance(field, fields.FloatField):
        return n + 0.5
    if isinstance(field, fields.DecimalField):
        return Decimal(n) / 4
    if isinstance(field, fields.UUIDField):
        return str(UUID(int=n)) if BACKEND == "sqlite" else UUID(int=n)
    if isinstance(field, fields.TextField):
        return f"Line one of {table.name}.{column} #{n}\nl\u00edne two: 'quoted' \"double\" \u2713"
    if isinstance(field, fields.CharField):
        text = f"{table.name[:6]}-{column[:8]}-\u00e9'{n}"
        return text[-field.max_length:]
    raise AssertionError(f"no value for {table.name}.{column} ({type(field).__name__}): teach value_for this field")


async def fill(db: MigratingDatabase, tables: dict[str, Table]) -> None:
    """ROWS_PER_STEP new rows in every table, parents first; each child row points at the parent
    rows made in the same round (so a one-to-one or a unique pair never repeats)."""
    made: dict[str, list[Any]] = {}
    for table in parents_first(tables):
        if table.name in DERIVED_TABLES:
            continue
        made[table.name] = []
        for row in range(ROWS_PER_STEP):
            columns = [c for c in table.columns if not (c == table.pk and table.generated_pk)]
            values = [value_for(table, column, row, made) for column in columns]
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(db.mark(n) for n in range(1, len(columns) + 1))
            inserted = await db.client.execute_query_dict(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}) RETURNING "{table.pk}"', values)
            made[table.name].append(inserted[0][table.pk])


@dataclass
class Snapshot:
    """Every row of every state table (but the derived ones), by primary key, as the driver returns it."""

    rows: dict[str, dict[Any, dict[str, Any]]]
    tables: dict[str, Table]


async def snapshot(db: MigratingDatabase, tables: dict[str, Table]) -> Snapshot:
    rows = {}
    for table in tables.values():
        if table.name in DERIVED_TABLES:
            continue  # `recount` checks them
        names = ", ".join(f'"{c}"' for c in table.columns)
        found = await db.client.execute_query_dict(f'SELECT {names} FROM "{table.name}"')
        rows[table.name] = {row[table.pk]: dict(row) for row in found}
    return Snapshot(rows, tables)


def documented_default(field: fields.Field) -> Any:
    """What a row that existed before the column gets: its db_default, else its default, else NULL."""
    if field.has_db_default():
        return field.db_default
    if field.default is not None and not callable(field.default):
        return field.default.value if hasattr(field.default, "value") else field.default
    return None


def same(stored: Any, expected: Any) -> bool:
    if isinstance(expected, bool) and not isinstance(stored, bool):
        return stored == int(expected)  # SQLite stores booleans as 0/1
    return stored == expected


def differences(kept: dict[str, dict[Any, dict[str, Any]]], before: Snapshot, after: Snapshot,
                migration: str) -> list[str]:
    """How `after` (the database after `migration`) differs from the rows `kept` (every row written so far)."""
    intended = INTENDED.get(migration, Intended())
    found = []
    for table_name, rows in kept.items():
        if table_name not in after.tables:
            found.append(f"{migration}: table {table_name} is gone with its {len(rows)} rows")
            continue
        table, stored = after.tables[table_name], after.rows[table_name]
        deleted = intended.deletes.get(table_name)
        for pk, row in list(rows.items()):
            if deleted is not None and deleted(before.rows[table_name].get(pk, row), before):
                assert pk not in stored, f"{migration}: {table_name} {pk} should be deleted"
                del rows[pk]
                continue
            if pk not in stored:
                found.append(f"{migration}: {table_name} row {pk} is gone")
                continue
            for column, field in table.columns.items():
                if (table_name, column) in COUNTER_COLUMNS:
                    continue
                rewritten = intended.rewrites.get((table_name, column))
                if rewritten is not None:
                    expected = rewritten(stored[pk])
                else:
                    expected = row[column] if column in row else documented_default(field)
                if not same(stored[pk][column], expected):
                    found.append(f"{migration}: {table_name} {pk}.{column}: {expected!r} became {stored[pk][column]!r}")
    return found


# --- Data migrations: the rows each is about, built just before it runs ---------------------------

MIGRATION_0008 = "0008_star_profiles_of_demoted_members"
DEMOTED_ROLES = ["MEMBER", "STAR", "MEMBER", "MODERATOR", "MEMBER", "ADMIN", "MEMBER", "MEMBER"]


async def _rows(db: MigratingDatabase, sql: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.client.execute_query_dict(sql, values)]


async def users_with_profiles(db: MigratingDatabase) -> list[int]:
    """Before 0008: a user of each of DEMOTED_ROLES with a Star profile (members demoted before
    change_role kept theirs), and a member who never was a Star; in plain SQL."""
    ids = []
    for n, role in enumerate(DEMOTED_ROLES):
        user = await _rows(db, 'INSERT INTO "users" ("handle", "display_name", "role", "bio", "created_at")'
                               f' VALUES ({db.mark(1)}, {db.mark(2)}, {db.mark(3)}, \'\', {db.mark(4)}) RETURNING "id"',
                           [f"demoted_{n}", f"Demoted {n}", role, datetime(2025, 1, 1, tzinfo=timezone.utc)])
        ids.append(user[0]["id"])
        await db.client.execute_query(
            'INSERT INTO "star_profiles" ("user_id", "star_since", "languages")'
            f' VALUES ({db.mark(1)}, {db.mark(2)}, \'["en"]\')',
            [ids[-1], datetime(2024, 6, 1, tzinfo=timezone.utc)])
    await db.client.execute_query('INSERT INTO "users" ("handle", "display_name", "role", "bio", "created_at")'
                                  " VALUES ('never_a_star', 'Plain', 'MEMBER', '', '2025-01-01 00:00:00+00:00')")
    return ids


async def members_lost_their_profiles(db: MigratingDatabase, ids: list[int]) -> None:
    """0008 did what change_role does on a demotion, for the members only, with an audit record each."""
    from importlib import import_module

    marks = ", ".join(db.mark(n) for n in range(1, len(ids) + 1))
    kept = await _rows(db, f'SELECT "user_id" FROM "star_profiles" WHERE "user_id" IN ({marks}) ORDER BY "user_id"', ids)
    assert [row["user_id"] for row in kept] == [pk for pk, role in zip(ids, DEMOTED_ROLES) if role != "MEMBER"]
    audit = await _rows(db, 'SELECT "actor_id", "target_kind", "target_id", "action", "reason" FROM "moderation_actions"'
                            f' WHERE "target_id" IN ({marks}) ORDER BY "target_id"', ids)
    assert [(row["actor_id"], row["target_kind"], row["target_id"], row["action"]) for row in audit] == [
        (None, "USER", pk, "DROP_STAR_PROFILE") for pk, role in zip(ids, DEMOTED_ROLES) if role == "MEMBER"]
    assert all("0008" in row["reason"] for row in audit)
    roles = await _rows(db, f'SELECT "role" FROM "users" WHERE "id" IN ({marks}) ORDER BY "id"', ids)
    assert [row["role"] for row in roles] == DEMOTED_ROLES  # the demotions happened long ago
    # Again, on the now clean database (as on any without such members): nothing changes, no
    # audit record is added.
    before = await everything(db)
    async with in_transaction("default") as connection:
        await import_module(f"models.migrations.{MIGRATION_0008}").drop_profiles_of_members(
            None, SimpleNamespace(client=connection))
    assert await everything(db) == before


async def everything(db: MigratingDatabase) -> dict[str, list[dict[str, Any]]]:
    """Every table's size, and every row of the tables 0008 writes."""
    tables = [row["name"] for row in await _rows(db, "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
                                                     if BACKEND == "postgres" else
                                                     "SELECT name FROM sqlite_master WHERE type = 'table'")]
    counts = await _rows(db, "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{t}") AS "{t}"' for t in tables
                                                   if not t.startswith("sqlite_")))
    return {"counts": counts, "star_profiles": await _rows(db, 'SELECT * FROM "star_profiles" ORDER BY "id"'),
            "moderation_actions": await _rows(db, 'SELECT * FROM "moderation_actions" ORDER BY "id"')}


@dataclass
class Scenario:
    """The rows a data migration is about, built (SQL of the schema before it) just before it runs,
    and what it must have done with them."""

    build: Callable[[MigratingDatabase], Awaitable[Any]]
    check: Callable[[MigratingDatabase, Any], Awaitable[None]]


SCENARIOS: dict[str, Scenario] = {
    MIGRATION_0008: Scenario(users_with_profiles, members_lost_their_profiles),
}


# --- The test: one chain of migrations, every step checked -----------------------------------------


@pytest.mark.slow  # every migration applied once, on a scratch database: the price of one `migrate`
async def test_every_row_survives_every_migration(db_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # `db_url`: without a PostgreSQL server this skips with the reason, as every database test does.
    from importlib import import_module

    # 0008 in batches of two: the generated rows and its scenario's take several batches.
    monkeypatch.setattr(import_module(f"models.migrations.{MIGRATION_0008}"), "BATCH", 2)
    async with scratch_database(tmp_path, "keep_data") as url, MigratingDatabase(url) as db:
        migrations = await db.migrations()
        assert [m.name for m in migrations][:1] == ["0001_initial"] and len(migrations) >= 9
        assert set(SCENARIOS) | set(INTENDED) <= {m.name for m in migrations}
        kept: dict[str, dict[Any, dict[str, Any]]] = {}
        before: Snapshot | None = None
        for migration in migrations:
            scenario = SCENARIOS.get(migration.name)
            built = await scenario.build(db) if scenario else None
            await db.apply(migration, db.state)
            tables = tables_of(db.state)
            if before is not None:
                after = await snapshot(db, tables)
                problems = differences(kept, before, after, migration.name)
                assert not problems, "\n".join(problems[:20])
                for table_name, rows in kept.items():  # columns added since: as stored now
                    for pk in rows:
                        rows[pk] = after.rows[table_name][pk]
            if scenario:
                await scenario.check(db, built)
            await fill(db, tables)
            before = await snapshot(db, tables)
            for table_name, rows in before.rows.items():
                kept.setdefault(table_name, {}).update(rows)
        assert not [name for name, rows in kept.items() if not rows]
        assert not await db.migrations()
        # The counters the migrations computed, and the triggers kept since, equal their rows.
        assert not any((await recount_all(fix=False)).values()), await recount_all(fix=False)
