"""Every log record stays one line at column 0, whatever text it carries: escaped text or JSON.

Exception messages repeat what clients sent (a library's ValidationError quotes the value it
refused), and a CR/LF in them would start a line that reads as a record of its own: a forged
`ERROR gql.errors: …` in the log. So the handlers that write our logs format through
`OneLineRecords`: control characters in the message are escaped (`\\n`, `\\r`, `\\x1b`, …), and the
traceback and stack lines that follow a record are each marked with `CONTINUATION`, so that no
line but a record's first starts at column 0. `install` puts it on every handler configured when
the app is built (uvicorn's, `logging.basicConfig`'s), adding a stderr handler for `gql.*` and
uncaught exceptions where none is configured (a plain `uvicorn --factory` run).

With LOG_FORMAT=json (production's default) the handlers format through `JsonLines` instead: one
JSON object per line, which a log pipeline reads without parsing text, the traceback a field of
its record. Each request answered is one `gql.request` record (`log_requests` registers the
observer of gql/ops/served.py) whose facts are JSON keys, or `key=value` pairs in the text format.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from gql.ops.encoding import dumps
from gql.ops.served import Served, observe

if TYPE_CHECKING:
    from gql.settings import Settings

CONTINUATION = "  | "
FORMAT = "%(levelname)s %(name)s: %(message)s"

_ESCAPE_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 and C1 controls, DEL, and the separators str.splitlines() breaks lines at; and lone surrogates,
# which no UTF-8 stream can write (a handler's strict stream would fail on them).
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000)]
_ESCAPES: dict[int, str] = {
    code: _ESCAPE_NAMES.get(chr(code), f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _CONTROLS
}
# What a colouring formatter (uvicorn's on a terminal) may add itself: keep its ESC, nothing else.
_ESCAPES_BUT_ESC = {code: text for code, text in _ESCAPES.items() if code != 0x1B}


def escape(text: str) -> str:
    """`text` with every control character written as an escape: one line, no terminal codes."""
    return text.translate(_ESCAPES)


class OneLineRecords(logging.Formatter):
    """Formats through `inner` (the handler's own formatter), on a copy of the record whose message
    and string arguments are escaped; then appends the traceback and stack, escaped and marked."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        keep = _ESCAPES_BUT_ESC if getattr(self.inner, "use_colors", False) else _ESCAPES
        first = self.inner.format(_headline(record)).translate(keep)
        details = []
        if record.exc_info:
            details.append(self.inner.formatException(record.exc_info))
        elif record.exc_text:
            details.append(record.exc_text)
        if record.stack_info:
            details.append(self.inner.formatStack(record.stack_info))
        lines = (line for text in details for line in text.rstrip("\n").split("\n"))
        return first + "".join(f"\n{CONTINUATION}{escape(line)}" for line in lines)


def _headline(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of `record` without traceback or stack, its message and string arguments escaped
    (arguments stay arguments: uvicorn's access formatter reads them one by one)."""
    copy = logging.makeLogRecord(record.__dict__)
    copy.exc_info, copy.exc_text, copy.stack_info = None, None, None
    if isinstance(copy.msg, str):
        # uvicorn ends "Exception in ASGI application\n" with a newline of its own.
        copy.msg = escape(copy.msg.rstrip("\r\n"))
    if isinstance(copy.args, tuple):
        copy.args = tuple(_escaped(arg) for arg in copy.args)
    elif isinstance(copy.args, dict):
        copy.args = {key: _escaped(value) for key, value in copy.args.items()}
    return copy


def _escaped(value: Any) -> Any:
    return escape(value) if isinstance(value, str) else value


class JsonLines(logging.Formatter):
    """Each record as one JSON object on one line: `time` (ISO 8601, UTC), `level`, `logger`,
    `message`, the fields given with `extra=`, and `traceback` / `stack` as strings. orjson
    escapes the C0 controls; what it leaves raw and a reader may still break lines at, or a
    terminal obey (DEL, C1, U+2028/9), is escaped after it. `inner`, the handler's formatter before
    ours, is kept unused so that `install` can go back to text."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            # An extra field may not pass itself off as one of the four above.
            if name not in _RECORD_ATTRIBUTES and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Total (gql/ops/encoding.py): a field orjson refuses even through str() (an int over 64 bits, a
        # lone surrogate in a quoted value) is written another way, never an exception in logging.
        line = dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        return line if line.isascii() and "\x7f" not in line else line.translate(_JSON_ESCAPES)


# What every LogRecord has (not an `extra=` field), and uvicorn's coloured copy of its message.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
# Valid JSON escapes for what orjson writes raw (it escapes only below U+0020, as JSON requires).
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)}


def formatter(log_format: str) -> logging.Formatter:
    """A formatter of a fresh handler in `log_format` ("json" or "text"); a logging config may
    name it (`"()": "gql.ops.logs.formatter"`, see `uvicorn_options`)."""
    return JsonLines() if log_format == "json" else OneLineRecords()


def install(settings: Settings | None = None) -> None:
    """Format every configured handler's records in the settings' LOG_FORMAT (text without
    settings), once: idempotent, and a second call with the other format switches back. Give the
    root logger a stderr handler when it has none, so that `gql.*` records and uncaught
    exceptions are written that way too rather than by logging's unformatted last resort. And let
    `gql.request` records through at LOG_LEVEL, whatever the root's level (WARNING by default)."""
    log_format = settings.effective_log_format if settings is not None else "text"
    wanted = JsonLines if log_format == "json" else OneLineRecords
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    loggers = [root, *(logger for logger in logging.Logger.manager.loggerDict.values()
                       if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler.formatter) is not wanted:
                original = handler.formatter.inner if isinstance(handler.formatter, (OneLineRecords, JsonLines)) \
                    else handler.formatter
                handler.setFormatter(wanted(original))
    level = logging.getLevelName((settings.log_level if settings is not None else "info").upper())
    request_logger.setLevel(level if isinstance(level, int) else logging.INFO)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` in `community-api serve`: no access log (each request's
    `gql.request` record says more), and a logging config whose one stderr handler, the root's,
    formats in LOG_FORMAT from the start: uvicorn's records (which propagate to it) included,
    before the app is built and after. It replaces `logging.basicConfig`'s handler."""
    return {
        "access_log": False,
        "log_config": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"ours": {"()": f"{__name__}.formatter", "log_format": settings.effective_log_format}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "ours",
                                    "stream": "ext://sys.stderr"}},
            "root": {"handlers": ["stderr"], "level": "INFO"},
        },
    }


# --- The request log -----------------------------------------------------------------------------

request_logger = logging.getLogger("gql.request")


def _request_fields(served: Served) -> dict[str, Any]:
    return {
        "request_id": served.request_id,
        "transport": served.transport,
        "method": served.method,
        "operation_type": served.operation_type,
        "operation_name": served.operation_name,
        "status": served.status,
        "duration_ms": round(served.duration * 1000, 3),
        "statements": served.statements,
        "cost": served.cost,
        "client": served.client,
        "cache": served.cache,
        "error_codes": served.error_codes,
        "signed_in": served.signed_in,
    }


def _log_request_as_json(served: Served) -> None:
    if request_logger.isEnabledFor(logging.INFO):
        # The facts are the keys; the message sums them up for a viewer that shows messages only.
        request_logger.info("%s %s %s", served.method, served.operation_type or "-", served.status,
                            extra=_request_fields(served))


# The JSON keys as `key=value` pairs, in their order.
_TEXT_LINE = " ".join(f"{name}=%({name})s" for name in _request_fields(Served("", "", "", "")))


def _log_request_as_text(served: Served) -> None:
    if request_logger.isEnabledFor(logging.INFO):
        fields = _request_fields(served)
        # Client text, quoted so that its spaces cannot pose as pairs (and escaped again by the formatter).
        fields["operation_name"] = "-" if served.operation_name is None else repr(served.operation_name)
        fields["error_codes"] = ",".join(served.error_codes) or "-"
        fields["signed_in"] = "yes" if served.signed_in else "no"
        request_logger.info(_TEXT_LINE, {name: "-" if value is None else value for name, value in fields.items()})


_stop_request_log: Callable[[], None] | None = None


def log_requests(settings: Settings) -> None:
    """Log every request answered from now on as one `gql.request` record in LOG_FORMAT. Once per
    process: building the app again (tests build many) replaces the observer, never adds one."""
    global _stop_request_log
    if _stop_request_log is not None:
        _stop_request_log()
    as_json = settings.effective_log_format == "json"
    _stop_request_log = observe(_log_request_as_json if as_json else _log_request_as_text)


# Request IDs: a random prefix per process and a counter. Unique across workers and restarts,
# which is all log correlation needs, without a urandom system call per request.
_REQUEST_ID_PREFIX = os.urandom(8).hex()
_request_serial = itertools.count(1)


def new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_serial):016x}"
