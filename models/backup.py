"""Backup and restore of a SQLite database file (`community-api backup PATH` / `restore PATH`).

A backup is a consistent copy of a live database through SQLite's online backup API: it copies
STEP_PAGES pages at a time and pauses after each step, and the servers' writes go on between the
steps (in WAL they are not even held up by a step). SQLite restarts a stepwise copy when another process writes
meanwhile; after MAX_RESTARTS restarts the copy is made in one step instead (one read snapshot:
in WAL, writers still proceed). The copy is written next to PATH under a temporary name, checked
(`PRAGMA integrity_check`), synced and renamed to PATH: PATH never holds half a backup.

A restore replaces the database file with a backup the same way (a checked copy next to it,
renamed over it), and refuses while another process has the database open: a server would go on
writing into the replaced file, and its write-ahead log could be applied to the new one. It
checks that by taking the database out of WAL (SQLite refuses while another connection has it
open) and holds an exclusive lock until the new file is in place. Restoring an older backup
leaves its schema as it was: `community-api migrate` (or `serve`) brings it up to date.

PostgreSQL has its own tools: `pg_dump -Fc` and `pg_restore --clean --if-exists` (README, Backups).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tortoise.backends.base.config_generator import expand_db_url

STEP_PAGES = 1024  # 4 MiB a step with SQLite's default 4 KiB pages
STEP_PAUSE_SECONDS = 0.005  # after each step: the writers' turn (Python pauses only on SQLITE_BUSY)
BUSY_SLEEP_SECONDS = 0.05  # before trying a step again that found the database busy
MAX_RESTARTS = 3
SQLITE_HEADER = b"SQLite format 3\x00"
POSTGRES_TOOLS = ("on PostgreSQL use its own tools: `pg_dump -Fc -f FILE \"$DATABASE_URL\"` to back up, "
                  "`pg_restore --clean --if-exists -d \"$DATABASE_URL\" FILE` to restore (README: Backups)")


class BackupRefused(Exception):
    """A backup or restore that cannot be done as asked; nothing was written. `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Copied:
    path: Path
    tables: int
    size_bytes: int
    restarts: int = 0  # stepwise copies other processes' writes restarted (then: one step)


def database_file(database_url: str) -> Path:
    """The SQLite file DATABASE_URL names; refused for PostgreSQL and in-memory databases."""
    if not database_url.startswith("sqlite://"):
        raise BackupRefused("NOT_SQLITE", f"backup and restore copy SQLite files; {POSTGRES_TOOLS}")
    path = expand_db_url(database_url)["credentials"]["file_path"]
    if path == ":memory:":
        raise BackupRefused("IN_MEMORY", "an in-memory database has no file to copy")
    return Path(path)


def backup(database_url: str, target: Path, *, force: bool = False) -> Copied:
    """Copy the live database DATABASE_URL names to `target` (a new file unless `force`)."""
    source = database_file(database_url)
    _check_is_database(source, "the database", whole=False)  # the copy is checked whole instead
    if target.exists() and target.resolve() == source.resolve():
        raise BackupRefused("SAME_FILE", f"{target} is the database itself")
    if target.exists() and not force:
        raise BackupRefused("TARGET_EXISTS", f"{target} exists: give another path, or --force to replace it")
    if target.is_dir():
        raise BackupRefused("TARGET_IS_A_DIRECTORY", f"{target} is a directory: give a file's path")
    if not target.parent.is_dir():
        raise BackupRefused("NO_SUCH_DIRECTORY", f"{target.parent} does not exist")
    with closing(sqlite3.connect(source, timeout=5)) as connection:
        return _copy_then_rename(connection, target)


def restore(database_url: str, backup_path: Path, *, force: bool = False) -> Copied:
    """Replace the database DATABASE_URL names with the backup at `backup_path`."""
    target = database_file(database_url)
    _check_is_database(backup_path, "the backup")
    if target.exists() and not force:
        raise BackupRefused("TARGET_EXISTS", f"{target} exists: --force replaces it with the backup (its rows are lost)")
    if target.exists() and target.resolve() == backup_path.resolve():
        raise BackupRefused("SAME_FILE", f"{backup_path} is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)) as source:
        if target.exists():
            with _exclusively(target):
                return _copy_then_rename(source, target)
        return _copy_then_rename(source, target)


def _check_is_database(path: Path, what: str, *, whole: bool = True) -> None:
    """A SQLite file at `path` (its header), and with `whole` one that passes the integrity check."""
    if not path.is_file():
        raise BackupRefused("NOT_FOUND", f"{what} {path} does not exist")
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupRefused("NOT_A_DATABASE", f"{what} {path} is not a SQLite database")
    if not whole:
        return
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as connection:
        found = _integrity(connection)
    if found != "ok":
        raise BackupRefused("CORRUPT", f"{what} {path} fails SQLite's integrity check: {found}")


def _integrity(connection: sqlite3.Connection) -> str:
    try:
        return "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
    except sqlite3.DatabaseError as exc:
        return str(exc)


class _Restarted(Exception):
    pass


def _copy_then_rename(source: sqlite3.Connection, target: Path) -> Copied:
    """The online backup of `source` into a temporary file next to `target`, checked, synced and
    renamed to `target` (atomic on one file system)."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    partial = Path(name)
    try:
        with closing(sqlite3.connect(partial)) as copy:
            restarts = _online_backup(source, copy)
            found = _integrity(copy)
            if found != "ok":
                raise BackupRefused("CORRUPT", f"the copy fails SQLite's integrity check: {found}")
            tables = copy.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            # One file, no write-ahead log beside it: what is renamed is the whole database.
            copy.execute("PRAGMA journal_mode=DELETE")
        if target.exists():  # a restore: the database keeps its owner's permissions
            os.chmod(partial, target.stat().st_mode & 0o777)
        with partial.open("rb") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
        _sync_directory(target.parent)
        return Copied(target, tables, target.stat().st_size, restarts)
    finally:
        partial.unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)


def _online_backup(source: sqlite3.Connection, copy: sqlite3.Connection) -> int:
    """Copy `source` into `copy`; how many times other processes' writes restarted the copy."""
    last_remaining, restarts = -1, 0

    def progress(status: int, remaining: int, total: int) -> None:
        nonlocal last_remaining, restarts
        # No fewer pages left than a step ago: SQLite started over (a write came between the steps;
        # with writes between every step it copies the first pages again and again, forever).
        if 0 <= last_remaining <= remaining:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise _Restarted
        last_remaining = remaining
        if remaining:
            time.sleep(STEP_PAUSE_SECONDS)

    try:
        source.backup(copy, pages=STEP_PAGES, progress=progress, sleep=BUSY_SLEEP_SECONDS)
    except _Restarted:
        source.backup(copy)  # one step: one consistent read snapshot
    return restarts


class _exclusively:
    """The database at `path` locked against every other connection, out of WAL (which SQLite
    allows only when no other connection has it open): refused as DATABASE_IN_USE otherwise."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            mode = self.connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode.lower() != "delete":
                raise sqlite3.OperationalError(f"journal mode stays {mode}")
            self.connection.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            self.connection.close()
            raise BackupRefused("DATABASE_IN_USE", f"{self.path} is open in another process (a server, a command): "
                                                   f"stop it before restoring ({exc})") from None

    def __exit__(self, *exc: object) -> None:
        # The lock was on the file now replaced: releasing it touches only the old one.
        self.connection.close()


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
