"""Concurrent writers: several processes write to one database at once (two live uvicorn servers
and CLI commands on the session's database: one SQLite file in WAL, or PostgreSQL through each
server's pool) and nothing is lost: every request answers 200 without an error, every write is
counted exactly, and `community-api recount --check` finds every counter equal to its rows.

On SQLite each process holds one connection and they take turns on the file's write lock
(models/sqlite_client.py: WAL, busy timeout, transactions that begin IMMEDIATE, a bounded retry);
a DEFERRED transaction would fail here with "database is locked" as soon as another process
committed between its first read and its first write.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.soak import WRITES
from models.accounts import Role, User
from models.counted import recount_all
from models.faqs import Faq
from models.issues import Issue, IssueAffected
from models.posts import Kudo, Post, PostStatus, Reply
from tests.factories import gid, make_board, make_faq, make_issue, make_post, make_user, token_for
from tests.live_server import ROOT, live_server

pytestmark = pytest.mark.usefixtures("leave_queues_as_found")

MEMBERS = 12  # each marks the issue, gives the post kudos, views the FAQ: once each
CLI_MEMBERS = 1  # `community-api user add`, meanwhile


async def _post(http: httpx.AsyncClient, base: str, token: str, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(f"{base}/graphql", json={"query": WRITES[name], "variables": variables},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (name, response.status_code, response.text[:500])
    answer = response.json()
    assert "errors" not in answer, (name, answer["errors"])
    assert answer["data"][name]["userErrors"] == [], (name, answer["data"][name])
    return answer["data"][name]


@pytest.mark.slow  # two live servers and a command, each a process of its own
async def test_two_servers_and_the_cli_write_at_once_and_lose_nothing(db: str, db_url: str, tmp_path: Path) -> None:
    author = await make_user("cw_author")
    members = [await make_user("cw_member") for _ in range(MEMBERS)]
    tokens = [await token_for(member) for member in members]
    post = await make_post(author, await make_board("cw"))
    issue, faq = await make_issue(), await make_faq()
    views_before = faq.views
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "warning"}
    env.pop("REDIS_URL", None)

    with ExitStack() as servers:
        # Both start at once (each waits until it answers): half the wait.
        starting = [live_server(db_url, RATE_LIMIT_ENABLED="false", RESPONSE_CACHE_ENABLED="false") for _ in range(2)]
        with ThreadPoolExecutor(2) as pool:
            bases = list(pool.map(servers.enter_context, starting))
        said = [(tmp_path / f"cli-{n}.log").open("wb") for n in range(CLI_MEMBERS)]  # a file never fills up
        cli = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gql.cli", "user", "add", f"cw_cli_{os.getpid()}_{n}", "--password", "cli-password-14",
            cwd=ROOT, env=env, stdout=said[n], stderr=subprocess.STDOUT) for n in range(CLI_MEMBERS)]
        deadline = time.monotonic() + 120
        replies = 0
        async with httpx.AsyncClient(timeout=60) as http:
            # Each member's three writes on one server, the next member's on the other, all at once.
            burst = [_post(http, bases[n % 2], token, name, variables) for n, token in enumerate(tokens)
                     for name, variables in (("markIssueAffected", {"id": gid(issue)}), ("giveKudo", {"id": gid(post)}),
                                             ("recordFaqView", {"slug": faq.slug}))]
            await asyncio.gather(*burst)
            # Replies from both servers for as long as the CLI writes too (so the two overlap).
            while any(process.returncode is None for process in cli) or not replies:
                assert time.monotonic() < deadline, "the CLI did not finish"
                await asyncio.gather(*(_post(http, bases[n % 2], token, "replyToPost",
                                             {"id": gid(post), "body": f"At once {n}."}) for n, token in enumerate(tokens)))
                replies += len(tokens)  # (a process's returncode is set as it exits, unasked)
        for n, process in enumerate(cli):
            await process.wait()
            said[n].close()
            assert process.returncode == 0, (tmp_path / f"cli-{n}.log").read_text()[-2000:]

    # No write lost: each counter moved by exactly what was written, and equals its rows.
    issue_now, post_now, faq_now = await Issue.get(id=issue.pk), await Post.get(id=post.pk), await Faq.get(id=faq.pk)
    assert issue_now.affected_count == await IssueAffected.filter(issue_id=issue.pk).count() == MEMBERS
    assert post_now.kudos_count == await Kudo.filter(post_id=post.pk).count() == MEMBERS
    assert faq_now.views == views_before + MEMBERS
    assert await Reply.filter(post_id=post.pk).count() == replies
    assert post_now.reply_count == await Reply.filter(post_id=post.pk, status=PostStatus.PUBLISHED).count() == replies
    assert await User.filter(handle__startswith=f"cw_cli_{os.getpid()}_", role=Role.MEMBER).count() == CLI_MEMBERS
    assert not any((await recount_all(fix=False)).values())  # what `community-api recount --check` runs


# Each process: TRANSACTIONS transactions that read, then write (a mutation's shape), through the
# engine named on its command line; prints how many failed.
READ_THEN_WRITE = """
import asyncio, sys
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

async def main(engine, path, n):
    failed = 0
    async with TortoiseContext() as ctx:
        await ctx.init(config={"connections": {"default": {"engine": engine, "credentials": {"file_path": path}}},
                               "apps": {"models": {"models": ["models.posts"], "default_connection": "default"}}})
        for i in range(n):
            try:
                async with in_transaction("default") as connection:
                    await connection.execute_query("SELECT COUNT(*) FROM t")
                    await connection.execute_query("INSERT INTO t VALUES (?)", [i])
            except Exception:
                failed += 1
        await ctx.close_connections()
    print(failed)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""
PROCESSES, TRANSACTIONS = 3, 100


@pytest.mark.only_on("sqlite")
@pytest.mark.slow  # three processes (1-4 s)
def test_processes_that_read_then_write_in_transactions_all_commit(tmp_path: Path) -> None:
    """Three processes on one file, each transaction reading before it writes: with Tortoise's own
    engine (DEFERRED transactions) most of them fail with "database is locked" at once (measured:
    780 of 900, the busy timeout notwithstanding); with ours every one commits."""
    path = tmp_path / "shared.sqlite3"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (n INTEGER)")
    command = [sys.executable, "-c", READ_THEN_WRITE, "models.sqlite_client", str(path), str(TRANSACTIONS)]
    workers = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(PROCESSES)]
    failed = [int(worker.communicate(timeout=120)[0].strip()) for worker in workers]
    assert failed == [0] * PROCESSES
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT COUNT(*) FROM t").fetchone() == (PROCESSES * TRANSACTIONS,)


@pytest.mark.only_on("sqlite")
async def test_a_transaction_that_cannot_begin_leaves_the_process_able_to_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holding the write lock past the busy timeout and the retries: the
    transaction fails with a clear error, and neither that nor a request cancelled while it
    waited leaves the process's transaction lock taken or a transaction open in SQLite."""
    from tortoise.context import TortoiseContext
    from tortoise.exceptions import TransactionManagementError
    from tortoise.transactions import in_transaction

    from models import sqlite_client
    from models.db import tortoise_config

    monkeypatch.setattr(sqlite_client, "LOCKED_RETRIES", 1)
    monkeypatch.setattr(sqlite_client, "RETRY_BACKOFF_SECONDS", 0.01)
    path = tmp_path / "held.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("CREATE TABLE t (n INTEGER)")
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(f"sqlite://{path}?busy_timeout=50"))
            client = context.connections.get("default")
            await client.execute_query("SELECT COUNT(*) FROM t")
            other.execute("BEGIN IMMEDIATE")  # another process writing, for longer than we wait

            async def write(n: int) -> None:
                async with in_transaction("default") as connection:
                    await connection.execute_query("INSERT INTO t VALUES (?)", [n])

            with pytest.raises(TransactionManagementError, match="database is locked"):
                await write(1)
            monkeypatch.setattr(sqlite_client, "LOCKED_RETRIES", 50)
            with pytest.raises(asyncio.TimeoutError):  # a request's time limit, while BEGIN waits
                await asyncio.wait_for(write(2), 0.2)
            other.execute("COMMIT")
            await asyncio.wait_for(write(3), 5)  # the lock was let go: this one begins and commits
            assert not client._connection._conn.in_transaction
            other.execute("BEGIN IMMEDIATE")  # and we hold no write lock: others write at once
            other.execute("COMMIT")
            assert await client.execute_query_dict("SELECT n FROM t") == [{"n": 3}]
            await context.close_connections()


@pytest.mark.only_on("sqlite")
def test_a_database_locked_past_the_retries_answers_service_unavailable() -> None:
    """What the API answers then: SERVICE_UNAVAILABLE (503 when nothing else was answered, with
    Retry-After), as for a database it cannot reach, not an internal error: nothing was written,
    and trying again shortly works. Each shape the error reaches the API in."""
    from tortoise.exceptions import OperationalError, TransactionManagementError

    from models.db import is_unreachable

    locked = sqlite3.OperationalError("database is locked")
    assert is_unreachable(TransactionManagementError(locked))  # BEGIN IMMEDIATE, after the retries
    assert is_unreachable(OperationalError(locked))  # a statement, as Tortoise wraps it
    try:
        try:
            raise locked
        except sqlite3.OperationalError as error:
            raise OperationalError(error) from error
    except OperationalError as wrapped:
        assert is_unreachable(wrapped)
    assert not is_unreachable(OperationalError(sqlite3.OperationalError("no such table: t")))
