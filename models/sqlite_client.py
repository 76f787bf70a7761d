"""A Tortoise SQLite engine whose statements stop when the request waiting for them is cancelled.

Tortoise runs every SQLite statement through aiosqlite, on one connection served by one worker
thread. Cancelling the awaiting task (the request's time limit) only abandons the future: the
thread keeps running the statement, and every later statement of every request queues behind it.
Here a progress handler, called by SQLite every CHECK_EVERY virtual-machine steps, aborts the
statement (SQLITE_INTERRUPT, the same as `sqlite3_interrupt`) once its awaiting task was
cancelled, or once it ran longer than `statement_timeout` seconds (the request time limit, as
PostgreSQL's `statement_timeout`), so that the connection is free again at once.

Used through `models.db.tortoise_config`: `{"engine": "models.sqlite_client", ...}`. The client
and its transaction wrappers also record the tables each statement touches (models/touched.py).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Callable

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper

from models.touched import RecordingClient, RecordingTransaction

CHECK_EVERY = 10_000


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

        connection._execute = execute  # type: ignore[method-assign]

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
        super().__init__(file_path, **kwargs)
        self.statement_timeout = statement_timeout
        self.guard: StatementGuard | None = None

    async def create_connection(self, with_db: bool) -> None:
        fresh = self._connection is None
        await super().create_connection(with_db)
        if fresh and self._connection is not None:
            self.guard = StatementGuard(self._connection, self.statement_timeout)
            await self.guard.install()

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(RecordingSqliteTransaction(self), self._lock)


class RecordingSqliteTransaction(RecordingTransaction, SqliteTransactionWrapper):
    """Tortoise's SQLite transaction wrapper, recording (models/touched.py)."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(RecordingSqliteTransaction(self))


client_class = InterruptibleSqliteClient
