"""`community-api serve --workers N` as an operator runs it: real processes, real sockets.

Two workers share one listening socket and one set of metrics; SIGTERM shuts them down
gracefully (a request in flight finishes, a WebSocket is closed with 1012 "service restart",
the supervisor exits 0), and SHUTDOWN_TIMEOUT_SECONDS bounds how long a request that never
finishes can hold the shutdown. `python3 dev.py serve` hands SIGTERM to the server itself.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import orjson
import pytest

from tests.live_server import ROOT, free_port, serving_process
from tests.ws_client import close_code, subscribed

pytestmark = [pytest.mark.slow, pytest.mark.only_on("postgres")]

QUERY = "{ faqs(first: 1) { totalCount } }"


def _environment(db_url: str, port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URL": db_url, "PORT": str(port), "SEED_ON_START": "false",
                   "RATE_LIMIT_ENABLED": "false", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **extra}
    (tmp_path / "metrics").mkdir(exist_ok=True)
    if os.environ.get("TEST_REDIS_URL"):
        # Budgets, persisted queries, events and cache generations shared as in production.
        environment["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    return environment


@contextmanager
def supervisor(db_url: str, tmp_path: Path, workers: int = 2, **extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    command = [sys.executable, "-m", "gql.cli", "serve", "--workers", str(workers)]
    with serving_process(command, port, _environment(db_url, port, tmp_path, **extra),
                         stderr=subprocess.DEVNULL) as process:
        yield process, f"http://127.0.0.1:{port}"


def _workers_of(pid: int) -> list[int]:
    """The supervisor's children that serve (not multiprocessing's resource tracker)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"resource_tracker" not in command:
            children.append(int(entry.name))
    return children


def _requests_counted(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    pattern = r'^community_api_requests_total\{[^}]*operation="query"[^}]*status="200"[^}]*transport="http"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


def test_two_workers_share_the_socket_and_the_metrics(db: str, db_url: str, tmp_path: Path) -> None:
    with supervisor(db_url, tmp_path) as (process, base):
        assert len(_workers_of(process.pid)) == 2
        before = _requests_counted(base)
        # Request ids start with a per-process prefix: two prefixes, two workers answered.
        prefixes: set[str] = set()
        sent = 0
        while len(prefixes) < 2 and sent < 300:
            # A new connection each time: the kernel hands each to whichever worker accepts it.
            response = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=10)
            assert response.status_code == 200 and "errors" not in response.json()
            prefixes.add(response.headers["X-Request-Id"][:16])
            sent += 1
        assert len(prefixes) == 2, f"one worker answered all {sent} requests"
        # Whichever worker answers the scrape, it sums both workers' counts.
        for _ in range(4):
            assert _requests_counted(base) - before == sent


def _post_head(length: int) -> bytes:
    return (f"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _read_answer(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


async def test_sigterm_lets_a_request_in_flight_finish_and_closes_websockets_with_1012(
        db: str, db_url: str, tmp_path: Path) -> None:
    body = orjson.dumps({"query": QUERY})
    with supervisor(db_url, tmp_path) as (process, base):
        subscription = "subscription { issueUpdated(number: 1002) { number } }"
        async with subscribed(base, None, subscription) as websocket:
            await asyncio.sleep(0.3)  # subscribed before the shutdown starts
            in_flight = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
            try:
                # Half a request: the worker has its head and waits for the rest of the body.
                in_flight.sendall(_post_head(len(body)) + body[:10])
                await asyncio.sleep(0.5)
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1.5)  # the workers are shutting down, waiting for this request
                assert process.poll() is None
                in_flight.sendall(body[10:])
                answer = await asyncio.to_thread(_read_answer, in_flight)
            finally:
                in_flight.close()
            assert await close_code(websocket) == 1012
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 200 OK"
        assert b"connection: close" in rest.lower()  # no next request on it: the worker is leaving
        assert orjson.loads(rest.split(b"\r\n\r\n", 1)[1])["data"]["faqs"]["totalCount"] > 0
        assert process.wait(timeout=20) == 0


def test_shutdown_timeout_bounds_a_request_that_never_finishes(db: str, db_url: str, tmp_path: Path) -> None:
    # Only the shutdown timeout can end this request: its body may stall far longer.
    slow_body = {"BODY_READ_TIMEOUT_SECONDS": "120", "BODY_TIMEOUT_SECONDS": "120", "SHUTDOWN_TIMEOUT_SECONDS": "1"}
    with supervisor(db_url, tmp_path, **slow_body) as (process, base):
        stalled = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        try:
            stalled.sendall(_post_head(1000) + b'{"query":')
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            stalled.settimeout(5)
            try:
                left = stalled.recv(65536)
            except ConnectionResetError:
                left = b""
            assert not left.startswith(b"HTTP/1.1 200")  # cut, not answered
        finally:
            stalled.close()


def test_dev_py_serve_passes_sigterm_to_the_server(db: str, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, str(ROOT / "dev.py"), "serve"]
    with serving_process(command, port, _environment(db_url, port, tmp_path), stderr=subprocess.DEVNULL) as process:
        process.send_signal(signal.SIGTERM)
        # One worker runs in this very process: uvicorn shuts down, then re-raises the signal.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        # Before, dev.py died and its child went on listening.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("environment, arguments, message", [
    ({"WORKERS": "0"}, [], "WORKERS: 0 is not 1 to 64"),
    ({"WORKERS": "many"}, [], "WORKERS"),
    ({"SHUTDOWN_TIMEOUT_SECONDS": "-1"}, [], "SHUTDOWN_TIMEOUT_SECONDS"),
    ({}, ["--workers", "65"], "--workers takes 1 to 64"),
    ({}, ["--workers", "0"], "--workers takes 1 to 64"),
])
def test_serve_refuses_a_bad_worker_count(tmp_path: Path, environment: dict[str, str], arguments: list[str],
                                          message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "gql.cli", "serve", *arguments], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}", **environment},
                          timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "x.sqlite3").exists()  # refused before anything was done


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_taken_port_fails_with_a_clear_message(db: str, db_url: str, tmp_path: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, str(ROOT / "dev.py"), "serve", "--workers", workers], capture_output=True,
                              text=True, env=_environment(db_url, port, tmp_path), timeout=120, cwd=ROOT)
    assert done.returncode != 0
    assert "address already in use" in done.stderr.lower()
