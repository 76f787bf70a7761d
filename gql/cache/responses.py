"""The response cache: anonymous queries answered from memory without executing.

What may be kept (`ResponseCache.admits`, decided after authentication and `Guard.admit`, so a
hit is charged the same points and counts against the same budget as an execution):
- a query (never a mutation or subscription) sent over HTTP, GET or POST, persisted or not, a
  batch's items each on their own; the WebSocket never asks this cache;
- by a caller with no credentials: a signed-in viewer's request neither reads nor fills it, so
  no viewer ever gets another's answer, nor an anonymous one where being signed in changes it.
  `viewer { ... }` and the `viewer*` fields of content answer the same to every anonymous
  caller (null, false, empty), so the landing page, which asks `viewer { isAuthenticated }`,
  is kept; what depends on the anonymous caller itself (`rateLimit`: its address's budget;
  fields marked `per_client`) is not;
- whose execution answered without errors, wrote nothing and read only tables it could name
  (models/touched.py).

Key: the query text, the operation name, the variables as canonical JSON and the response's
media type (counted in the entry's size). The text itself rather than a normalised form: clients resend the same
bytes, a persisted query's hash is the hash of that text (so a hash over GET and its text over
POST share one entry), and normalising would cost a parse on every request.

Kept: the answer's `data` as JSON bytes (sent again as they are, through `orjson.Fragment`) and
the execution's own `extensions`; the caller's cost and budget are added to each answer afresh.
Current while the generations of the tables it read are those of before its execution
(gql/cache/generations.py) and for at most RESPONSE_CACHE_TTL_SECONDS (the clock, and writes
invalidation cannot see: another process's without REDIS_URL). Entries live in the process's
memory, RESPONSE_CACHE_MAX_BYTES in all, least recently used evicted first; an answer over an
eighth of that is not kept, so that one answer cannot empty the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Any

import orjson
from graphql import OperationType as ExecutedOperation
from strawberry.types.graphql import OperationType

from gql.cache.generations import Generations, GenerationsUnavailable, Snapshot
from gql.core.admission import Admission
from gql.core.context import Context
from gql.settings import Settings
from models.touched import Touched, on_commit

# Bytes counted for an entry beside its answer: the key, the generations tuple, the Entry and its
# slot in the OrderedDict (about 780 bytes for a small answer, measured with tracemalloc).
ENTRY_OVERHEAD = 1024
# The largest answer kept, as a fraction of RESPONSE_CACHE_MAX_BYTES.
LARGEST_ANSWER = 1 / 8

# Query text, operation name, variables as canonical JSON, media type (see `cache_key`).
CacheKey = tuple[str, str, bytes, str]


@dataclass(frozen=True)
class Entry:
    data: bytes
    extensions: dict[str, Any] | None
    epoch: str
    generations: tuple[tuple[str, int], ...]
    version: int | None
    expires: float
    size: int

    def body(self) -> dict[str, Any]:
        """A response body of this answer (without the caller's cost: added per request)."""
        body: dict[str, Any] = {"data": orjson.Fragment(self.data)}
        if self.extensions:
            body["extensions"] = dict(self.extensions)
        return body


@dataclass(frozen=True)
class Lookup:
    """One cacheable operation's look-up: its key, the generations before it runs, and the hit."""

    key: CacheKey
    snapshot: Snapshot
    entry: Entry | None


class ResponseCache:
    def __init__(self, settings: Settings, generations: Generations) -> None:
        self.generations = generations
        self.ttl = settings.response_cache_ttl_seconds
        self.max_bytes = settings.response_cache_max_bytes
        self.enabled = settings.response_cache_enabled and self.ttl > 0 and self.max_bytes > 0
        self._entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self._bytes = 0
        self._stop_listening: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen to committed writes (all of this process's, whoever makes them)."""
        if self._stop_listening is None:
            self._stop_listening = on_commit(self.invalidate)

    async def close(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        self.clear()
        await self.generations.close()

    def admits(self, context: Context, admission: Admission | None, allowed: set[OperationType]) -> bool:
        """Whether this operation's answer may come from, and go to, the cache (see the module)."""
        return (
            self.enabled
            # Only while committed writes reach `invalidate` (the app's start-up ran `start`).
            and self._stop_listening is not None
            and context.viewer is None
            and context.token is None
            and admission is not None
            and admission.operation is ExecutedOperation.QUERY
            and OperationType.QUERY in allowed
            and not admission.per_client
        )

    async def lookup(self, query: str, operation_name: str | None, variables: dict[str, Any] | None,
                     media_type: str) -> Lookup | None:
        """The operation's current entry, if any; None when it cannot use the cache now (variables
        that are not plain JSON, Redis unreachable): then it executes as if uncacheable."""
        key = cache_key(query, operation_name, variables, media_type)
        if key is None:
            return None
        try:
            snapshot = await self.generations.snapshot()
        except GenerationsUnavailable:
            # Writes made meanwhile may not have reached the shared counters: what this worker
            # holds can no longer be trusted to be current.
            self.clear()
            return None
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > monotonic() and snapshot.matches(entry.epoch, entry.generations, entry.version):
                self._entries.move_to_end(key)
                return Lookup(key, snapshot, entry)
            self._drop(key)
        return Lookup(key, snapshot, None)

    def keep(self, lookup: Lookup, body: dict[str, Any], touched: Touched) -> orjson.Fragment:
        """Keep the answer an execution gave after `lookup` missed, when it may be kept (`touched`:
        what the execution read and wrote). Returns its `data` encoded, kept or not, for the
        response to send as it is (encoded once)."""
        data = orjson.dumps(body["data"])
        # The key holds the query text and variables: counted with the answer.
        size = len(data) + len(lookup.key[0]) + len(lookup.key[2]) + ENTRY_OVERHEAD
        if touched.written or touched.opaque or size > self.max_bytes * LARGEST_ANSWER:
            return orjson.Fragment(data)
        extensions = dict(body["extensions"]) if body.get("extensions") else None
        snapshot = lookup.snapshot
        entry = Entry(data, extensions, snapshot.epoch, snapshot.of(touched.read), snapshot.version,
                      monotonic() + self.ttl, size)
        self._drop(lookup.key)
        self._entries[lookup.key] = entry
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        return orjson.Fragment(data)

    async def invalidate(self, tables: frozenset[str]) -> None:
        """After a commit: bump the generations of the tables written (see generations.py)."""
        try:
            await self.generations.bump(tables)
        except GenerationsUnavailable:
            # The other workers cannot be told now: the bump goes with this worker's next call
            # that reaches Redis, and until then their answers are bounded by the TTL alone.
            # This one at least forgets what it holds.
            self.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size


def cache_key(query: str, operation_name: str | None, variables: dict[str, Any] | None, media_type: str) -> CacheKey | None:
    """The query text, operation name, variables as canonical JSON and media type, as they are:
    a dictionary key of strings hashes faster than a digest is computed, and holds no collisions."""
    try:
        canonical = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return (query, operation_name or "", canonical, media_type)
