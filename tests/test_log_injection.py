"""A client's text cannot forge a log record: every record is one line at column 0.

Issue 9: a `posts(board:)` value with `\\nERROR gql.errors: …` in it reached the log through the
ValidationError Tortoise raised, and the traceback printed it as a line of its own. gql/ops/logs.py
formats every handler's records so that control characters in messages are escaped and the lines
of a traceback are marked as its continuation. Unit tests hold the formatter to that on records
of every shape; the end-to-end tests send hostile text to a real server, started both ways it is
started (`uvicorn --factory` and `community-api serve`), and read what it wrote to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest
from uvicorn.logging import AccessFormatter, DefaultFormatter

from gql.ops import logs
from tests.live_server import free_port, serving_process

FORGED = "ERROR gql.errors: request forged: admin logged in"
# Line breaks of every kind a log reader (or str.splitlines) may split at, and a terminal escape.
BREAKS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]
HOSTILE = [f"x{line_break}{FORGED}" for line_break in BREAKS] + [f"\x1b[2K\r{FORGED}"]


def _raised(message: str) -> logging.LogRecord:
    try:
        raise ValueError(message)
    except ValueError:
        return logging.makeLogRecord({"name": "gql.errors", "levelname": "ERROR", "levelno": logging.ERROR,
                                      "msg": "request %s failed", "args": ("r1",), "exc_info": sys.exc_info()})


def assert_one_record(text: str) -> None:
    """`text` is one record: its first line, then only continuation lines; nothing forged."""
    first, *rest = text.split("\n")
    assert all(line.startswith(logs.CONTINUATION) for line in rest), text
    assert not any(line.startswith(FORGED) for line in text.splitlines()), text
    assert "\r" not in text and "\x1b" not in text and len(text.splitlines()) == 1 + len(rest), text


# --- The formatter -------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_control_characters_in_a_message_are_escaped(hostile: str) -> None:
    formatter = logs.OneLineRecords()
    for record in (
        logging.makeLogRecord({"msg": hostile}),
        logging.makeLogRecord({"msg": "operation %s failed", "args": (hostile,)}),
        logging.makeLogRecord({"msg": "operation %(name)s failed", "args": {"name": hostile}}),
        logging.makeLogRecord({"msg": "failed: %s", "args": (ValueError(hostile),)}),  # str() of an object
    ):
        text = formatter.format(record)
        assert "\n" not in text and FORGED in text, text
        assert_one_record(text)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_traceback_carrying_the_text_continues_its_record(hostile: str) -> None:
    text = logs.OneLineRecords().format(_raised(hostile))
    first, *rest = text.split("\n")
    assert first == "ERROR gql.errors: request r1 failed"
    assert rest[0] == logs.CONTINUATION + "Traceback (most recent call last):"
    # A newline in the exception's message continues it on a marked line, like the traceback's own.
    assert any(line.startswith(logs.CONTINUATION + "ValueError: ") for line in rest)
    assert_one_record(text)


def test_a_stack_is_marked_too() -> None:
    record = logging.makeLogRecord({"msg": "here", "stack_info": f"Stack (most recent call last):\n{FORGED}"})
    assert_one_record(logs.OneLineRecords().format(record))


def test_uvicorn_formatters_keep_their_shape_and_colours_but_not_the_clients() -> None:
    access = logs.OneLineRecords(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    record = logging.makeLogRecord({"msg": '%s - "%s %s HTTP/%s" %d',
                                    "args": ("127.0.0.1:5", "GET", "/x\nERROR forged", "1.1", 200)})
    assert access.format(record) == '127.0.0.1:5 - "GET /x\\nERROR forged HTTP/1.1" 200 OK'

    coloured = logs.OneLineRecords(DefaultFormatter("%(levelprefix)s %(message)s", use_colors=True))
    text = coloured.format(logging.makeLogRecord({"levelname": "ERROR", "levelno": 40, "msg": "\x1b[2Kboom\n"}))
    assert text.count("\x1b[") == 2  # the formatter's own colour on and off; the client's escaped
    assert text.endswith("\\x1b[2Kboom")


def test_install_wraps_every_handler_once_and_gives_the_root_one(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    own = logging.getLogger("tests.log_injection.own")
    monkeypatch.setattr(own, "handlers", [logging.StreamHandler()])
    logs.install()
    logs.install()
    [added] = root.handlers
    for handler in (added, *own.handlers):
        assert isinstance(handler.formatter, logs.OneLineRecords)
        assert not isinstance(handler.formatter.inner, logs.OneLineRecords)


# --- A real server -------------------------------------------------------------------------------

PROBE = "tests.log_probe:create_app"


def _started_by_uvicorn(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", PROBE, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]


def _started_by_the_cli(port: int) -> list[str]:
    return [sys.executable, "-c", "import sys, tests.log_probe, gql.cli; sys.exit(gql.cli.main(['serve']))"]


@pytest.fixture(params=[(start, log_format) for log_format in ("text", "json")
                        for start in (_started_by_uvicorn, _started_by_the_cli)],
                ids=[f"{start} {log_format}" for log_format in ("text", "json")
                     for start in ("uvicorn --factory", "community-api serve")], scope="module")
def server(request: pytest.FixtureRequest, db: str, db_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[httpx.Client, Path, str]]:
    start, log_format = request.param
    port = free_port()
    log = tmp_path_factory.mktemp("log") / "stderr.log"
    env = {**os.environ, "DATABASE_URL": db_url, "HOST": "127.0.0.1", "PORT": str(port), "SEED_ON_START": "false",
           "LOG_LEVEL": "warning", "RATE_LIMIT_ENABLED": "false", "LOG_FORMAT": log_format}
    with log.open("wb") as stderr, serving_process(start(port), port, env, stderr=stderr), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
        yield http, log, log_format


def _logged(log: Path, marker: str) -> str:
    """What the server has written, once it has written `marker`."""
    for _ in range(100):
        text = log.read_text(errors="replace")
        if marker in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{marker!r} never logged:\n{text}")


def _json_records(text: str) -> list[dict[str, Any]]:
    """The JSON records in `text` (that every line a server writes is one: tests/test_request_log.py)."""
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


def assert_no_forged_line(text: str) -> None:
    assert not any(line.startswith(FORGED) for line in text.splitlines()), text
    assert "\r" not in text and "\x1b" not in text.replace("\x1b[", ""), text  # only colour codes, if any


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_resolver_error_quoting_the_client_forges_nothing(server: tuple[httpx.Client, Path, str],
                                                            hostile: str) -> None:
    http, log, log_format = server
    response = http.post("/graphql", json={"query": "query($s: String!) { post(slug: $s) { id } }", "variables": {"s": hostile}})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    text = _logged(log, f"request {request_id}:")
    if log_format == "json":  # the record, its traceback quoting the client exactly, is one line of JSON
        [record] = [entry for entry in _json_records(text)
                    if entry["logger"] == "gql.errors" and entry["message"].startswith(f"request {request_id}: ")]
        assert record["level"] == "ERROR" and record["traceback"].endswith(f"LookupError: no post with slug {hostile}")
    else:
        assert any(line.startswith(f"ERROR gql.errors: request {request_id}: ") for line in text.splitlines())
        # The client's text did reach the log, in the traceback's lines, each marked as a continuation.
        assert f"\n{logs.CONTINUATION}LookupError: no post with slug {logs.escape(hostile.splitlines()[0])}" in text
    assert_no_forged_line(text)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_an_uncaught_exception_quoting_the_client_forges_nothing(server: tuple[httpx.Client, Path, str],
                                                                 hostile: str) -> None:
    http, log, log_format = server
    marker = f"probe-{HOSTILE.index(hostile)}"
    # The server drops the connection after an uncaught exception: never reuse it.
    response = http.get("/probe/uncaught", params={"text": f"{marker}{hostile}"}, headers={"Connection": "close"})
    assert response.status_code == 500
    text = _logged(log, f"uncaught: {marker}")
    if log_format == "json":
        assert any(f"RuntimeError: uncaught: {marker}{hostile}" in entry.get("traceback", "")
                   for entry in _json_records(text))
    assert_no_forged_line(text)


# Transport, processes and logs behave the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
