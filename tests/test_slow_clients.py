"""Slow and oversized clients (issue 9, "Hostile traffic") against a real uvicorn, over raw sockets.

A request head trickling in, a body trickling in or stalling, a huge head, a body given up midway
and more connections than the cap: each must cost the server a bounded time and a bounded
buffer, be refused the way the README says (408, 431, 503), and leave one log line, not a
traceback. The server runs with our protocol class and the options `community-api serve` passes,
with timeouts of a second or two so that the module stays quick; the slow clients send a byte
every 0.1 s, and every wait on a socket is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from gql import cli
from gql.http.server import LimitedHttpToolsProtocol
from gql.settings import Settings
from tests.live_server import free_port, uvicorn_process

HEADER_TIMEOUT = 1
BODY_GAP = 1
BODY_TOTAL = 2
MAX_HEADER_BYTES = 16_384
MAX_CONNECTIONS = 40
EVERY = 0.1  # seconds between a slow client's bytes
WAIT = 10  # the longest any socket read may block

LIMITS = {
    "HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
    "BODY_READ_TIMEOUT_SECONDS": str(BODY_GAP),
    "BODY_TIMEOUT_SECONDS": str(BODY_TOTAL),
    "MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
}
QUERY = json.dumps({"query": "{ __typename }"}).encode()


class Server:
    """The live server: where it listens, and what it wrote to stderr so far."""

    def __init__(self, port: int, stderr: Path) -> None:
        self.port, self.stderr = port, stderr

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_for_log(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while text not in (log := self.log()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return log

    def healthz(self) -> int:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=WAIT).status_code


@pytest.fixture(scope="module")
def server(db: str, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    stderr = tmp_path_factory.mktemp("slow_clients") / "stderr.log"
    env = {**os.environ, "DATABASE_URL": db_url, "RATE_LIMIT_ENABLED": "false", **LIMITS}
    # The options `serve` passes to uvicorn.run (test_serve_runs_uvicorn_with_the_limits pins them).
    options = ["--loop", "uvloop", "--http", "gql.http.server:LimitedHttpToolsProtocol",
               "--limit-concurrency", str(MAX_CONNECTIONS), "--timeout-keep-alive", "5"]
    # uvicorn_process leaves stderr to the terminal: the shell sends it to a file we can read.
    keep_stderr = ["sh", "-c", f'exec "$@" 2>"{stderr}"', "sh"]
    with uvicorn_process("gql.app:create_app", port, env, prefix=keep_stderr, options=options):
        yield Server(port, stderr)


# -- a raw HTTP client ---------------------------------------------------------------------------

def head(method: str, path: str, *headers: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: test", *headers, "", ""]).encode()


def post_head(length: int, path: str = "/graphql") -> bytes:
    return head("POST", path, "Content-Type: application/json", f"Content-Length: {length}")


def receive(sock: socket.socket) -> tuple[bytes, bool]:
    """What the server sends until it closes the connection or goes quiet for a moment;
    and whether it closed."""
    answer = b""
    while select.select([sock], [], [], 0.5)[0]:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return answer, True
        if not chunk:
            return answer, True
        answer += chunk
    return answer, False


def trickle(sock: socket.socket, data: bytes) -> tuple[bytes, bool]:
    """Send `data` one byte every EVERY seconds, as a slowloris client does, until the server
    answers and closes; what it answered, and whether it closed before `data` ran out."""
    answer = b""
    for index in range(len(data)):
        try:
            sock.sendall(data[index:index + 1])
        except OSError:
            return answer + receive(sock)[0], True
        if select.select([sock], [], [], EVERY)[0]:
            more, closed = receive(sock)
            answer += more
            if closed:
                return answer, True
    return answer, False


def wait_closed(sock: socket.socket) -> tuple[bytes, bool]:
    """Send nothing more: what the server answers before it closes (bounded by WAIT)."""
    deadline = time.monotonic() + WAIT
    answer = b""
    while time.monotonic() < deadline:
        more, closed = receive(sock)
        answer += more
        if closed:
            return answer, True
    return answer, False


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the first response in `answer`."""
    head_part, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head_part.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", len(body)))
    return int(status_line.split()[1]), headers, body[:length]


def refusal(answer: bytes) -> tuple[int, str]:
    """Status and `extensions.code` of a coded JSON refusal."""
    status, headers, body = parse(answer)
    assert headers["content-type"].startswith("application/json")
    return status, json.loads(body)["errors"][0]["extensions"]["code"]


# -- request heads ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 200, id="header-value"),
        pytest.param(b"GET /" + b"b" * 200, id="request-line"),
        pytest.param(b"GET /healthz HTTP/1.1\r\n" + b"X-A: 1\r\n" * 50, id="many-headers"),
    ],
)
def test_a_head_trickling_in_is_cut_with_408(server: Server, partial: bytes) -> None:
    with server.connect() as sock:
        answer, closed = trickle(sock, partial)
    assert closed
    assert refusal(answer) == (408, "REQUEST_TIMEOUT")


def test_the_next_head_on_a_keep_alive_connection_is_timed_too(server: Server) -> None:
    """uvicorn's keep-alive timeout stops at the next request's first byte; ours starts there."""
    with server.connect() as sock:
        sock.sendall(head("GET", "/healthz"))
        assert parse(receive(sock)[0])[0] == 200
        answer, closed = trickle(sock, b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200)
    assert closed
    assert refusal(answer) == (408, "REQUEST_TIMEOUT")


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with server.connect() as sock:
        assert wait_closed(sock) == (b"", True)


@pytest.mark.parametrize(
    "request_head",
    [
        pytest.param(head("GET", "/healthz", "Authorization: Bearer " + "t" * 65536), id="one-64KiB-header"),
        pytest.param(head("GET", "/healthz", *[f"X-Pad-{n}: {'p' * 60}" for n in range(1000)]), id="many-headers"),
        pytest.param(head("GET", "/graphql?query=" + "q" * 65536), id="long-url"),
    ],
)
def test_a_64KiB_head_is_refused_with_431(server: Server, request_head: bytes) -> None:
    with server.connect() as sock:
        try:
            sock.sendall(request_head)
        except OSError:
            pass  # the server may close before it has read everything: its answer is waiting
        answer, closed = wait_closed(sock)
    assert closed
    assert refusal(answer) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")


def test_a_header_sent_in_pieces_is_refused_once_it_passes_the_cap(server: Server) -> None:
    """httptools keeps a header line until its end: the cap counts the pieces still unparsed."""
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nAuthorization: Bearer ")
        sent = 0
        try:
            while sent < 1 << 20 and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"t" * 4096)
                sent += 4096
                time.sleep(0.005)
        except OSError:
            pass
        answer, closed = wait_closed(sock)
    assert closed
    assert sent < 4 * MAX_HEADER_BYTES
    assert refusal(answer) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")


# -- request bodies --------------------------------------------------------------------------------

def test_a_body_trickling_in_is_cut_with_408(server: Server) -> None:
    """Every gap is short, but the whole body takes longer than BODY_TIMEOUT_SECONDS."""
    with server.connect() as sock:
        sock.sendall(post_head(1000))
        answer, closed = trickle(sock, b" " * 1000)
    assert closed
    assert refusal(answer) == (408, "REQUEST_TIMEOUT")


def test_a_body_that_stops_arriving_is_cut_with_408(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(post_head(len(QUERY) + 10) + QUERY)
        answer, closed = wait_closed(sock)
    assert closed
    assert refusal(answer) == (408, "REQUEST_TIMEOUT")


def test_a_chunked_body_that_stops_arriving_is_cut_with_408(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(head("POST", "/graphql", "Content-Type: application/json", "Transfer-Encoding: chunked")
                     + b"5\r\n{\"a\":\r\n")
        answer, closed = wait_closed(sock)
    assert closed
    assert refusal(answer) == (408, "REQUEST_TIMEOUT")


def test_a_body_still_trickling_after_the_answer_is_cut(server: Server) -> None:
    """A route that answers without reading the body (405 here) must not keep the connection
    for as long as the body trickles in: each byte would restart the keep-alive timeout."""
    with server.connect() as sock:
        sock.sendall(post_head(1000, "/healthz"))
        answer, closed = trickle(sock, b" " * 1000)
    assert closed
    assert parse(answer)[0] == 405


def test_a_body_given_up_midway_is_one_log_line_without_a_traceback(server: Server) -> None:
    given = b'{"query": "mutation { logout {'
    with server.connect() as sock:
        sock.sendall(post_head(1000) + given)
        # Let the server read what came, so that it sees the disconnect mid-body.
        time.sleep(0.2)
        port = sock.getsockname()[1]
    line = f"POST /graphql from 127.0.0.1:{port}: client disconnected after {len(given)} bytes of the body"
    log = server.wait_for_log(line)
    assert [entry.endswith(line) for entry in log.splitlines() if f":{port}" in entry] == [True]
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log


# -- the server meanwhile --------------------------------------------------------------------------

def test_the_server_answers_while_slow_clients_hang_and_then_frees_them(server: Server) -> None:
    partial_requests = [b"GET /healthz HTTP/1.1\r\nX-Slow: a", post_head(1000) + b"{"] * 10
    slow = [server.connect() for _ in partial_requests]
    try:
        for sock, partial in zip(slow, partial_requests):
            sock.sendall(partial)
        assert server.healthz() == 200
        answers = [wait_closed(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    assert all(closed for _, closed in answers)
    assert {refusal(answer) for answer, _ in answers} == {(408, "REQUEST_TIMEOUT")}


def test_connections_past_the_cap_get_503_at_once(server: Server) -> None:
    """Half-open connections count before their head is complete, or a slowloris never would."""
    held = [server.connect() for _ in range(MAX_CONNECTIONS + 5)]
    try:
        answers = [receive(sock) for sock in held[-5:]]
    finally:
        for sock in held:
            sock.close()
    assert all(closed and parse(answer)[0] == 503 for answer, closed in answers)
    deadline = time.monotonic() + WAIT
    while server.healthz() != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.healthz() == 200


# -- normal traffic is unchanged -------------------------------------------------------------------

def test_a_large_valid_body_sent_at_once_is_answered(server: Server) -> None:
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * 90_000}}).encode()
    assert len(body) < Settings().max_body_bytes
    response = httpx.post(f"http://127.0.0.1:{server.port}/graphql", content=body,
                          headers={"Content-Type": "application/json"}, timeout=WAIT)
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_keep_alive_connections_serve_request_after_request(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)

    def query() -> tuple[int, int]:
        connection.request("POST", "/graphql", body=QUERY, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, id(connection.sock)

    try:
        first = query()
        # Idle between requests is the keep-alive timeout's business (5 s), not the head's.
        time.sleep(HEADER_TIMEOUT * 1.5)
        second = query()
    finally:
        connection.close()
    assert first[0] == second[0] == 200
    assert first[1] == second[1]  # the same socket


def test_serve_runs_uvicorn_with_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []

    async def nothing(*_args: Any) -> None:
        return None

    monkeypatch.setattr(cli, "migrate", nothing)
    monkeypatch.setattr(cli, "seed", nothing)
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **options: calls.append(options))
    monkeypatch.setattr(LimitedHttpToolsProtocol, "limits", None)
    settings = Settings.from_env({}, max_connections="77", keep_alive_timeout_seconds="3", max_header_bytes="999")
    cli.serve(settings)
    (options,) = calls
    assert options["http"] is LimitedHttpToolsProtocol
    assert LimitedHttpToolsProtocol.limits is not None and LimitedHttpToolsProtocol.limits.max_header_bytes == 999
    assert (options["limit_concurrency"], options["timeout_keep_alive"], options["loop"]) == (77, 3, "uvloop")
    # A WebSocket message is bounded like an HTTP body (uvicorn's own default is 16 MiB).
    assert options["ws_max_size"] == settings.max_body_bytes


# Transport, processes and logs behave the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
