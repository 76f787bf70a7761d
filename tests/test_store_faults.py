"""/healthz, /readyz, and what the API does when a store goes away underneath a running server.

A store is taken away by a TCP forwarder of the test's own (between the server and the store,
closed and reopened), never by stopping the shared PostgreSQL or Redis.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from gql.http.persisted import sha256
from tests.conftest import client_for, settings_with
from tests.factories import token_for
from tests.live_server import free_port, live_server, serving_process

QUERY = "{ faqs(first: 3) { nodes { title } } }"  # costs 4 points


class Forwarder:
    """127.0.0.1:<port> → target, in threads; `cut()` closes the listening socket and every open
    connection (new ones are refused), `reopen()` listens on the same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> "Forwarder":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener, self._stop = listener, threading.Event()
        self._thread = threading.Thread(target=self._accept, args=(listener, self._stop), daemon=True)
        self._thread.start()
        return self

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()
        listener.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._close(sock)

    def reopen(self) -> None:
        self.open()


def redis_base() -> tuple[str, int]:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    parsed = httpx.URL(url.replace("redis://", "http://", 1))
    return parsed.host or "127.0.0.1", parsed.port or 6379


async def wait_for_readiness(http: httpx.AsyncClient, status: str, timeout: float = 10) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = await http.get("/readyz")
        if answer.json()["status"] == status or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


async def test_healthz_and_readyz_with_the_database_up(db: str) -> None:
    async with client_for(settings_with(rate_limit_anonymous_points=4)) as client:
        health = await client.http.get("/healthz")
        ready = await client.http.get("/readyz")
        # Not rate limited: a budget of 4 points is no limit on them.
        flood = await asyncio.gather(*(client.http.get("/readyz") for _ in range(50)))
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}  # no REDIS_URL: no Redis check
    assert ready.headers["cache-control"] == "no-store"
    assert {answer.status_code for answer in flood} == {200}
    assert not any("x-ratelimit-limit" in answer.headers for answer in [health, ready, *flood])


class _Unreachable:
    async def execute_query(self, sql: str) -> Any:
        raise ConnectionRefusedError("connection refused by 10.0.0.1 for user secret")


class _Hanging:
    async def execute_query(self, sql: str) -> Any:
        await asyncio.sleep(60)


@pytest.mark.parametrize("connection, reason", [(_Unreachable(), "ConnectionRefusedError"),
                                                (_Hanging(), "no answer within 1 s")])
async def test_a_database_that_fails_or_hangs_is_503_with_the_database_down(
        db: str, monkeypatch: pytest.MonkeyPatch, connection: Any, reason: str) -> None:
    from tortoise import connections

    monkeypatch.setattr(connections, "get", lambda name: connection)
    async with client_for(settings_with()) as client:
        started = time.monotonic()
        answers = await asyncio.gather(*(client.http.get("/readyz") for _ in range(20)))
        elapsed = time.monotonic() - started
    assert elapsed < 3  # bounded by READY_TIMEOUT_SECONDS, and one check serves them all
    for answer in answers:
        assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
        assert answer.json() == {"status": "unavailable", "checks": {"database": "down"},
                                 "reasons": {"database": reason}}
        assert "secret" not in answer.text


async def test_readyz_result_is_kept_for_a_moment(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tortoise import connections

    calls = 0
    real = connections.get

    class Counting:
        async def execute_query(self, sql: str) -> Any:
            nonlocal calls
            calls += 1
            return await real("default").execute_query(sql)

    monkeypatch.setattr(connections, "get", lambda name: Counting())
    async with client_for(settings_with()) as client:
        for _ in range(30):
            assert (await client.http.get("/readyz")).status_code == 200
    assert calls == 1


async def test_postgres_cut_underneath_a_server_is_503_then_ready_again(db: str, db_url: str) -> None:
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL fault test skipped: TEST_POSTGRES_URL is not set")
    # The session's database when it is PostgreSQL; else the base one (SELECT 1 needs no tables).
    url = db_url if db_url.startswith("postgres") else base
    parsed = httpx.URL(url.replace("postgres://", "http://", 1))
    forwarder = Forwarder(parsed.host, parsed.port or 5432).open()
    through = url.replace(f"{parsed.host}:{parsed.port or 5432}", f"127.0.0.1:{forwarder.port}", 1)
    try:
        with live_server(through, SEED_ON_START="false", RATE_LIMIT_ENABLED="false") as server:
            async with httpx.AsyncClient(base_url=server, timeout=10) as http:
                assert (await wait_for_readiness(http, "ready")).json() == {"status": "ready", "checks": {"database": "ok"}}
                forwarder.cut()
                down = await wait_for_readiness(http, "unavailable")
                assert down.status_code == 503 and down.json()["checks"] == {"database": "down"}
                assert int(down.headers["retry-after"]) >= 1 and "reasons" in down.json()
                assert (await http.get("/healthz")).status_code == 200  # the process itself answers
                forwarder.reopen()
                back = await wait_for_readiness(http, "ready")
                assert back.status_code == 200 and back.json()["checks"] == {"database": "ok"}
    finally:
        forwarder.cut()


async def test_unreachable_database_errors_are_told_from_failed_statements() -> None:
    import asyncpg
    import asyncpg.exceptions as pg
    from graphql import GraphQLError
    from tortoise.exceptions import DBConnectionError, OperationalError

    from models.db import is_unreachable

    # A bare socket error counts only when its traceback passed through the driver.
    try:
        await asyncpg.connect(f"postgres://nobody@127.0.0.1:{free_port()}/none", timeout=5)
    except OSError as caught:
        refused: BaseException = caught
    else:
        raise AssertionError("nothing listens there")

    def wrapped(error: Exception) -> Exception:
        try:
            try:
                raise error
            except Exception as inner:
                raise OperationalError("statement failed") from inner
        except OperationalError as outer:
            return outer

    for error in (DBConnectionError("no pool"), pg.ConnectionDoesNotExistError("closed in the middle"),
                  pg.CannotConnectNowError("starting up"), pg.InterfaceError("connection is closed"),
                  refused, wrapped(DBConnectionError("x"))):
        assert is_unreachable(error), error
        assert is_unreachable(GraphQLError("x", original_error=error))  # type: ignore[arg-type]
    for error in (ConnectionRefusedError(111, "not the database's"), ValueError("x"), OperationalError("syntax"),
                  pg.UniqueViolationError("dup"), pg.InterfaceError("another operation is in progress"), None):
        assert not is_unreachable(error), error


async def test_postgres_cut_underneath_a_server_answers_503_then_data_again(db: str, db_url: str) -> None:
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base or not db_url.startswith("postgres"):
        pytest.skip("PostgreSQL fault test skipped: TEST_POSTGRES_URL is not set or the backend is not PostgreSQL")
    parsed = httpx.URL(db_url.replace("postgres://", "http://", 1))
    forwarder = Forwarder(parsed.host, parsed.port or 5432).open()
    through = db_url.replace(f"{parsed.host}:{parsed.port or 5432}", f"127.0.0.1:{forwarder.port}", 1)
    port = free_port()
    # No response cache: every query must reach the database.
    env = {**os.environ, "DATABASE_URL": through, "SEED_ON_START": "false", "RATE_LIMIT_ENABLED": "false",
           "RESPONSE_CACHE_ENABLED": "false"}
    command = [sys.executable, "-m", "uvicorn", "gql.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    partial = '{ __typename faq(slug: "none") { title } }'  # `faq` is nullable: the query still has data
    try:
        with tempfile.TemporaryFile() as stderr, serving_process(command, port, env, stderr=stderr):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                up = await http.post("/graphql", json={"query": QUERY})
                assert up.status_code == 200 and up.json()["data"]["faqs"]["nodes"]
                forwarder.cut()
                for accept in ("application/json", "application/graphql-response+json"):
                    for _ in range(3):
                        down = await http.post("/graphql", json={"query": QUERY}, headers={"Accept": accept})
                        assert down.status_code == 503, down.text
                        assert down.headers["retry-after"] == "5" and down.headers["content-type"] == accept
                        assert down.json() == {"errors": [{"message": "The database is unavailable; try again shortly",
                                                           "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
                # Something answered: 200 as before, the field's error coded SERVICE_UNAVAILABLE.
                some = await http.post("/graphql", json={"query": partial})
                assert some.status_code == 200 and some.json()["data"] == {"__typename": "Query", "faq": None}
                assert [error["extensions"]["code"] for error in some.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
                forwarder.reopen()
                deadline = time.monotonic() + 10
                while (back := await http.post("/graphql", json={"query": QUERY})).status_code != 200:
                    assert back.status_code == 503 and time.monotonic() < deadline
                    await asyncio.sleep(0.2)
                assert back.json()["data"] == up.json()["data"]
            stderr.seek(0)
            logged = stderr.read().decode()
    finally:
        forwarder.cut()
    # One warning for the outage and one for the recovery; no traceback of ours per request.
    assert logged.count("database unreachable") == 1 and logged.count("database reachable again") == 1
    assert "INTERNAL_SERVER_ERROR" not in logged and "ERROR strawberry.execution" not in logged
    assert "ERROR gql.errors" not in logged


async def test_redis_cut_underneath_a_server_degrades_then_recovers(db: str, db_url: str) -> None:
    host, port = redis_base()
    from models.accounts import User

    # Its own budget key in Redis: a user id no other run (nor the other backend's) will have.
    serial = uuid.uuid4().int % 1_000_000_000
    user = await User.create(id=1_000_000_000 + serial, handle=f"fault_redis_{serial}", display_name="fault redis",
                             created_at=datetime.now(timezone.utc) - timedelta(days=400))
    token = await token_for(user)
    import redis.asyncio as redis

    direct = redis.from_url(f"redis://{host}:{port}/12")
    await direct.delete(*[key async for key in direct.scan_iter(f"community-api:rate:user:{user.pk}:*")] or ["-"])
    forwarder = Forwarder(host, port).open()
    env = {"REDIS_URL": f"redis://127.0.0.1:{forwarder.port}/12", "RATE_LIMIT_POINTS": "20"}
    auth = {"Authorization": f"Bearer {token}"}
    query = "{ faqs(first: 2) { nodes { slug } } } # fault-" + uuid.uuid4().hex
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    try:
        with live_server(db_url, **env) as server:
            async with httpx.AsyncClient(base_url=server, timeout=10) as http:
                ready = await wait_for_readiness(http, "ready")
                assert ready.status_code == 200
                assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
                shared = await http.post("/graphql", json={"query": QUERY}, headers=auth)
                assert shared.status_code == 200 and shared.headers["x-ratelimit-used"] == "4"
                assert int(await direct.get(f"community-api:rate:user:{user.pk}:{int(time.time()) // 3600 * 3600}")) == 4

                forwarder.cut()
                degraded = await wait_for_readiness(http, "degraded")
                assert degraded.status_code == 200
                assert degraded.json()["checks"] == {"database": "ok", "redis": "down"}
                assert degraded.json()["reasons"]["redis"]
                # Queries still answer JSON, counted against this process's own budget (from 0).
                answers = [await http.post("/graphql", json={"query": QUERY}, headers=auth) for _ in range(6)]
                for spent, answer in zip((4, 8, 12, 16, 20), answers):
                    assert answer.status_code == 200 and "json" in answer.headers["content-type"]
                    assert answer.json()["data"]["faqs"] and answer.headers["x-ratelimit-used"] == str(spent)
                # ... never unlimited.
                assert answers[5].status_code == 429
                assert answers[5].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
                # Persisted queries: a hash misses, a registration runs the query.
                anonymous = await http.post("/graphql", json={"extensions": apq})
                assert anonymous.status_code == 200
                assert anonymous.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
                registered = await http.post("/graphql", json={"query": query, "extensions": apq})
                assert registered.status_code == 200 and registered.json()["data"]["faqs"]["nodes"]

                forwarder.reopen()
                back = await wait_for_readiness(http, "ready")
                assert back.status_code == 200
                assert back.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
                await asyncio.sleep(1.1)  # the budgets try Redis again a second after their last failure
                shared_again = await http.post("/graphql", json={"query": QUERY}, headers=auth)
                assert shared_again.status_code == 200 and shared_again.headers["x-ratelimit-used"] == "8"
                persisted = await http.post("/graphql", json={"query": query, "extensions": apq})
                assert persisted.status_code == 200
                by_hash = await http.post("/graphql", json={"extensions": apq})
                assert by_hash.json()["data"] == persisted.json()["data"]
    finally:
        forwarder.cut()
        await direct.aclose()
