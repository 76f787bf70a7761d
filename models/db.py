"""Database configuration shared by the server, the CLI and Tortoise's own migration tool."""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from models import MODEL_MODULES

DEFAULT_DATABASE_URL = "sqlite://var/community.sqlite3"

def tortoise_config(database_url: str, *, statement_timeout_seconds: float = 0, pool_size: int = 0) -> dict[str, Any]:
    """Tortoise's configuration for `database_url`.

    Every statement is bounded by `statement_timeout_seconds` (0: unbounded; the server passes its
    REQUEST_TIMEOUT_SECONDS), so that work a request's time limit gave up on also stops in the
    database: PostgreSQL (asyncpg) gets it as the server-side
    `statement_timeout` of every pooled connection; SQLite gets the engine of
    `models.sqlite_client`, which also stops the statement of a cancelled request at once.
    Both engines (`models.sqlite_client`, `models.postgres_client`) record the tables each
    statement touches, for the response cache's invalidation (models/touched.py).
    `pool_size` (0: Tortoise's default of 5) bounds PostgreSQL's pool unless the URL says `maxsize`.
    """
    return {
        "connections": {"default": _connection(database_url, statement_timeout_seconds, pool_size)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str, statement_timeout_seconds: float, pool_size: int) -> dict[str, Any] | str:
    connection = expand_db_url(database_url)
    credentials = connection["credentials"]
    if connection["engine"] == "tortoise.backends.sqlite":
        connection["engine"] = "models.sqlite_client"
        credentials.setdefault("statement_timeout", statement_timeout_seconds)
    elif connection["engine"] == "tortoise.backends.asyncpg":
        connection["engine"] = "models.postgres_client"  # asyncpg's, recording (models/touched.py)
        credentials.setdefault("reset", keep_session)
        if pool_size > 0:
            credentials.setdefault("maxsize", pool_size)
        # No JIT compilation: our statements run for milliseconds, and PostgreSQL compiles when a
        # plan's estimated cost passes `jit_above_cost`, estimates of branches that never run
        # included (search's plans chosen in SQL: 84 ms of compiling for a 3 ms statement).
        settings = {**(credentials.get("server_settings") or {}), "jit": "off"}
        if statement_timeout_seconds > 0:
            # A server setting of each connection (milliseconds): PostgreSQL itself cancels a
            # statement that runs longer, whatever happens to the client that sent it.
            settings["statement_timeout"] = str(int(statement_timeout_seconds * 1000))
        credentials["server_settings"] = settings
    return connection


async def keep_session(connection: Any) -> None:
    """asyncpg's pool `reset`: nothing beyond what the pool always does on release (roll back an
    open transaction, drop listeners).

    Tortoise takes a pooled connection for every statement, and asyncpg's default reset sends one
    more query on each release (advisory unlock, CLOSE ALL, UNLISTEN *, RESET ALL): a second round
    trip per statement, 8% of the landing page's time under load. We keep no session state on
    pooled connections (no SET, LISTEN, cursors or advisory locks; the statement timeout is a
    connection setting given at connect), so there is nothing for it to undo.
    """


# Socket errors that mean "the database's host cannot be reached", whatever the OSError subclass.
_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.EHOSTUNREACH,
                   errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ETIMEDOUT, errno.ENOTCONN}
_DRIVER_MODULES = ("asyncpg", "tortoise", "aiosqlite", "models.postgres_client", "models.sqlite_client")


def is_unreachable(error: BaseException | None) -> bool:
    """Whether `error` (or anything in its chain: a GraphQL error's `original_error`, `__cause__`,
    `__context__`) says the database cannot be reached, as opposed to a statement that failed.

    Found by cutting a TCP forwarder under a live server (tests/test_store_faults.py): asyncpg's
    pool raises a bare `ConnectionRefusedError` while it reconnects; a statement in flight gets
    `ConnectionDoesNotExistError`; a pool Tortoise cannot open is `DBConnectionError`. A bare
    socket error counts only when it came up through the driver (so a resolver's own I/O does not).
    A SQLite database another process kept locked past the busy timeout and the retries counts too
    ("database is locked": nothing was written, and the client may try again shortly).
    """
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _unreachable(current):
            return True
        pending.extend((getattr(current, "original_error", None), current.__cause__, current.__context__))
    return False


def _unreachable(error: BaseException) -> bool:
    from tortoise.exceptions import DBConnectionError

    from models.sqlite_client import is_locked

    if isinstance(error, DBConnectionError):
        return True
    if is_locked(error):
        # SQLite's write lock still held by another process after the busy timeout and the
        # retries (models/sqlite_client.py): nothing was written, and trying again shortly works.
        return True
    try:
        import asyncpg.exceptions as pg  # type: ignore[import-untyped]  # asyncpg ships no type information
    except ImportError:  # SQLite-only installs
        pass
    else:
        if isinstance(error, (pg.PostgresConnectionError, pg.CannotConnectNowError, pg.AdminShutdownError,
                              pg.CrashShutdownError)):
            return True
        if isinstance(error, pg.InterfaceError) and "closed" in str(error):
            return True  # "connection is closed", "pool is closed"
    if isinstance(error, (ConnectionError, socket.gaierror)) or (
            isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS):
        return _through_driver(error)
    return False


def _through_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_globals.get("__name__", "").startswith(_DRIVER_MODULES):
            return True
        traceback = traceback.tb_next
    return False


# Read by `tortoise -c models.db.TORTOISE_ORM makemigrations` when a model changes.
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
