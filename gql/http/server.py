"""uvicorn's httptools protocol, with the limits httptools and uvicorn leave out.

Why: httptools buffers a request head for as long, and as large, as a client cares to send it,
and uvicorn's keep-alive timeout stops counting at the first byte of a request. One byte every
few seconds held a connection (and its buffers) open indefinitely, and a 32 MB header was read
whole. This protocol gives every request head a deadline and a size cap, gives a body that the
application is not reading (any more) a deadline too, and refuses connections past a cap, so
that what a connection costs is bounded in bytes and in seconds. `read_body` in gql/http/transport.py
times the bodies the GraphQL endpoint reads itself (with a coded 408); the body timer here is
the backstop for every other route, and for bodies still trickling in after the answer.

`community-api serve` uses it; `uvicorn ... --http gql.http.server:LimitedHttpToolsProtocol` too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, cast

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gql.settings import Settings

logger = logging.getLogger("gql.http")

# After a refusal we stop sending (FIN) and drop what still comes in this long before closing: a
# close with unread bytes resets the connection, and the client could lose the answer to it.
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    max_header_bytes: int
    body_gap: float
    body_total: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(settings.header_timeout_seconds, settings.max_header_bytes,
                   settings.body_read_timeout_seconds, settings.body_timeout_seconds)


@cache
def _limits_from_env() -> ConnectionLimits:
    return ConnectionLimits.from_settings(Settings.from_env())


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is being refused."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus: a head deadline (408), a head size cap (431), a deadline for body
    bytes nobody is waiting on (408 or close), and `limit_concurrency` applied to connections as
    soon as they open (503), not only to requests whose head is complete."""

    # Set by `configure` (serve); otherwise read once from the environment, like the app's settings.
    limits: ClassVar[ConnectionLimits | None] = None

    @classmethod
    def configure(cls, settings: Settings) -> type[LimitedHttpToolsProtocol]:
        cls.limits = ConnectionLimits.from_settings(settings)
        return cls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = type(self).limits or _limits_from_env()
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_bytes = 0  # request target and complete headers of the head being read
        self._line_bytes = 0  # bytes of a header line still inside httptools' buffers
        self._parsed = False  # whether a callback counted bytes during the current feed
        self._body_timer: asyncio.TimerHandle | None = None
        self._in_body = False
        self._body_started = 0.0
        self._body_progress = 0.0
        self._linger: asyncio.TimerHandle | None = None

    # -- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio hands a protocol a BaseTransport; uvicorn's protocol narrows it to the Transport it gets.
        super().connection_made(cast(asyncio.Transport, transport))
        if self.limit_concurrency and len(self.connections) > self.limit_concurrency:
            # Before any byte is buffered: half-open connections must not pile up past the cap.
            self._refuse(503, "SERVICE_UNAVAILABLE", "Too many open connections, retry later")
            return
        # The first head must be complete this long after connecting (an idle socket included).
        self._head_timer = self.loop.call_later(self._limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, plus the counting of a header line httptools is still buffering.
        if self._refused:
            return
        self._unset_keepalive_if_required()
        self._parsed = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, _Refused):
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._in_head:
            if not self._parsed:
                # The whole chunk went into one header line httptools keeps until its end.
                self._line_bytes += len(data)
                if self._head_too_large():
                    return
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self._limits.header_timeout, self._head_timed_out)
        if self._in_body and self._body_timer is None:
            self._body_timer = self.loop.call_later(self._limits.body_gap, self._body_timed_out)

    def handle_websocket_upgrade(self) -> None:
        # The transport is the WebSocket protocol's from now on: none of our timers may close it.
        self._stop_timers()
        self._in_head = self._in_body = False
        super().handle_websocket_upgrade()

    # -- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._parsed = True, True
        self._head_bytes = self._line_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        self._in_body = True
        self._body_started = self._body_progress = self.loop.time()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_progress = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # -- limits --------------------------------------------------------------------------------

    def _count_head(self, size: int) -> None:
        self._parsed = True
        self._line_bytes = 0
        self._head_bytes += size
        if self._head_too_large():
            raise _Refused

    def _head_too_large(self) -> bool:
        limit = self._limits.max_header_bytes
        if self._head_bytes + self._line_bytes <= limit:
            return False
        logger.warning("%s: request head over %d bytes refused (431)", self._peer(), limit)
        if self._answering():
            self._close()
        else:
            self._refuse(431, "REQUEST_HEADER_FIELDS_TOO_LARGE", f"The request head is larger than {limit} bytes")
        return True

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._refused or self.transport.is_closing():
            return
        if self.flow.read_paused:
            # Pipelined requests wait for ours: the client is not the slow one.
            self._head_timer = self.loop.call_later(self._limits.header_timeout, self._head_timed_out)
            return
        seconds = self._limits.header_timeout
        if not self._in_head:
            # Not a byte of a request since connecting: nothing to answer.
            logger.warning("%s: no request within %g s, closed", self._peer(), seconds)
            self._close()
        elif self._answering():
            logger.warning("%s: request head incomplete after %g s, closed", self._peer(), seconds)
            self._close()
        else:
            logger.warning("%s: request head incomplete after %g s (408)", self._peer(), seconds)
            self._refuse(408, "REQUEST_TIMEOUT", f"The request head was not complete within {seconds:g} s")

    def _body_timed_out(self) -> None:
        """The body stopped arriving, or took too long. While the application still owes the
        answer it gets twice the time (its own read timeout answers first); after the answer,
        a body still trickling in is cut at the limits themselves."""
        self._body_timer = None
        if not self._in_body or self._refused or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:
            # We stopped reading (the application has not taken what came): not the client's fault.
            self._body_progress = now
            self._body_timer = self.loop.call_later(self._limits.body_gap, self._body_timed_out)
            return
        cycle = self.cycle
        app_owes_answer = cycle is not None and not cycle.response_started
        factor = 2 if app_owes_answer else 1
        deadline = min(self._body_progress + factor * self._limits.body_gap,
                       self._body_started + factor * self._limits.body_total)
        if now < deadline:
            self._body_timer = self.loop.call_later(deadline - now, self._body_timed_out)
            return
        if app_owes_answer:
            logger.warning("%s: request body stalled (408)", self._peer())
            # The application's next receive() sees a disconnect, and whatever it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(408, "REQUEST_TIMEOUT", "The request body did not arrive in time")
        else:
            logger.warning("%s: request body still arriving after the answer, closed", self._peer())
            self._close()

    # -- helpers -------------------------------------------------------------------------------

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]:d}" if self.client else "client"

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer a coded JSON error (as the GraphQL endpoint's refusals are) and close. Only where
        no response is under way: callers close instead of interleaving two."""
        body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: application/json\r\ncontent-length: ", str(len(body)).encode(),
                        b"\r\nconnection: close\r\ncache-control: no-store\r\n\r\n", body])
        self.transport.write(b"".join(content))
        if not self.transport.can_write_eof():
            self._close()
            return
        self._refused = True  # data_received drops whatever still arrives
        self._stop_timers()
        self.transport.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _close(self) -> None:
        self._refused = True
        self._stop_timers()
        self.transport.close()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _stop_timers(self) -> None:
        self._cancel_head_timer()
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
