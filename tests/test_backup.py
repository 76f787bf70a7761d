"""`community-api backup PATH` / `restore PATH` (models/backup.py): a consistent copy of a live
SQLite database while a server takes writes, restored into a new file that passes SQLite's
integrity check and `recount --check`, every table readable, each table's rows between what it
held before the writes and after them. And every refusal: coded, exit 2, nothing written."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from bench.soak import WRITES
from gql.cli import copy_database
from gql.settings import Settings
from models.backup import STEP_PAGES, restore
from models.counted import recount_all
from models.db import tortoise_config
from tests.factories import gid, make_board, make_post, make_user, token_for
from tests.live_server import ROOT, live_server

pytestmark = pytest.mark.only_on("sqlite")  # SQLite files; PostgreSQL has pg_dump (its refusal is tested here too)


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "gql.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def table_sizes(path: Path) -> dict[str, int]:
    """Every table's row count (each table read whole: virtual full-text tables included)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                      " AND name NOT LIKE 'sqlite_%'")]
        return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


@pytest.mark.slow  # a live server, and the backup command beside it
async def test_a_backup_taken_during_writes_restores_to_a_consistent_database(db: str, db_url: str, tmp_path: Path) -> None:
    database = Path(db_url[len("sqlite://"):])
    author = await make_user("bk_author")
    writers = [await make_user("bk_writer") for _ in range(4)]
    tokens = [await token_for(writer) for writer in writers]
    posts = [await make_post(author, await make_board("bk")) for _ in range(8)]
    before = table_sizes(database)
    backup_path = tmp_path / "during.sqlite3"
    written = 0

    with live_server(db_url, RATE_LIMIT_ENABLED="false", RESPONSE_CACHE_ENABLED="false") as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            async def write(n: int) -> None:
                nonlocal written
                token, post = tokens[n % len(tokens)], posts[n % len(posts)]
                name, variables = (("replyToPost", {"id": gid(post), "body": f"Backed up {n}."}) if n % 3 else
                                   ("giveKudo", {"id": gid(post)}))
                response = await http.post("/graphql", json={"query": WRITES[name], "variables": variables},
                                           headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200 and "errors" not in response.json(), response.text[:500]
                written += 1

            backing_up = asyncio.create_task(asyncio.to_thread(cli, db_url, "backup", str(backup_path)))
            n = 0
            while not backing_up.done() or n < 8:  # writes before, during and after the copy
                await asyncio.gather(*(write(n + k) for k in range(4)))
                n += 4
            made = await backing_up
    assert made.returncode == 0, made.stdout + made.stderr
    assert "backed up to" in made.stdout and written >= 8
    after = table_sizes(database)
    assert after["replies"] > before["replies"]

    restored = tmp_path / "restored.sqlite3"
    restore(f"sqlite://{restored}", backup_path)  # what `restore PATH` runs (its exit codes: below)
    with closing(sqlite3.connect(restored)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    sizes = table_sizes(restored)  # every table readable
    assert sizes.keys() == after.keys()
    outside = {name: (before[name], n, after[name]) for name, n in sizes.items() if not before[name] <= n <= after[name]}
    assert not outside, outside
    assert await wrong_counters(f"sqlite://{restored}") == {}  # what `recount --check` runs


async def wrong_counters(database_url: str) -> dict[str, int]:
    """`recount_all(fix=False)` on another database, in an ORM context of its own."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        try:
            return {name: n for name, n in (await recount_all(fix=False)).items() if n}
        finally:
            await context.close_connections()


# --- Refusals: coded, exit 2, nothing written ---------------------------------------------------------


def run(command: str, database_url: str, path: Path, capsys: pytest.CaptureFixture[str],
        force: bool = False) -> tuple[int, str]:
    """`community-api backup|restore` as `main` runs it: its exit code and what it printed to stderr."""
    code = copy_database(Settings.from_env({}, database_url=database_url), command, path, force)
    return code, capsys.readouterr().err


def a_database(path: Path, rows: int = 3) -> Path:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (n INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(rows)])
        connection.commit()
    return path


def test_backup_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = a_database(tmp_path / "live.sqlite3")
    url = f"sqlite://{source}"
    assert run("backup", f"sqlite://{tmp_path / 'missing.sqlite3'}", tmp_path / "b.sqlite3", capsys) == (
        2, f"community-api backup: NOT_FOUND: the database {tmp_path / 'missing.sqlite3'} does not exist\n")
    existing = tmp_path / "existing.sqlite3"
    existing.write_bytes(b"keep me")
    code, said = run("backup", f"sqlite://{existing}", tmp_path / "b.sqlite3", capsys)
    assert (code, said.split(": ")[1]) == (2, "NOT_A_DATABASE") and not (tmp_path / "b.sqlite3").exists()
    code, said = run("backup", url, existing, capsys)
    assert (code, said.split(": ")[1]) == (2, "TARGET_EXISTS") and existing.read_bytes() == b"keep me"
    code, said = run("backup", url, source, capsys, force=True)
    assert (code, said.split(": ")[1]) == (2, "SAME_FILE") and table_sizes(source) == {"t": 3}
    code, said = run("backup", url, tmp_path / "no" / "such" / "dir.sqlite3", capsys)
    assert (code, said.split(": ")[1]) == (2, "NO_SUCH_DIRECTORY")
    code, said = run("backup", url, tmp_path, capsys, force=True)
    assert (code, said.split(": ")[1]) == (2, "TARGET_IS_A_DIRECTORY")
    code, said = run("backup", "sqlite://:memory:", tmp_path / "m.sqlite3", capsys)
    assert (code, said.split(": ")[1]) == (2, "IN_MEMORY")
    # --force replaces; no temporary file is left next to it.
    assert run("backup", url, existing, capsys, force=True)[0] == 0
    assert table_sizes(existing) == {"t": 3}
    assert not [p.name for p in tmp_path.iterdir() if ".partial" in p.name]


def test_restore_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = a_database(tmp_path / "backup.sqlite3", rows=5)
    target = a_database(tmp_path / "target.sqlite3", rows=2)
    url = f"sqlite://{target}"
    code, said = run("restore", url, tmp_path / "missing.sqlite3", capsys, force=True)
    assert (code, said.split(": ")[1]) == (2, "NOT_FOUND")
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    code, said = run("restore", url, text, capsys, force=True)
    assert (code, said.split(": ")[1]) == (2, "NOT_A_DATABASE")
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(backup.read_bytes()[:100] + b"\xff" * 4000)  # a SQLite header, then garbage
    code, said = run("restore", url, broken, capsys, force=True)
    assert (code, said.split(": ")[1]) == (2, "CORRUPT")
    code, said = run("restore", url, backup, capsys)  # the target exists: only with --force
    assert (code, said.split(": ")[1]) == (2, "TARGET_EXISTS")
    code, said = run("restore", url, target, capsys, force=True)
    assert (code, said.split(": ")[1]) == (2, "SAME_FILE")
    # A process holding the database open (a server would): refused, the database untouched.
    with closing(sqlite3.connect(target)) as server:
        server.execute("SELECT COUNT(*) FROM t").fetchone()
        code, said = run("restore", url, backup, capsys, force=True)
        assert (code, said.split(": ")[1]) == (2, "DATABASE_IN_USE")
        assert server.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
    assert table_sizes(target) == {"t": 2}
    # Stopped: the restore replaces it, keeping its permissions.
    os.chmod(target, 0o640)
    assert run("restore", url, backup, capsys, force=True)[0] == 0
    assert table_sizes(target) == {"t": 5} and target.stat().st_mode & 0o777 == 0o640
    # Into a database that does not exist yet: no --force needed.
    fresh = tmp_path / "sub" / "fresh.sqlite3"
    assert run("restore", f"sqlite://{fresh}", backup, capsys)[0] == 0 and table_sizes(fresh) == {"t": 5}


def test_on_postgresql_backup_and_restore_point_to_pg_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgres://postgres@127.0.0.1:5432/test"
    done = cli(url, "backup", str(tmp_path / "dump"))  # the command itself: exit 2, the message
    assert done.returncode == 2 and "community-api backup: NOT_SQLITE:" in done.stderr
    assert "pg_dump -Fc" in done.stderr and "pg_restore --clean --if-exists -d" in done.stderr
    code, said = run("restore", url, tmp_path / "dump", capsys, force=True)
    assert code == 2 and said.startswith("community-api restore: NOT_SQLITE:") and "pg_restore" in said
    assert not (tmp_path / "dump").exists()


def test_a_database_larger_than_a_step_is_copied_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "big.sqlite3"
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("CREATE TABLE t (n INTEGER, pad TEXT)")
        connection.executemany("INSERT INTO t VALUES (?, ?)", [(n, "x" * 3000) for n in range(STEP_PAGES + 200)])
        connection.commit()
    assert run("backup", f"sqlite://{source}", tmp_path / "copy.sqlite3", capsys)[0] == 0
    assert table_sizes(tmp_path / "copy.sqlite3") == {"t": STEP_PAGES + 200}


def test_a_copy_that_writes_keep_restarting_is_taken_in_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process commits between every step: SQLite restarts the stepwise copy each time;
    after MAX_RESTARTS the copy is one step, a consistent snapshot between the writes."""
    from models import backup as backups

    monkeypatch.setattr(backups, "STEP_PAGES", 2)
    monkeypatch.setattr(backups, "STEP_PAUSE_SECONDS", 0.01)  # each pause sees several commits
    source = tmp_path / "busy.sqlite3"
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (n INTEGER, pad TEXT)")
        connection.executemany("INSERT INTO t VALUES (?, ?)", [(n, "x" * 500) for n in range(100)])
        connection.commit()
    stop, committed = threading.Event(), [100]

    def writer() -> None:
        with closing(sqlite3.connect(source, timeout=5)) as connection:
            while not stop.is_set():
                connection.execute("INSERT INTO t VALUES (?, 'w')", [committed[0]])
                connection.commit()
                committed[0] += 1
                time.sleep(0.001)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.02)
        copied = backups.backup(f"sqlite://{source}", tmp_path / "copy.sqlite3")
    finally:
        stop.set()
        thread.join()
    assert copied.restarts == backups.MAX_RESTARTS + 1
    with closing(sqlite3.connect(tmp_path / "copy.sqlite3")) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = [n for (n,) in connection.execute("SELECT n FROM t ORDER BY n")]
    assert 100 < len(rows) <= committed[0] and rows == list(range(len(rows)))  # a prefix of the writes
