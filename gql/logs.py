"""Every log record stays one line at column 0, whatever text it carries.

Exception messages repeat what clients sent (a library's ValidationError quotes the value it
refused), and a CR/LF in them would start a line that reads as a record of its own: a forged
`ERROR gql.errors: …` in the log. So the handlers that write our logs format through
`OneLineRecords`: control characters in the message are escaped (`\\n`, `\\r`, `\\x1b`, …), and the
traceback and stack lines that follow a record are each marked with `CONTINUATION`, so that no
line but a record's first starts at column 0. `install` puts it on every handler configured when
the app is built (uvicorn's, `logging.basicConfig`'s), adding a stderr handler for `gql.*` and
uncaught exceptions where none is configured (a plain `uvicorn --factory` run).
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from typing import Any

CONTINUATION = "  | "
FORMAT = "%(levelname)s %(name)s: %(message)s"

_ESCAPE_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 and C1 controls, DEL, and the separators str.splitlines() breaks lines at.
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
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


def install() -> None:
    """Format every configured handler's records as `OneLineRecords` (once: idempotent), and give
    the root logger a stderr handler when it has none, so that `gql.*` records and uncaught
    exceptions are written that way too rather than by logging's unformatted last resort."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    loggers = [root, *(logger for logger in logging.Logger.manager.loggerDict.values()
                       if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not isinstance(handler.formatter, OneLineRecords):
                handler.setFormatter(OneLineRecords(handler.formatter))


# Request IDs: a random prefix per process and a counter. Unique across workers and restarts,
# which is all log correlation needs, without a urandom system call per request.
_REQUEST_ID_PREFIX = os.urandom(8).hex()
_request_serial = itertools.count(1)


def new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_serial):016x}"
