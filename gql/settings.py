"""One Settings object, read from the environment once at start-up."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from models.db import DEFAULT_DATABASE_URL
from models.stars import EligibilityPolicy


class AppEnv(str, Enum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _to_tuple(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


LOG_FORMATS = ("json", "text")


def parse_log_format(value: str) -> str:
    """LOG_FORMAT: one of LOG_FORMATS, or empty for the profile's own."""
    text = value.strip().lower()
    if text and text not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT: {value!r} is not a log format; expected json or text "
                         "(empty: json in production, text in development)")
    return text


# `community-api serve` starts at most this many worker processes (WORKERS, `--workers`).
MAX_WORKERS = 64

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(value: str | tuple[Any, ...] | list[Any]) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES as networks: `10.0.0.5, 10.1.0.0/16, 2001:db8::/32`. A bare address is a
    one-address network; an IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) becomes its IPv4 range."""
    entries = _to_tuple(value) if isinstance(value, str) else tuple(value)
    networks: list[IPNetwork] = []
    for entry in entries:
        if isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            network = entry
        else:
            text = str(entry).strip()
            try:
                network = ipaddress.ip_network(text, strict=True)
            except ValueError as exc:
                raise ValueError(f"TRUSTED_PROXIES: {text!r} is not an IP address or CIDR range ({exc}); "
                                 "expected comma-separated entries like 10.0.0.5, 10.1.0.0/16, 2001:db8::/32") from None
        mapped = network.network_address.ipv4_mapped if network.version == 6 else None
        if mapped is not None and network.prefixlen >= 96:
            network = ipaddress.IPv4Network((mapped, network.prefixlen - 96))
        networks.append(network)
    return tuple(networks)


@dataclass(frozen=True)
class Settings:
    """Every knob of the service. Each field is read from the upper-cased env variable of its name."""

    app_env: AppEnv = AppEnv.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL connections each serving process may hold (a `maxsize` in DATABASE_URL wins):
    # Tortoise takes one per statement, and 50 concurrent requests queued for its default of 5.
    database_pool_size: int = 10
    redis_url: str = ""
    # /readyz: how long each store (database, Redis) has to answer its check, checked concurrently.
    ready_timeout_seconds: int = 1
    host: str = "127.0.0.1"
    port: int = 8000
    # Worker processes `community-api serve` starts (`--workers` wins); each holds its own
    # DATABASE_POOL_SIZE connections, so PostgreSQL sees up to WORKERS x DATABASE_POOL_SIZE.
    workers: int = 1
    # On SIGTERM or SIGINT: how long requests in flight may take to finish before they are cancelled.
    shutdown_timeout_seconds: int = 30
    log_level: str = "info"
    # How records are written (gql/ops/logs.py): "json" (one object per line, for a log pipeline) or
    # "text" (one escaped line, for a terminal); empty: json in production, text in development.
    log_format: str = ""
    # Seed the demo content at start-up in development (idempotent).
    seed_on_start: bool = True

    # Connections: `first`/`last` default and ceiling.
    page_size_default: int = 20
    page_size_max: int = 100

    # Stars program eligibility thresholds (DESIGN.md "Domain rules").
    stars_min_age: int = 18
    stars_min_approved_posts: int = 5
    stars_min_account_age_days: int = 90
    stars_min_weekly_minutes: int = 30
    stars_motivation_min_chars: int = 50
    stars_motivation_max_chars: int = 2000
    stars_rejection_cooldown_days: int = 30

    # Transport limits, checked before anything is parsed or executed.
    max_body_bytes: int = 100_000
    max_tokens: int = 5000
    max_depth: int = 12
    max_aliases: int = 30
    # Field selections in one operation, counted through fragments (the landing page has 95).
    max_fields: int = 300
    max_directives_per_field: int = 3
    # GitHub-style cost: objects a query may return, connections multiplying by `first`/`last`.
    max_query_cost: int = 10_000
    request_timeout_seconds: int = 10

    # Slow and oversized clients (gql/http/server.py, and `read_body` in gql/http/transport.py): a request
    # head (request line + headers) must be complete within HEADER_TIMEOUT_SECONDS (408) and hold
    # at most MAX_HEADER_BYTES (431); a body must keep arriving, no gap over
    # BODY_READ_TIMEOUT_SECONDS and all of it within BODY_TIMEOUT_SECONDS (408). MAX_CONNECTIONS
    # caps a process's open connections (503 past it; 0: no cap); KEEP_ALIVE_TIMEOUT_SECONDS is
    # how long an idle keep-alive connection waits for its next request.
    header_timeout_seconds: int = 10
    max_header_bytes: int = 16_384
    body_read_timeout_seconds: int = 10
    body_timeout_seconds: int = 30
    max_connections: int = 1000
    keep_alive_timeout_seconds: int = 5

    # Operations one batched (JSON array) request may carry; 0 refuses batches. Each operation
    # is admitted (limits, cost, rate and login budgets) before any of them runs.
    batch_max_operations: int = 0
    # A serving process collects young objects after this many allocations; 0 keeps Python's 700.
    # Measured on the landing page, 10,000 ran 2% faster but RSS still grew after 40 s of load.
    gc_young_threshold: int = 0
    # How long shared caches may keep an anonymous GET query's answer (0: never).
    http_cache_max_age_seconds: int = 60
    # The response cache for anonymous queries (gql/cache): on or off, the longest an answer is
    # kept (what invalidation cannot see: the clock, another process's write without REDIS_URL),
    # and the bytes of answers one process holds (least recently used go first; an answer over
    # an eighth of it is not kept). A TTL or size of 0 turns it off too.
    response_cache_enabled: bool = True
    response_cache_ttl_seconds: int = 30
    response_cache_max_bytes: int = 32 * 1024 * 1024

    # Rate limits: cost points per window, per signed-in user (all their tokens together), per
    # client address when anonymous; a token given points of its own (`token create --points`)
    # spends those. Anonymous: one visitor viewing a page every 30 s for the whole window, even
    # the 71-point landing page each time (8,520), is never refused; signed in: twice that, as a
    # person's budget serves all their devices and signing in must never leave less than anonymity
    # (README, "What a page view costs"; tests/test_public_budgets.py).
    rate_limit_enabled: bool = True
    rate_limit_window_seconds: int = 3600
    rate_limit_points: int = 20_000
    rate_limit_anonymous_points: int = 10_000
    mutation_cost: int = 10
    login_attempts: int = 10
    login_window_seconds: int = 900

    # `recordFaqView` counts a visitor (signed-in user, else client address) once per FAQ per
    # window of this many seconds; windows are fixed, aligned on multiples of it since 1970 (a day:
    # UTC midnights).
    faq_view_window_seconds: int = 86_400

    # GraphiQL in production (gql/http/graphiql.py): off, production serves no IDE. On, the page is
    # served and reads the schema from /schema.graphql, so introspection stays refused.
    graphiql_in_production: bool = False

    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # Proxies whose forwarding headers are believed (gql/limits/guard.py `client_address`):
    # comma-separated addresses or CIDR ranges, IPv4 or IPv6; empty: the headers are ignored.
    # Parsed here, once, into networks; a malformed entry refuses to start.
    trusted_proxies: tuple[IPNetwork, ...] = field(default_factory=tuple)

    # WebSockets (per worker): open connections in all and per client address, operations one
    # connection may run at once, and how long a new connection has to send `connection_init`.
    ws_max_connections: int = 1000
    ws_max_connections_per_client: int = 10
    ws_max_operations: int = 20
    ws_init_timeout_seconds: int = 10

    # Prometheus metrics at /metrics (gql/ops/metrics.py): on or off, and the bearer token a scraper
    # must send when set. In production without a token /metrics is not served (never public
    # by accident); in development without one it is open. Kept out of repr: it is a secret.
    metrics_enabled: bool = True
    metrics_token: str = field(default="", repr=False)

    # OpenTelemetry spans per operation and per SQL statement (gql/ops/tracing.py), exported as the
    # OTEL_* variables say; needs the `tracing` extra (without it, refuses to start). Off: nothing
    # of OpenTelemetry is imported.
    tracing_enabled: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "trusted_proxies", parse_trusted_proxies(self.trusted_proxies))
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"WORKERS: {self.workers} is not 1 to {MAX_WORKERS} processes")
        if self.shutdown_timeout_seconds < 0:
            raise ValueError(f"SHUTDOWN_TIMEOUT_SECONDS: {self.shutdown_timeout_seconds} is negative")
        object.__setattr__(self, "log_format", parse_log_format(self.log_format))
        if self.tracing_enabled:
            require_tracing_packages()

    @property
    def eligibility_policy(self) -> EligibilityPolicy:
        return EligibilityPolicy(
            min_age=self.stars_min_age,
            min_approved_posts=self.stars_min_approved_posts,
            min_account_age_days=self.stars_min_account_age_days,
            min_weekly_minutes=self.stars_min_weekly_minutes,
            motivation_min_chars=self.stars_motivation_min_chars,
            motivation_max_chars=self.stars_motivation_max_chars,
            rejection_cooldown_days=self.stars_rejection_cooldown_days,
        )

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        """GraphiQL is served in development always, in production only with GRAPHIQL_IN_PRODUCTION."""
        return not self.is_production or self.graphiql_in_production

    @property
    def effective_log_format(self) -> str:
        """LOG_FORMAT, or the profile's when it is empty (a property: `replace(app_env=...)` follows)."""
        return self.log_format or ("json" if self.is_production else "text")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = overrides.pop(spec.name, environ.get(spec.name.upper()))
            if raw is None:
                continue
            # Overrides may be given typed already, or as text like the environment's.
            values[spec.name] = _parse(spec.name, spec.type, raw) if isinstance(raw, str) else raw
        if overrides:
            raise TypeError(f"unknown settings: {', '.join(sorted(overrides))}")
        return cls(**values)


def _parse(name: str, type_name: Any, raw: str) -> Any:
    try:
        if type_name in ("int", int):
            return int(raw)
        if type_name in ("bool", bool):
            return _to_bool(raw)
        if type_name in ("AppEnv", AppEnv):
            return AppEnv(raw.strip().lower())
        if type_name in ("tuple[str, ...]",):
            return _to_tuple(raw)
        return raw
    except ValueError as exc:
        raise ValueError(f"{name.upper()}: {exc}") from None


# What TRACING_ENABLED needs (the `tracing` extra): checked when the settings are read, so that a
# missing package is one line at start-up rather than an ImportError at the first request.
TRACING_PACKAGES = {
    "opentelemetry.trace": "opentelemetry-api",
    "opentelemetry.sdk": "opentelemetry-sdk",
    "opentelemetry.exporter.otlp.proto.http": "opentelemetry-exporter-otlp-proto-http",
}


def require_tracing_packages() -> None:
    """Refuse TRACING_ENABLED without the `tracing` extra, in one line (the CLI prints it)."""
    missing = [package for module, package in TRACING_PACKAGES.items() if not _importable(module)]
    if missing:
        raise ValueError(f"TRACING_ENABLED: needs the tracing extra (pip install 'community-help-api[tracing]'); "
                         f"missing {', '.join(missing)}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False
