"""What one request was, once it is answered: the one record the request log and the metrics read.

Why: a request counted in the metrics must be the request logged, with the same status, duration
and cost, and only the transport knows those at the end. So the HTTP endpoint builds one `Served`
per request (a batch is one request) and the WebSocket view one per operation (a subscription
when it ends), and hands it to `report`; the request log (gql/ops/logs.py) and the metrics
(gql/ops/metrics.py) are observers, added with `observe`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger("gql.served")

HTTP = "http"
WEBSOCKET = "ws"


@dataclass(slots=True)
class Served:
    transport: str  # HTTP or WEBSOCKET
    request_id: str
    # The client as the guard resolved it (TRUSTED_PROXIES), the budget's key for anonymous callers.
    client: str
    method: str  # "GET", "POST" (any other is refused with 405) or "WS"
    # The HTTP status; for a WebSocket operation 200, or the status its refusal would have had.
    status: int = 200
    # Seconds from the request's arrival (a WebSocket operation's `subscribe`) to its answer sent
    # (a subscription's end).
    duration: float = 0.0
    # "query", "mutation" or "subscription"; "batch" for a batched request; None when the request
    # was refused before an operation was read (a 413, a malformed body).
    operation_type: str | None = None
    operation_name: str | None = None
    # Cost points the guard charged; None when refused before admission.
    cost: int | None = None
    # SQL statements the request ran (models/touched.py counts them).
    statements: int = 0
    # `extensions.code` of each error answered, refusals included, in order.
    error_codes: list[str] = field(default_factory=list)
    # "HIT" or "MISS" when the response cache was asked (gql/cache), else None.
    cache: str | None = None
    # Whether a signed-in viewer asked (a token was presented and accepted).
    signed_in: bool = False
    started: float = field(default_factory=time.perf_counter, repr=False)

    def finish(self) -> None:
        """The request is answered: take its duration and tell the observers."""
        self.duration = time.perf_counter() - self.started
        report(self)


Observer = Callable[[Served], None]
_observers: list[Observer] = []


def observe(observer: Observer) -> Callable[[], None]:
    """Call `observer(served)` for every request answered from now on; returns what stops it."""
    _observers.append(observer)
    return lambda: _observers.remove(observer) if observer in _observers else None


def report(served: Served) -> None:
    for observer in _observers:
        try:
            observer(served)
        except Exception:  # a broken observer must not fail the request it observes
            logger.exception("observing request %s failed", served.request_id)
