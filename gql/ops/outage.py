"""Redis unreachable: how the stores that use it notice, say so once, and try again.

A store that can work without Redis (rate budgets fall back to this process's own, persisted-query
look-ups miss, event publishing is skipped) wraps each Redis call: on a failure it logs one
warning and, for RETRY_SECONDS, does not try Redis at all (so requests do not each wait on a dead
connection); the first call after that tries again, and one success logs the recovery.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

logger = logging.getLogger("gql.redis")

# Fail fast: requests wait on these calls. (A healthy Redis answers in well under a millisecond.)
SOCKET_TIMEOUT_SECONDS = 1.0


def fast_redis(url: str, **options: Any) -> Any:
    """A Redis client that gives up after a second and does not retry on its own."""
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
    options.setdefault("socket_connect_timeout", SOCKET_TIMEOUT_SECONDS)
    return redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)


def unreachable_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError, TimeoutError)


class Outage:
    """One user's view of whether a store (Redis, unless `store` says otherwise) is reachable now."""

    RETRY_SECONDS = 1.0

    def __init__(self, what: str, fallback: str, store: str = "Redis") -> None:
        self._what, self._fallback, self._store = what, fallback, store
        self._down_until = 0.0
        self._warned = False

    @property
    def down(self) -> bool:
        """True for a moment after a failure: skip Redis, use the fallback."""
        return time.monotonic() < self._down_until

    def failed(self, error: BaseException) -> None:
        self._down_until = time.monotonic() + self.RETRY_SECONDS
        if not self._warned:
            self._warned = True
            # The error's type and text: redis-py's messages name host and port, never the password.
            logger.warning("%s: %s unreachable (%s); %s until it answers again", self._what, self._store,
                           type(error).__name__, self._fallback)

    def succeeded(self) -> None:
        if self._warned:
            self._warned = False
            logger.warning("%s: %s reachable again", self._what, self._store)
