"""Structured logs: one `gql.request` record per request, JSON lines in production, escaped text in
development (LOG_FORMAT).

A log pipeline reads the JSON lines without parsing prose, so every line a server writes must be
one JSON object, masked errors' tracebacks included, and a request's facts (id, operation, status,
SQL statements, cost, client) must be keys of its one record, equal to what the client was
answered. Client text (an operation name, a value an exception quotes) must not be able to start a
line of its own in either format. The formatter and the settings are tested on their own; the rest
against real uvicorn processes, reading what they wrote to stderr.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import orjson
import pytest

from gql.ops import logs
from gql.ops import served as served_module
from gql.ops.served import Served, report
from gql.settings import Settings
from tests.live_server import ROOT, free_port, serving_process
from tests.test_log_injection import FORGED, HOSTILE, assert_no_forged_line
from tests.ws_client import acknowledged, next_message

# What orjson writes raw and must still not reach the file raw: DEL, a C1 CSI (a terminal escape).
HOSTILE_JSON = [*HOSTILE, f"x\x7f\x9b2K{FORGED}"]
BOARDS = "query Boards { boards { slug name } }"


def assert_json_line(text: str) -> dict[str, Any]:
    """`text` is one line of JSON, with no character a reader could break a line at or a terminal
    obey: the object it holds."""
    assert len(text.splitlines()) == 1 and text.isprintable(), repr(text)
    entry = orjson.loads(text)
    assert isinstance(entry, dict), text
    return entry


# --- Settings ------------------------------------------------------------------------------------


def test_the_format_follows_the_profile_unless_set() -> None:
    assert Settings.from_env({}).effective_log_format == "text"
    assert Settings.from_env({"APP_ENV": "production"}).effective_log_format == "json"
    assert Settings.from_env({"APP_ENV": "production", "LOG_FORMAT": "Text "}).effective_log_format == "text"
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).effective_log_format == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT: 'xml' is not a log format"):
        Settings.from_env({"LOG_FORMAT": "xml"})


def test_the_cli_refuses_a_bad_log_format_in_one_line(tmp_path: Path) -> None:
    environment = {**os.environ, "LOG_FORMAT": "logfmt", "DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}"}
    done = subprocess.run([sys.executable, "-m", "gql.cli", "serve"], env=environment, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert "LOG_FORMAT" in done.stderr and "logfmt" in done.stderr
    assert not (tmp_path / "x.sqlite3").exists()  # refused before anything was migrated


# --- The JSON formatter --------------------------------------------------------------------------


def _record(message: str, **attributes: Any) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "gql.errors", "levelname": "ERROR", "levelno": logging.ERROR,
                                  "msg": message, "created": 1_700_000_000.25, "msecs": 250.0, **attributes})


@pytest.mark.parametrize("hostile", HOSTILE_JSON)
def test_a_json_record_is_one_line_whatever_it_carries(hostile: str) -> None:
    try:
        raise ValueError(hostile)
    except ValueError:
        exc_info = sys.exc_info()
    record = _record("request %s: operation %r failed", args=("r1", hostile), exc_info=exc_info,
                     stack_info=f"Stack:\n{hostile}", operation=hostile)
    entry = assert_json_line(logs.JsonLines().format(record))
    assert entry["time"] == "2023-11-14T22:13:20.250Z"
    assert (entry["level"], entry["logger"]) == ("ERROR", "gql.errors")
    assert entry["message"] == f"request r1: operation {hostile!r} failed"
    assert entry["traceback"].startswith("Traceback (most recent call last):\n")
    assert entry["traceback"].endswith(f"ValueError: {hostile}")  # the client's text, exactly, as data
    assert entry["stack"] == f"Stack:\n{hostile}"
    assert entry["operation"] == hostile  # an `extra=` field


def test_extra_fields_are_keys_but_cannot_pose_as_the_records_own() -> None:
    record = _record("hello", level="DEBUG", logger="forged", time="yesterday", count=3, codes=["A", "B"],
                     when=Path("/x"), huge=2**70, color_message="\x1b[31mhello\x1b[0m")
    entry = assert_json_line(logs.JsonLines().format(record))
    assert (entry["level"], entry["logger"], entry["time"]) == ("ERROR", "gql.errors", "2023-11-14T22:13:20.250Z")
    assert (entry["count"], entry["codes"], entry["when"], entry["huge"]) == (3, ["A", "B"], "/x", str(2**70))
    assert "color_message" not in entry  # uvicorn's coloured copy of the message
    assert "args" not in entry and "msg" not in entry and "exc_info" not in entry


def test_install_switches_every_handler_between_the_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    own = logging.getLogger("tests.request_log.own")
    original = logging.Formatter("%(message)s")
    handler = logging.StreamHandler()
    handler.setFormatter(original)
    monkeypatch.setattr(own, "handlers", [handler])
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(logs.request_logger, "level", logs.request_logger.level)
    logs.install(Settings(log_format="json", log_level="warning"))
    logs.install(Settings(log_format="json", log_level="warning"))
    assert isinstance(handler.formatter, logs.JsonLines) and handler.formatter.inner is original
    assert isinstance(logging.getLogger().handlers[0].formatter, logs.JsonLines)
    assert logs.request_logger.level == logging.WARNING  # LOG_LEVEL governs the request lines too
    logs.install(Settings(log_format="text"))
    assert isinstance(handler.formatter, logs.OneLineRecords) and handler.formatter.inner is original
    assert logs.request_logger.level == logging.INFO


# --- The request record, reported directly -------------------------------------------------------


@pytest.fixture
def request_records(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[logging.LogRecord]]:
    """The `gql.request` records logged while the test runs, by the observers it registers only
    (an app built earlier in this process registered one: it is set aside, then put back)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    monkeypatch.setattr(served_module, "_observers", [])
    monkeypatch.setattr(logs, "_stop_request_log", None)
    monkeypatch.setattr(logs.request_logger, "level", logging.INFO)
    logs.request_logger.addHandler(handler)
    try:
        yield records
    finally:
        logs.request_logger.removeHandler(handler)


def _served(operation_name: str | None) -> Served:
    return Served("http", "abc123", "2001:db8::1", "POST", status=400, duration=0.0125, operation_type="query",
                  operation_name=operation_name, cost=7, statements=3, error_codes=["A", "B"], cache="MISS",
                  signed_in=True)


def test_a_request_is_one_record_of_its_facts_once_however_many_apps_are_built(
        request_records: list[logging.LogRecord]) -> None:
    logs.log_requests(Settings(log_format="json"))
    logs.log_requests(Settings(log_format="json"))  # a second app in the same process
    report(_served("Posts"))
    [record] = request_records
    assert (record.levelno, record.name) == (logging.INFO, "gql.request")
    entry = assert_json_line(logs.JsonLines().format(record))
    assert {key: value for key, value in entry.items() if key not in ("time", "level", "logger", "message")} == {
        "request_id": "abc123", "transport": "http", "method": "POST", "operation_type": "query",
        "operation_name": "Posts", "status": 400, "duration_ms": 12.5, "statements": 3, "cost": 7,
        "client": "2001:db8::1", "cache": "MISS", "error_codes": ["A", "B"], "signed_in": True}


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_text_request_line_quotes_and_escapes_the_operation_name(
        request_records: list[logging.LogRecord], hostile: str) -> None:
    logs.log_requests(Settings(log_format="text"))
    report(_served(hostile))
    report(_served(None))
    named, anonymous = (logs.OneLineRecords().format(record) for record in request_records)
    assert "\n" not in named and FORGED in named
    assert_no_forged_line(named)
    assert named == ("INFO gql.request: request_id=abc123 transport=http method=POST operation_type=query "
                     f"operation_name={hostile!r} status=400 duration_ms=12.5 statements=3 cost=7 client=2001:db8::1 "
                     "cache=MISS error_codes=A,B signed_in=yes")
    assert " operation_name=- status=400 " in anonymous


# --- A real server -------------------------------------------------------------------------------

PROBE = "tests.log_probe:create_app"  # `post(slug:)` fails quoting the slug: a masked error on demand


class Server:
    """A server process, what it writes to stderr and stdout in files; reads its records back."""

    def __init__(self, http: httpx.Client, log: Path, stdout: Path) -> None:
        self.http, self.log, self.stdout = http, log, stdout

    def post(self, body: Any, **options: Any) -> httpx.Response:
        return self.http.post("/graphql", json=body, **options)

    def settled_lines(self) -> list[str]:
        """Every line written so far, once the server has logged a request sent after all the
        test's own (so that a second record of one of those would have been written too)."""
        marker = self.post({"query": "{ __typename }", "operationName": None}).headers["x-request-id"]
        for _ in range(200):
            lines = self.log.read_text(errors="replace").splitlines()
            if any(marker in line and "gql.request" in line for line in lines):
                return lines
            time.sleep(0.05)  # the record follows the answer by a moment
        raise AssertionError(f"request {marker} never logged:\n" + "\n".join(lines))


def _uvicorn_factory(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", PROBE, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "info", "--no-access-log"]


@contextmanager
def _serve(tmp_path_factory: pytest.TempPathFactory, db_url: str, log_format: str,
           command: Callable[[int], list[str]] = _uvicorn_factory) -> Iterator[Server]:
    """A `Server` running `command(port)` with LOG_FORMAT=`log_format`."""
    port = free_port()
    folder = tmp_path_factory.mktemp(f"log-{log_format}")
    log, stdout = folder / "stderr.log", folder / "stdout.log"
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_FORMAT": log_format, "MAX_BODY_BYTES": "2000",
           "RATE_LIMIT_ENABLED": "false", "HOST": "127.0.0.1", "PORT": str(port), "SEED_ON_START": "false"}
    env.pop("LOG_LEVEL", None)
    with log.open("wb") as stderr, stdout.open("wb") as out, \
            serving_process(command(port), port, env, stderr=stderr, stdout=out), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
        yield Server(http, log, stdout)


@pytest.fixture(scope="module")
def json_server(db: str, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _serve(tmp_path_factory, db_url, "json") as server:
        yield server


@pytest.fixture(scope="module")
def text_server(db: str, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _serve(tmp_path_factory, db_url, "text") as server:
        yield server


def json_records(server: Server) -> list[dict[str, Any]]:
    """Every record the server has written, each line asserted to be one JSON object."""
    return [assert_json_line(line) for line in server.settled_lines()]


def request_record(records: list[dict[str, Any]], response: httpx.Response) -> dict[str, Any]:
    """The one `gql.request` record of `response`."""
    [record] = [entry for entry in records if entry["logger"] == "gql.request"
                and entry["request_id"] == response.headers["x-request-id"]]
    assert record["level"] == "INFO" and record["transport"] == "http" and record["client"] == "127.0.0.1"
    assert record["status"] == response.status_code
    return record


def test_a_query_is_one_json_record_with_what_it_was_answered(json_server: Server) -> None:
    response = json_server.post({"query": BOARDS, "operationName": "Boards"})
    assert response.status_code == 200 and response.json()["data"]["boards"]
    again = json_server.post({"query": BOARDS, "operationName": "Boards"})
    records = json_records(json_server)
    assert any(entry["logger"] == "uvicorn.error" and entry["message"].startswith("Started server process")
               for entry in records)  # uvicorn's own records are JSON too
    first = request_record(records, response)
    assert first["method"] == "POST" and first["message"] == "POST query 200"
    assert (first["operation_type"], first["operation_name"]) == ("query", "Boards")
    assert first["cost"] == response.json()["extensions"]["cost"]["requested"] > 0
    assert first["statements"] > 0 and first["error_codes"] == [] and first["signed_in"] is False
    assert first["cache"] == response.headers["x-cache"] == "MISS"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    # The same answer again, from the response cache: no SQL.
    cached = request_record(records, again)
    assert (cached["cache"], cached["statements"]) == (again.headers["x-cache"], 0) == ("HIT", 0)
    assert json_server.stdout.read_text() == ""  # no access log


@pytest.mark.parametrize(("body", "status", "code"), [
    ("{ boards { ", 400, "GRAPHQL_PARSE_FAILED"),
    ("{ boards { nope } }", 400, "GRAPHQL_VALIDATION_FAILED"),
    ("{ boards { slug } } #" + "x" * 3000, 413, "PAYLOAD_TOO_LARGE"),
], ids=["parse error", "validation error", "body too large"])
def test_a_refusal_has_its_status_and_code(json_server: Server, body: str, status: int, code: str) -> None:
    response = json_server.post({"query": body})
    assert response.status_code == status
    record = request_record(json_records(json_server), response)
    assert record["error_codes"] == [code] and record["statements"] == 0
    if status == 413:  # refused before an operation was read or admitted
        assert (record["operation_type"], record["cost"]) == (None, None)


def test_a_masked_error_carries_its_traceback_in_one_json_record(json_server: Server) -> None:
    hostile = HOSTILE[0]
    response = json_server.post({"query": "query Lookup($s: String!) { post(slug: $s) { id } }",
                                 "variables": {"s": hostile}, "operationName": "Lookup"})
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error" and "Traceback" not in response.text
    request_id = error["extensions"]["requestId"]
    records = json_records(json_server)
    [logged] = [entry for entry in records if entry["logger"] == "gql.errors" and request_id in entry["message"]]
    assert logged["level"] == "ERROR" and logged["message"].startswith(f"request {request_id}: operation 'Lookup'")
    assert logged["traceback"].startswith("Traceback (most recent call last):\n")
    assert logged["traceback"].endswith(f"LookupError: no post with slug {hostile}")
    assert request_record(records, response)["error_codes"] == ["INTERNAL_SERVER_ERROR"]


def test_an_operation_name_cannot_start_a_json_line(json_server: Server) -> None:
    responses = {name: json_server.post({"query": BOARDS, "operationName": name}) for name in HOSTILE_JSON}
    records = json_records(json_server)  # every line still one JSON object
    for name, response in responses.items():
        # Refused (no operation has that name); the record names it exactly, or not at all.
        assert response.status_code == 400
        assert request_record(records, response)["operation_name"] in (name, None)
    assert_no_forged_line(json_server.log.read_text())


async def test_a_websocket_operation_is_one_record_too(json_server: Server) -> None:
    async with acknowledged(str(json_server.http.base_url), None) as socket:
        await socket.send(orjson.dumps({"id": "op-1", "type": "subscribe",
                                        "payload": {"query": BOARDS, "operationName": "Boards"}}).decode())
        assert (await next_message(socket, "next"))["payload"]["data"]["boards"]
        await next_message(socket, "complete")
    [record] = [entry for entry in json_records(json_server)
                if entry["logger"] == "gql.request" and entry["transport"] == "ws"]
    assert (record["method"], record["operation_type"], record["operation_name"]) == ("WS", "query", "Boards")
    assert (record["status"], record["error_codes"], record["client"]) == (200, [], "127.0.0.1")
    assert record["statements"] > 0 and record["cost"] > 0 and record["request_id"]


def test_text_is_one_escaped_line_per_request(text_server: Server) -> None:
    response = text_server.post({"query": BOARDS, "operationName": "Boards"})
    hostile = {name: text_server.post({"query": BOARDS, "operationName": name}) for name in HOSTILE}
    lines = text_server.settled_lines()
    request_lines = [line for line in lines if line.startswith("INFO gql.request: ")]
    [line] = [line for line in request_lines if f"request_id={response.headers['x-request-id']} " in line]
    assert " method=POST operation_type=query operation_name='Boards' status=200 " in line
    fields = dict(pair.split("=", 1) for pair in line.removeprefix("INFO gql.request: ").split(" "))
    assert int(fields["statements"]) > 0 and int(fields["cost"]) > 0 and fields["client"] == "127.0.0.1"
    assert (fields["error_codes"], fields["signed_in"], fields["cache"]) == ("-", "no", "MISS")
    for name, answered in hostile.items():
        [line] = [line for line in request_lines if f"request_id={answered.headers['x-request-id']} " in line]
        assert f" operation_name={name!r} " in line or " operation_name=- " in line  # exactly, or not at all
    assert_no_forged_line("\n".join(lines))
    assert not any(line.startswith("{") for line in lines)  # text, not JSON


def test_uvicorn_options_write_every_record_of_a_served_process_as_json(
        db: str, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """What `community-api serve` passes to `uvicorn.run`, after its `logging.basicConfig`: uvicorn's
    records from the very first (before the app is built) are JSON, and there is no access log."""
    def as_the_cli_serves(port: int) -> list[str]:
        return [sys.executable, "-c",
                "import logging, uvicorn; from gql.ops.logs import uvicorn_options; from gql.settings import Settings; "
                "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s'); "
                f"uvicorn.run('gql.app:create_app', factory=True, host='127.0.0.1', port={port}, log_level='info', "
                "**uvicorn_options(Settings.from_env()))"]

    with _serve(tmp_path_factory, db_url, "json", as_the_cli_serves) as server:
        response = server.post({"query": BOARDS, "operationName": "Boards"})
        records = json_records(server)
    assert request_record(records, response)["operation_name"] == "Boards"
    loggers = [entry["logger"] for entry in records]
    assert loggers.count("uvicorn.error") >= 2 and "uvicorn.access" not in loggers
    assert server.stdout.read_text() == ""
    assert records[0]["message"].startswith("Started server process")  # the first of uvicorn's, as JSON


def test_community_api_serve_writes_nothing_but_json(db: str, db_url: str,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    """The production command, migration included: every line on stderr is a JSON record, the
    request's own among them, and nothing on stdout is an access log line."""
    with _serve(tmp_path_factory, db_url, "json", lambda port: [sys.executable, "-m", "gql.cli", "serve"]) as server:
        response = server.post({"query": BOARDS, "operationName": "Boards"})
        records = json_records(server)
    assert request_record(records, response)["statements"] > 0
    assert any(entry["logger"] == "uvicorn.error" for entry in records)
    assert "uvicorn.access" not in server.stdout.read_text() and "POST /graphql" not in server.stdout.read_text()


# Transport, processes and logs behave the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
