"""Prometheus metrics at `/metrics`: what was served, read from the one record of each request.

Why here and not in the transports: a request counted must be the request logged, so the metrics
observe `Served` (gql/ops/served.py) like the request log does; only the two gauges (open WebSockets,
active subscriptions) are told by gql/http/websocket.py as sockets and subscriptions come and go.

Several uvicorn workers each count their own requests, and a scrape reaches one of them. With
PROMETHEUS_MULTIPROC_DIR set, prometheus-client's multiprocess mode keeps every worker's values
in files there and `/metrics` sums them all (a worker that stops removes its gauges' files:
`worker_stopped`); `community-api serve` prepares the directory before starting workers
(`prepare_multiprocess_dir`). Without it (one process, tests) the values live in memory.

Label values are bounded and chosen by the server, never by a client: no operation name, no
address; an unexpected value is folded into a catch-all, so a client cannot mint time series.
"""

from __future__ import annotations

import atexit
import functools
import glob
import hmac
import os
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gql.ops.served import HTTP, WEBSOCKET, Served, observe

if TYPE_CHECKING:
    from gql.settings import Settings

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

TRANSPORTS = frozenset({HTTP, WEBSOCKET})
OPERATION_TYPES = frozenset({"query", "mutation", "subscription", "batch"})
NO_OPERATION = "none"  # refused before the operation's type was known (413, a malformed body, a limit)
CACHE_RESULTS = frozenset({"HIT", "MISS"})
OTHER = "OTHER"
# Our error codes are constants in our code (about 40); the shape check and the cap are a fuse in
# case an error ever carries a code a client chose: past the cap, new codes count as OTHER.
ERROR_CODE_SHAPE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")
MAX_ERROR_CODES = 100
RATE_LIMITED_STATUS = 429
RATE_LIMITED_CODES = frozenset({"RATE_LIMITED"})

# From a cached answer (well under 5 ms) to the request time limit (REQUEST_TIMEOUT_SECONDS, 10 s).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The landing page runs about 25 statements; an N+1 regression shows up as hundreds.
STATEMENT_BUCKETS = (0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def prepare_multiprocess_dir(environ: MutableMapping[str, str]) -> None:
    """For the supervisor, before it starts workers (which inherit `environ`).

    Unset: a fresh temporary directory is made, named in `environ`, and removed when this process
    exits. Set: the directory is made if missing, and its `*.db` files are deleted, because the
    collector sums every file it finds, and a previous run's would be added to this one's."""
    path = environ.get(MULTIPROC_DIR_VARIABLE)
    if not path:
        path = tempfile.mkdtemp(prefix="community-api-metrics-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        environ[MULTIPROC_DIR_VARIABLE] = path
        return
    os.makedirs(path, exist_ok=True)
    # Only prometheus-client's own files: the variable might name a directory holding others.
    for kind in ("counter", "gauge", "histogram", "summary"):
        for stale in glob.glob(os.path.join(path, f"{kind}_*.db")):
            os.remove(stale)


@dataclass(frozen=True)
class Instruments:
    requests: Counter
    duration: Histogram
    statements: Histogram
    errors: Counter
    rate_limited: Counter
    cache: Counter
    websockets: Gauge
    subscriptions: Gauge


@functools.cache
def instruments() -> Instruments:
    """This process's metrics, made on first use (once: a registry refuses a name twice).

    prometheus-client decides where values live (memory or the multiprocess directory) when it
    is first imported. A supervisor that imports this module, then prepares the directory, then
    serves in its own process (one worker) would count in memory while `/metrics` reads the
    files; so the choice is made again here, from the environment of now, before any metric."""
    multiprocess_mode = multiprocess_dir() is not None
    if values.ValueClass._multiprocess != multiprocess_mode:
        values.ValueClass = values.MultiProcessValue() if multiprocess_mode else values.MutexValue
    # No `_created` series beside each counter and histogram: they double the series scraped,
    # and the multiprocess mode has none, so one process and several expose the same names.
    disable_created_metrics()
    transport_and_operation = ["transport", "operation"]
    return Instruments(
        requests=Counter("community_api_requests", "Requests answered (a WebSocket operation is one; a batch is one)",
                         ["transport", "operation", "status"]),
        duration=Histogram("community_api_request_duration_seconds",
                           "Seconds from a request's arrival to its answer (a subscription: how long it was open)",
                           transport_and_operation, buckets=DURATION_BUCKETS),
        statements=Histogram("community_api_request_sql_statements", "SQL statements one request ran",
                             transport_and_operation, buckets=STATEMENT_BUCKETS),
        errors=Counter("community_api_graphql_errors", "GraphQL errors answered, refusals included, by extensions.code",
                       ["code"]),
        rate_limited=Counter("community_api_rate_limited", "Requests refused by a rate or login-attempt limit",
                             ["transport", "code"]),
        cache=Counter("community_api_response_cache_lookups", "Response cache lookups by result", ["result"]),
        # livesum: the sum over the workers alive now (a stopped worker's files are removed).
        websockets=Gauge("community_api_websockets_open", "WebSocket connections open",
                         multiprocess_mode="livesum"),
        subscriptions=Gauge("community_api_subscriptions_active", "GraphQL subscriptions running",
                            multiprocess_mode="livesum"),
    )


_error_codes_seen: set[str] = set()


def bounded_error_code(code: object) -> str:
    if not isinstance(code, str) or not ERROR_CODE_SHAPE.fullmatch(code):
        return OTHER
    if code not in _error_codes_seen:
        if len(_error_codes_seen) >= MAX_ERROR_CODES:
            return OTHER
        _error_codes_seen.add(code)
    return code


def bounded_status(status: int) -> str:
    return str(status) if isinstance(status, int) and 100 <= status <= 599 else OTHER


def record(served: Served) -> None:
    """The observer: one `Served` into every metric it concerns."""
    metrics = instruments()
    transport = served.transport if served.transport in TRANSPORTS else OTHER
    operation = served.operation_type if served.operation_type in OPERATION_TYPES else NO_OPERATION
    metrics.requests.labels(transport, operation, bounded_status(served.status)).inc()
    metrics.duration.labels(transport, operation).observe(max(served.duration, 0.0))
    metrics.statements.labels(transport, operation).observe(max(served.statements, 0))
    codes = [bounded_error_code(code) for code in served.error_codes]
    for code in codes:
        metrics.errors.labels(code).inc()
    limited = [code for code in codes if code in RATE_LIMITED_CODES]
    if limited or served.status == RATE_LIMITED_STATUS:
        metrics.rate_limited.labels(transport, (limited or codes or [OTHER])[0]).inc()
    if served.cache in CACHE_RESULTS:
        metrics.cache.labels(served.cache).inc()


def websocket_opened() -> None:
    instruments().websockets.inc()


def websocket_closed() -> None:
    instruments().websockets.dec()


def subscription_started() -> None:
    instruments().subscriptions.inc()


def subscription_ended() -> None:
    instruments().subscriptions.dec()


_recording_apps: set[object] = set()
_stop_observing: Callable[[], None] | None = None


def start_recording() -> Callable[[], None]:
    """Observe every request answered while an app runs (called from its lifespan); returns what
    its end calls. One observer per process however many apps run in it (tests run two side by
    side as two workers), so that no request is counted twice."""
    global _stop_observing
    instruments()
    app = object()
    if _stop_observing is None:
        _stop_observing = observe(record)
    _recording_apps.add(app)

    def stop() -> None:
        global _stop_observing
        _recording_apps.discard(app)
        if not _recording_apps and _stop_observing is not None:
            _stop_observing()
            _stop_observing = None

    return stop


def worker_stopped(pid: int | None = None) -> None:
    """A worker is stopping: its gauges leave the multiprocess sum (its counters stay in it)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid() if pid is None else pid, path)


@functools.cache
def _multiprocess_registry(path: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # reads every worker's files at each scrape
    return registry


def exposition() -> bytes:
    """The Prometheus text format: every worker's values summed, or this process's (with its
    process and GC metrics) when there is no multiprocess directory."""
    instruments()
    path = multiprocess_dir()
    return generate_latest(_multiprocess_registry(path) if path is not None else REGISTRY)


_NO_STORE = {"Cache-Control": "no-store"}


class MetricsEndpoint:
    """`GET /metrics`, behind `Authorization: Bearer METRICS_TOKEN` when a token is set."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode() if token else None

    async def answer(self, request: Request) -> Response:
        if self._expected is not None:
            given = request.headers.get("Authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, self._expected):
                body = {"errors": [{"message": "/metrics needs Authorization: Bearer <METRICS_TOKEN>",
                                    "extensions": {"code": "UNAUTHENTICATED"}}]}
                return JSONResponse(body, status_code=401, headers={**_NO_STORE, "WWW-Authenticate": "Bearer"})
        return Response(exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4, headers=_NO_STORE)


def endpoint_for(settings: Settings) -> Callable[[Request], Awaitable[Response]] | None:
    """The endpoint, or None where `/metrics` is not served: switched off, or production without
    a token (so that it is never public by accident; development without a token is open)."""
    if not settings.metrics_enabled or (settings.is_production and not settings.metrics_token):
        return None
    return MetricsEndpoint(settings.metrics_token).answer
