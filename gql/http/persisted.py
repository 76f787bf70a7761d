"""Automatic persisted queries, Apollo's protocol: `extensions.persistedQuery.sha256Hash` (version 1).

A client first sends only the hash; an unknown hash answers PERSISTED_QUERY_NOT_FOUND, the client
resends with the query, and from then on the hash alone is enough, also over GET (cacheable URLs).
A query is stored only once a request carrying it has run (`look_up`, then `remember`): a refused
one (a method, the limits, validation) must not leave a hash that answers later.
Stored in memory (LRU) by default, in Redis when REDIS_URL is set so every worker knows every hash.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from gql.core.errors import RequestError


class QueryStore(Protocol):
    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, query: str) -> None: ...

    async def close(self) -> None: ...


class MemoryQueryStore:
    def __init__(self, size: int = 2048) -> None:
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._size = size

    async def get(self, digest: str) -> str | None:
        query = self._queries.get(digest)
        if query is not None:
            self._queries.move_to_end(digest)
        return query

    async def put(self, digest: str, query: str) -> None:
        self._queries[digest] = query
        self._queries.move_to_end(digest)
        while len(self._queries) > self._size:
            self._queries.popitem(last=False)

    async def close(self) -> None:
        self._queries.clear()


class RedisQueryStore:
    """Redis unreachable: a look-up misses (PERSISTED_QUERY_NOT_FOUND, so the client sends the
    query again), a registration is skipped (the query still runs); one warning is logged."""

    def __init__(self, url: str, prefix: str = "community-api:apq:", ttl_seconds: int = 7 * 24 * 3600) -> None:
        from gql.ops.outage import Outage, fast_redis, unreachable_errors

        self._redis = fast_redis(url, decode_responses=True)
        self._prefix, self._ttl = prefix, ttl_seconds
        self._outage = Outage("persisted queries", "look-ups miss and registrations are skipped")
        self._unreachable = unreachable_errors()

    async def get(self, digest: str) -> str | None:
        if self._outage.down:
            return None
        try:
            query = await self._redis.get(self._prefix + digest)
        except self._unreachable as error:
            self._outage.failed(error)
            return None
        self._outage.succeeded()
        return query

    async def put(self, digest: str, query: str) -> None:
        if self._outage.down:
            return
        try:
            await self._redis.set(self._prefix + digest, query, ex=self._ttl)
        except self._unreachable as error:
            self._outage.failed(error)
            return
        self._outage.succeeded()

    async def close(self) -> None:
        await self._redis.aclose()


def store_for(redis_url: str) -> QueryStore:
    return RedisQueryStore(redis_url) if redis_url else MemoryQueryStore()


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


@dataclass(frozen=True)
class PersistedQuery:
    """What a request's `query` and `extensions.persistedQuery` come to."""

    # The text to run: the one sent, or the one stored under the sent hash (None: neither).
    query: str | None
    # Set when the text came with its hash: the hash to store it under once it has run.
    registers: str | None = None


async def look_up(store: QueryStore, query: str | None, extensions: dict[str, Any] | None) -> PersistedQuery:
    """The query text to run, stored nothing yet: `remember` once the operation has run."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return PersistedQuery(query)
    if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(persisted.get("sha256Hash"), str):
        raise RequestError(400, "persistedQuery needs version 1 and a sha256Hash", "PERSISTED_QUERY_INVALID")
    digest = persisted["sha256Hash"].lower()
    if query is None:
        stored = await store.get(digest)
        if stored is None:
            # 200 with this error is what Apollo clients expect before they retry with the query.
            raise RequestError(200, "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        return PersistedQuery(stored)
    if sha256(query) != digest:
        raise RequestError(400, "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH")
    return PersistedQuery(query, registers=digest)


async def remember(store: QueryStore, found: PersistedQuery) -> None:
    """Store a registration; call it only for an operation that ran (parsed, validated, admitted)."""
    if found.registers is not None and found.query is not None:
        await store.put(found.registers, found.query)
