"""`/healthz` and `/readyz`.

`/healthz`: the process answers; touches nothing (liveness: restart the process when it fails).
`/readyz`: the stores answer (readiness: send traffic here or not). The database gets `SELECT 1`
through the ORM's own connection (SQLite or PostgreSQL); Redis, when REDIS_URL is set, a PING
through a client of its own. Both run concurrently, each bounded by READY_TIMEOUT_SECONDS.

- 200 `{"status": "ready", "checks": {"database": "ok", "redis": "ok"}}`: all well.
- 200 `{"status": "degraded", ... "redis": "down"}`: Redis is unreachable, the database is not.
  The process still answers (rate budgets per process, persisted queries miss: README
  "Faults"), so a load balancer should keep sending it traffic.
- 503 `{"status": "unavailable", ... "database": "down"}` with `Retry-After`: nothing useful can
  be answered here.
A store that is down is named with a short `reasons` entry (the error's type, never a URL).

Neither is rate limited, so /readyz must not amplify load: one check runs at a time per process,
and its result is kept for CACHE_SECONDS; every request in between gets that result.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

_NO_STORE = {"Cache-Control": "no-store"}


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


class Readiness:
    CACHE_SECONDS = 1.0
    RETRY_AFTER_SECONDS = 5

    def __init__(self, redis_url: str, timeout_seconds: float, connection_name: str = "default") -> None:
        self._redis_url = redis_url
        self._timeout = timeout_seconds
        self._connection_name = connection_name
        self._redis: Any = None
        self._result: tuple[int, dict[str, Any]] | None = None
        self._checked_at = 0.0
        self._running: asyncio.Task[tuple[int, dict[str, Any]]] | None = None

    async def endpoint(self, _request: Request) -> JSONResponse:
        status, body = await self.result()
        headers = dict(_NO_STORE)
        if status == 503:
            headers["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return JSONResponse(body, status_code=status, headers=headers)

    async def result(self) -> tuple[int, dict[str, Any]]:
        if self._result is not None and time.monotonic() - self._checked_at < self.CACHE_SECONDS:
            return self._result
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._check())
        # Shielded: a caller that goes away does not cancel the check the others wait on.
        return await asyncio.shield(self._running)

    async def _check(self) -> tuple[int, dict[str, Any]]:
        names = ["database"]
        probes = [self._bounded(self._database())]
        if self._redis_url:
            names.append("redis")
            probes.append(self._bounded(self._ping()))
        outcomes = await asyncio.gather(*probes)
        checks = {name: "ok" if reason is None else "down" for name, reason in zip(names, outcomes, strict=True)}
        reasons = {name: reason for name, reason in zip(names, outcomes, strict=True) if reason is not None}
        if checks["database"] == "down":
            status, word = 503, "unavailable"
        else:
            status, word = 200, "degraded" if reasons else "ready"
        body: dict[str, Any] = {"status": word, "checks": checks}
        if reasons:
            body["reasons"] = reasons
        self._result, self._checked_at = (status, body), time.monotonic()
        return status, body

    async def _bounded(self, probe: Any) -> str | None:
        """None when the store answered in time, else a short reason (no URLs, no secrets)."""
        try:
            await asyncio.wait_for(probe, self._timeout)
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as error:  # noqa: BLE001  # whatever the driver raises means "not ready"
            return type(error).__name__
        return None

    async def _database(self) -> None:
        from tortoise import connections

        await connections.get(self._connection_name).execute_query("SELECT 1")

    async def _ping(self) -> None:
        if self._redis is None:
            from gql.ops.outage import fast_redis

            self._redis = fast_redis(self._redis_url, socket_timeout=self._timeout,
                                     socket_connect_timeout=self._timeout)
        await self._redis.ping()

    async def close(self) -> None:
        if self._running is not None and not self._running.done():
            self._running.cancel()
        if self._redis is not None:
            await self._redis.aclose()
