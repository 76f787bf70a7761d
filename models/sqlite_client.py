"""A Tortoise SQLite engine whose statements stop when the request waiting for them is cancelled.

Tortoise runs every SQLite statement through aiosqlite, on one connection served by one worker
thread. Cancelling the awaiting task (the request's time limit) only abandons the future: the
thread keeps running the statement, and every later statement of every request queues behind it.
Here a progress handler, called by SQLite every CHECK_EVERY virtual-machine steps, aborts the
statement (SQLITE_INTERRUPT, the same as `sqlite3_interrupt`) once its awaiting task was
cancelled, or once it ran longer than `statement_timeout` seconds (the request time limit, as
PostgreSQL's `statement_timeout`), so that the connection is free again at once.

Several processes (uvicorn workers, the CLI, a backup) share one database file; each holds one
connection. Their writes take turns on SQLite's single write lock:

- WAL (Tortoise's default): readers never wait for the writer, nor the writer for readers.
- `busy_timeout` (BUSY_TIMEOUT_MS, or `?busy_timeout=` in the URL): a statement that finds the
  write lock taken waits for it (SQLite's busy handler) instead of failing at once.
- Transactions begin IMMEDIATE: a transaction takes the write lock when it starts, so the busy
  handler applies. A DEFERRED one (Tortoise's) takes it at its first write, and when another
  process committed since its first read SQLite cannot wait: it fails at once with "database is
  locked" (SQLITE_BUSY_SNAPSHOT), whatever the timeout. Transactions here are mutations, which
  write anyway; in a process Tortoise already runs one transaction at a time.
- A bounded retry (LOCKED_RETRIES, with a short backoff) of what can be retried whole when
  "database is locked" still comes back: BEGIN IMMEDIATE, and a statement outside a transaction
  (it took no effect). Beyond that the error goes up: the request answers it as it answers any
  database error, and nothing is half-written.

Used through `models.db.tortoise_config`: `{"engine": "models.sqlite_client", ...}`. The client
and its transaction wrappers also record the tables each statement touches (models/touched.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.connection import get_connections
from tortoise.exceptions import OperationalError, TransactionManagementError

from models.touched import RecordingClient, RecordingTransaction

CHECK_EVERY = 10_000
BUSY_TIMEOUT_MS = 5_000
LOCKED_RETRIES = 4  # after the busy timeout: 4 more tries, 0.05 + 0.1 + 0.2 + 0.4 s apart
RETRY_BACKOFF_SECONDS = 0.05

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_locked(error: BaseException) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED ("database is locked"), raw or as Tortoise wraps it."""
    for current in (error, error.__cause__, error.__context__, *getattr(error, "args", ())):
        if isinstance(current, sqlite3.OperationalError):
            code = getattr(current, "sqlite_errorcode", None)
            primary = code & 0xFF if isinstance(code, int) else None
            if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in str(current):
                return True
    return False


async def retry_when_locked(attempt: Callable[[], Awaitable[T]], what: str) -> T:
    """`attempt()`, tried again up to LOCKED_RETRIES times while the database is locked: only for
    what takes no effect when it fails (a BEGIN, a statement outside a transaction)."""
    for retry in range(LOCKED_RETRIES + 1):
        try:
            return await attempt()
        except (sqlite3.OperationalError, OperationalError, TransactionManagementError) as error:
            if retry == LOCKED_RETRIES or not is_locked(error):
                raise
            log.warning("database is locked (%s): retry %d of %d", what, retry + 1, LOCKED_RETRIES)
            await asyncio.sleep(RETRY_BACKOFF_SECONDS * 2 ** retry)
    raise AssertionError("unreachable")


class StatementGuard:
    """Installed on one aiosqlite connection: wraps each call its worker thread runs."""

    def __init__(self, connection: aiosqlite.Connection, statement_timeout: float) -> None:
        self.connection = connection
        self.statement_timeout = statement_timeout
        # Written by the event loop's thread, read by the worker's (plain attributes, under the GIL).
        self.abort = False
        self.deadline = math.inf
        # Statements stopped so far, because their request was cancelled or they ran too long.
        self.stopped_cancelled = 0
        self.stopped_timed_out = 0
        original = connection._execute

        async def execute(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await original(self._timed(fn), *args, **kwargs)
            except asyncio.CancelledError:
                self._abandon()
                raise

        connection._execute = execute  # type: ignore[method-assign]  # wrapping the one method aiosqlite runs every call through

    async def install(self) -> None:
        await self.connection.set_progress_handler(self._progress, CHECK_EVERY)

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            self.deadline = time.monotonic() + self.statement_timeout if self.statement_timeout > 0 else math.inf
            try:
                return fn(*args, **kwargs)
            finally:
                self.deadline = math.inf

        return run

    def _abandon(self) -> None:
        """The awaiting task was cancelled: stop its call if it runs (or is still queued), and
        resume normal service right after it. The resume is queued on the worker behind that
        call, before the cancelled task lets go of Tortoise's connection lock, so it cannot
        abort another request's statement."""
        self.abort = True
        self.connection._tx.put_nowait((None, self._resume))

    def _resume(self) -> None:
        self.abort = False

    def _progress(self) -> int:
        if self.abort:
            self.stopped_cancelled += 1
            return 1
        if time.monotonic() > self.deadline:
            self.stopped_timed_out += 1
            return 1
        return 0


class InterruptibleSqliteClient(RecordingClient, SqliteClient):
    """Tortoise's SQLite client with a StatementGuard on its connection."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        statement_timeout = float(kwargs.pop("statement_timeout", 0) or 0)
        kwargs.setdefault("busy_timeout", BUSY_TIMEOUT_MS)  # a PRAGMA, as every other key left
        super().__init__(file_path, **kwargs)
        self.statement_timeout = statement_timeout
        self.guard: StatementGuard | None = None

    # Statements outside a transaction: retried whole while the database is locked.
    async def execute_insert(self, query: str, values: list) -> int:
        return await retry_when_locked(lambda: self._base().execute_insert(query, values), "insert")

    async def execute_many(self, query: str, values: list[list]) -> None:
        await retry_when_locked(lambda: self._base().execute_many(query, values), "many")

    async def execute_query(self, query: str, values: list | None = None) -> tuple[int, Sequence[dict]]:
        return await retry_when_locked(lambda: self._base().execute_query(query, values), "query")

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        return await retry_when_locked(lambda: self._base().execute_query_dict(query, values), "query")

    def _base(self) -> RecordingClient:
        """This client as the classes below it (recording, then Tortoise's): what each retry calls."""
        return cast(RecordingClient, super())

    async def create_connection(self, with_db: bool) -> None:
        fresh = self._connection is None
        await super().create_connection(with_db)
        if fresh and self._connection is not None:
            self.guard = StatementGuard(self._connection, self.statement_timeout)
            await self.guard.install()

    def _in_transaction(self) -> TransactionContext:
        return ReleasingTransactionContext(RecordingSqliteTransaction(self), self._lock)


class ReleasingTransactionContext(SqliteTransactionContext):
    """Tortoise's SQLite transaction context, letting go of the process's transaction lock when
    BEGIN fails (still locked after the retries) or its task is cancelled while BEGIN waits.
    Tortoise's keeps the lock then, and every later transaction of the process would wait forever:
    unreachable while BEGIN was DEFERRED (it takes no lock), reachable with IMMEDIATE."""

    async def __aenter__(self) -> Any:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


def _roll_back_if_open(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.rollback()


class RecordingSqliteTransaction(RecordingTransaction, SqliteTransactionWrapper):
    """Tortoise's SQLite transaction wrapper, recording (models/touched.py), beginning IMMEDIATE."""

    async def begin(self) -> None:
        await self._connection.commit()

        async def begin_immediate() -> None:
            await self._connection.execute("BEGIN IMMEDIATE")

        try:
            await retry_when_locked(begin_immediate, "begin")
        except BaseException as exc:
            # A BEGIN whose task was cancelled while it waited for the lock may still run in the
            # connection's thread: end what it opened (queued behind it), or the process would hold
            # the write lock with no transaction of its own to release it.
            await self._connection._execute(_roll_back_if_open, self._connection._conn)
            if isinstance(exc, sqlite3.OperationalError):
                raise TransactionManagementError(exc) from exc
            raise

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(RecordingSqliteTransaction(self))


client_class = InterruptibleSqliteClient
