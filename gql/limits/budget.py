"""Rate-limit budgets: points spent per key in fixed windows, in memory or shared through Redis."""

from __future__ import annotations

import time
from typing import Protocol

from gql.core.admission import Spend


class Budgets(Protocol):
    async def spend(self, key: str, points: int, limit: int, window: int) -> Spend: ...

    async def peek(self, key: str, limit: int, window: int) -> Spend: ...

    async def close(self) -> None: ...


def _window(window: int) -> int:
    return int(time.time() // window * window)


class MemoryBudgets:
    """One process. A refused request spends nothing."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._used: dict[str, tuple[int, int]] = {}

    async def spend(self, key: str, points: int, limit: int, window: int) -> Spend:
        start = _window(window)
        window_start, used = self._used.get(key, (start, 0))
        if window_start != start:
            used = 0
        allowed = used + points <= limit
        if allowed:
            used += points
            if len(self._used) >= self.MAX_KEYS:
                # Old windows are worthless: drop them rather than grow without bound.
                self._used = {k: v for k, v in self._used.items() if v[0] == start}
            self._used[key] = (start, used)
        return Spend(allowed, limit, used, start + window)

    async def peek(self, key: str, limit: int, window: int) -> Spend:
        start = _window(window)
        window_start, used = self._used.get(key, (start, 0))
        return Spend(True, limit, used if window_start == start else 0, start + window)

    async def close(self) -> None:
        self._used.clear()


# Check and spend in one step, so concurrent workers cannot overspend between a read and a write.
_SPEND = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, used}
"""


class RedisBudgets:
    """Several workers share one budget per key.

    Redis unreachable: each process counts in its own MemoryBudgets meanwhile (the same limits,
    per process: never unlimited), one warning is logged, and Redis is tried again a second
    later; once it answers, the shared budgets count again (what was spent in process meanwhile
    is not carried over)."""

    def __init__(self, url: str, prefix: str = "community-api:rate:") -> None:
        from gql.ops.outage import Outage, fast_redis, unreachable_errors

        self._redis = fast_redis(url)
        self._script = self._redis.register_script(_SPEND)
        self._prefix = prefix
        self._fallback = MemoryBudgets()
        self._outage = Outage("rate budgets", "counting per process")
        self._unreachable = unreachable_errors()

    async def spend(self, key: str, points: int, limit: int, window: int) -> Spend:
        if self._outage.down:
            return await self._fallback.spend(key, points, limit, window)
        start = _window(window)
        try:
            allowed, used = await self._script(keys=[f"{self._prefix}{key}:{start}"], args=[points, limit, window])
        except self._unreachable as error:
            self._outage.failed(error)
            return await self._fallback.spend(key, points, limit, window)
        self._outage.succeeded()
        return Spend(bool(allowed), limit, int(used), start + window)

    async def peek(self, key: str, limit: int, window: int) -> Spend:
        if self._outage.down:
            return await self._fallback.peek(key, limit, window)
        start = _window(window)
        try:
            used = await self._redis.get(f"{self._prefix}{key}:{start}")
        except self._unreachable as error:
            self._outage.failed(error)
            return await self._fallback.peek(key, limit, window)
        self._outage.succeeded()
        return Spend(True, limit, int(used or 0), start + window)

    async def close(self) -> None:
        await self._fallback.close()
        await self._redis.aclose()


def budgets_for(redis_url: str) -> Budgets:
    return RedisBudgets(redis_url) if redis_url else MemoryBudgets()
