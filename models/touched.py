"""Which tables a piece of work read and wrote, seen at the one place SQL is executed.

Why: the response cache (gql/cache) keeps an answer only while nothing it was built from has
changed, so it must know what each answer read and what each write changed. Tortoise sends every
statement through its DB client (`execute_query`, `execute_query_dict`, `execute_insert`,
`execute_many`, `execute_script`) as SQL with double-quoted identifiers and the values apart, on
SQLite and PostgreSQL alike, so a statement's tables are read off its text (`FROM "t"`,
`JOIN "t"`; `INSERT INTO "t"`, `UPDATE "t"`, `DELETE FROM "t"`) without parsing anybody's input.

Our DB clients (models/sqlite_client.py, models/postgres_client.py, and their transaction
wrappers) mix in `RecordingClient`, which does two things with each statement:
- its tables go to the `Touched` recorder the current task set with `recording()`: a request
  sets one around its execution, and so learns which tables its answer was built from (the
  dataloaders' batches run in tasks that inherit the request's context, so they count too),
  and the statements are counted (the request log's and the metrics' statements per request);
- a write is announced to the `on_commit` listeners (the cache's invalidation) once it is
  committed: right after the statement in autocommit, after the outermost COMMIT inside a
  transaction (writes of a rolled-back one are dropped). The announcement is awaited before
  control returns to the code that wrote, so a caller that has seen its write succeed can never
  be answered from a cache entry made before it. Listeners must not touch the database (on
  SQLite the connection is still locked by the committing transaction).

A write also changes tables no statement names: the counting triggers' (models/counted.py,
`COUNTED` and `COUNTED_LINKS`, read through `trigger_writes()`: a new post moves `boards`,
`users` and `tallies`, a post's status change and a `post_tags` row move `tags`) and, for a
DELETE, its foreign keys' ON DELETE CASCADE / SET NULL (read from the models). `changed_by` adds both to a statement's
tables. A statement whose tables cannot be read off (a script, an unquoted name) counts as
writing everything (`ALL`) when it writes, and makes the recorder `opaque` when it reads: the
cache does not keep what it cannot invalidate.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

if TYPE_CHECKING:
    # What the mixins below are mixed in before (models/sqlite_client.py, models/postgres_client.py),
    # as the checker sees it: their `super()` calls reach Tortoise's client and transaction wrapper.
    _Client = BaseDBAsyncClient
    _Transaction = TransactionalDBClient
else:
    _Client = _Transaction = object

ALL = "*"
"""The pseudo-table a write touches when its tables are unknown: every cached answer depends on it."""

Listener = Callable[[frozenset[str]], Awaitable[None]]

logger = logging.getLogger("models.touched")


@dataclass(frozen=True)
class Statement:
    read: frozenset[str] = frozenset()
    written: frozenset[str] = frozenset()
    # Reads a table under a name that is not double-quoted: what it read is unknown.
    opaque: bool = False
    # Removes rows (DELETE, TRUNCATE): the foreign keys' ON DELETE actions follow.
    deletes: bool = False


@dataclass
class Touched:
    """What the statements run under one `recording()` read and wrote (written: before commit),
    and how many there were. A recording inside another (the cache's, inside a request's) adds
    each statement to the one around it too."""

    read: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)
    opaque: bool = False
    statements: int = 0
    outer: Touched | None = None

    def add(self, statement: Statement) -> None:
        recorder: Touched | None = self
        while recorder is not None:
            recorder.read |= statement.read
            recorder.written |= statement.written
            recorder.opaque = recorder.opaque or statement.opaque
            recorder.statements += 1
            recorder = recorder.outer


_current: ContextVar[Touched | None] = ContextVar("touched", default=None)
_listeners: list[Listener] = []


@contextmanager
def recording() -> Iterator[Touched]:
    """Record the tables the statements run inside the block (and the tasks it starts) touch."""
    touched = Touched(outer=_current.get())
    token = _current.set(touched)
    try:
        yield touched
    finally:
        _current.reset(token)


def on_commit(listener: Listener) -> Callable[[], None]:
    """Call `listener(tables)` after every committed write; returns the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


async def announce(tables: frozenset[str]) -> None:
    """Tell the listeners these tables changed; shielded, so that a request cancelled right after
    its commit still invalidates what it changed."""
    if _listeners and tables:
        await asyncio.shield(_tell(tables))


async def _tell(tables: frozenset[str]) -> None:
    for listener in _listeners:
        try:
            await listener(tables)
        except Exception:  # one listener's failure must not fail the write, nor deafen the others
            logger.exception("a commit listener failed for %s", sorted(tables))


_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "TRUNCATE", "CREATE", "DROP", "ALTER"})
_NAMED = re.compile(r'\b(FROM|JOIN|INTO|UPDATE|TRUNCATE(?:\s+TABLE)?)\s+(?:"([^"]+)"|(\S+))', re.IGNORECASE)
_VERB = re.compile(r"[\s(]*(\w+)")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def parse(sql: str) -> Statement:
    """The tables one statement of Tortoise's reads and writes (remembered: statements repeat)."""
    verb_match = _VERB.match(sql)
    verb = verb_match.group(1).upper() if verb_match else ""
    writes = verb in _WRITE_VERBS or (verb == "WITH" and _WRITE_WORD.search(sql) is not None)
    read: set[str] = set()
    written: set[str] = set()
    opaque = False
    for keyword, quoted, bare in _NAMED.findall(sql):
        keyword = keyword.upper()
        if keyword == "UPDATE" and verb != "UPDATE":
            continue  # `SELECT ... FOR UPDATE`, `ON CONFLICT DO UPDATE SET`: not a table
        if not quoted:
            if not bare.startswith(("(", "$", "?")):
                opaque = True  # an unquoted name: not Tortoise's SQL, nothing certain about it
            continue
        if keyword in ("FROM", "JOIN"):
            read.add(quoted)
            if verb == "DELETE" and not written:
                written.add(quoted)  # DELETE FROM "t": its first FROM
        elif writes:
            written.add(quoted)
    if writes and (opaque or not written or verb in ("CREATE", "DROP", "ALTER", "WITH")):
        written = {ALL}
    return Statement(frozenset(read), frozenset(written), opaque, verb in ("DELETE", "TRUNCATE"))


def changed_by(statement: Statement) -> frozenset[str]:
    """The tables a write changes: those it names, and what triggers and cascades change with
    them (remembered per set of tables: statements repeat)."""
    written = statement.written
    if not written or ALL in written:
        return written
    key = (written, statement.deletes)
    changed = _changed.get(key)
    if changed is None:
        graph = _graph()
        if graph is None:
            return frozenset({ALL})  # the models are not known here: nothing can be ruled out
        changed = _changed[key] = _closure(written, statement.deletes, *graph)
    return changed


_changed: dict[tuple[frozenset[str], bool], frozenset[str]] = {}
Graph = tuple[dict[str, set[str]], dict[str, set[tuple[str, bool]]]]
_graph_known: Graph | None = None


def _graph() -> Graph | None:
    """What a write to each table changes besides: (trigger targets, ON DELETE children with
    whether they are deleted too (CASCADE) or updated (SET NULL, SET DEFAULT))."""
    global _graph_known
    if _graph_known is not None:
        return _graph_known
    from tortoise import Tortoise
    from tortoise.fields.relational import OnDelete

    try:
        from models.counted import trigger_writes
    except ImportError:  # no counting triggers
        trigger_writes = dict
    # COUNTED's and COUNTED_LINKS' triggers: a new post moves `boards`, `users`, `tallies`; a
    # post's status change or deletion and a post_tags row coming or going move `tags`.
    triggers: dict[str, set[str]] = defaultdict(set, trigger_writes())
    cascades: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    apps = Tortoise.apps
    if apps is None:  # Tortoise not initialised in this context
        return None
    models = list(apps.get_models_iterable())
    if not models:
        return None
    for model in models:
        meta = model._meta
        for name in (*meta.fk_fields, *meta.o2o_fields):
            relation = meta.fields_map[name]
            if relation.on_delete not in (OnDelete.RESTRICT, OnDelete.NO_ACTION):
                cascades[relation.related_model._meta.db_table].add((meta.db_table, relation.on_delete is OnDelete.CASCADE))
        for name in meta.m2m_fields:
            relation = meta.fields_map[name]
            for side in (meta.db_table, relation.related_model._meta.db_table):
                cascades[side].add((relation.through, True))
    _graph_known = (dict(triggers), dict(cascades))
    return _graph_known


def _closure(written: frozenset[str], deletes: bool, triggers: dict[str, set[str]],
             cascades: dict[str, set[tuple[str, bool]]]) -> frozenset[str]:
    seen = {(table, deletes) for table in written}
    pending = list(seen)
    while pending:
        table, deleting = pending.pop()
        nexts = {(target, False) for target in triggers.get(table, ())}
        if deleting:
            nexts |= cascades.get(table, set())
        for step in nexts - seen:
            seen.add(step)
            pending.append(step)
    return frozenset(table for table, _ in seen)


SCRIPT = Statement(written=frozenset({ALL}), opaque=True, deletes=True)


class RecordingClient(_Client):
    """Mixed in before a Tortoise DB client class: records and announces each statement's tables."""

    # Set by gql/ops/tracing.py when tracing is on (a function of the client, the SQL and the running
    # statement): awaits the statement inside a span. None (off) costs a statement one look-up in
    # `_traced`; models/ stays free of gql/ and of OpenTelemetry.
    trace_statement: ClassVar[Callable[[Any, str, Awaitable[Any]], Awaitable[Any]] | None] = None

    async def execute_insert(self, query: str, values: list) -> Any:
        try:
            return await self._traced(query, super().execute_insert(query, values))
        finally:
            await self._touch(parse(query))

    async def execute_many(self, query: str, values: list) -> Any:
        try:
            return await self._traced(query, super().execute_many(query, values))
        finally:
            await self._touch(parse(query))

    async def execute_query(self, query: str, values: list | None = None) -> Any:
        try:
            return await self._traced(query, super().execute_query(query, values))
        finally:
            await self._touch(parse(query))

    async def execute_query_dict(self, query: str, values: list | None = None) -> Any:
        try:
            return await self._traced(query, super().execute_query_dict(query, values))
        finally:
            await self._touch(parse(query))

    async def execute_script(self, query: str) -> Any:
        try:
            return await self._traced(query, super().execute_script(query))
        finally:
            await self._touch(SCRIPT)

    def _traced(self, query: str, running: Awaitable[Any]) -> Awaitable[Any]:
        return running if self.trace_statement is None else self.trace_statement(query, running)

    async def _touch(self, statement: Statement) -> None:
        touched = _current.get()
        if touched is not None:
            touched.add(statement)
        if not statement.written:
            return
        changed = changed_by(statement)
        if isinstance(self, TransactionalDBClient):
            _outermost(self).__dict__.setdefault("_uncommitted", set()).update(changed)
        else:
            await announce(changed)  # autocommit: the statement was its own transaction


class RecordingTransaction(RecordingClient, _Transaction):
    """Mixed in before a Tortoise transaction wrapper: announces its writes after the outermost
    COMMIT (a nested wrapper is a savepoint: its writes wait for the outermost one)."""

    async def commit(self) -> None:
        await super().commit()  # type: ignore[safe-super]  # the wrapper this is mixed in before implements it
        if _outermost(self) is self:
            await announce(frozenset(self.__dict__.pop("_uncommitted", ())))

    async def rollback(self) -> None:
        await super().rollback()  # type: ignore[safe-super]  # the wrapper this is mixed in before implements it
        if _outermost(self) is self:
            self.__dict__.pop("_uncommitted", None)


def _outermost(wrapper: Any) -> Any:
    while isinstance(getattr(wrapper, "_parent", None), TransactionalDBClient):
        wrapper = wrapper._parent
    return wrapper
