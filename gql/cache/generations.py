"""Per-table generation counters: how the response cache tells a kept answer is still current.

Every committed write adds one to the generation of each table it wrote (models/touched.py
announces the tables after the COMMIT; `ALL` when a write's tables are unknown). An answer is
kept with the generations of the tables it read as they were *before* its execution started; it
is current while they are all unchanged. A write that commits while the answer is being built
bumps a generation after the snapshot was taken, so that answer is never served, whether it saw
the write or not; a write that committed before the snapshot is in what the execution read.

In process (no REDIS_URL) the counters are a dict, replaced rather than changed on a bump, so
that a snapshot is a reference to the current dict. With REDIS_URL they are one Redis hash
shared by every worker (and the CLI): HINCRBY per written table after a commit, one HGETALL per
cacheable request; a read on one worker right after a write through another has returned sees
the new generation. The hash carries an `epoch` (random, set when the hash is created): a Redis
that lost its data starts counting from zero again, and answers kept under the old epoch must
not match the new counts by chance.

Redis unreachable: the cache is skipped (requests execute), one warning is logged until Redis
answers again, and bumps that failed are sent with the next call that reaches it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from models.touched import ALL


class GenerationsUnavailable(Exception):
    """The shared counters cannot be read or bumped now (Redis unreachable)."""


@dataclass(frozen=True)
class Snapshot:
    epoch: str
    generations: Mapping[str, int]
    # In process: how many bumps the counters had seen (equal: nothing changed at all, which
    # answers a hit without comparing table by table). None for Redis's.
    version: int | None = None

    def of(self, tables: Iterable[str]) -> tuple[tuple[str, int], ...]:
        """The generations of `tables` (and of ALL, which every answer depends on)."""
        return tuple((table, self.generations.get(table, 0)) for table in {*tables, ALL})

    def matches(self, epoch: str, kept: tuple[tuple[str, int], ...], version: int | None = None) -> bool:
        if self.version is not None and version == self.version:
            return True
        current = self.generations
        return epoch == self.epoch and all(current.get(table, 0) == generation for table, generation in kept)


class Generations(Protocol):
    async def snapshot(self) -> Snapshot: ...

    async def bump(self, tables: Iterable[str]) -> None: ...

    async def close(self) -> None: ...


class MemoryGenerations:
    """One process: the counters in a dict (answers kept in process die with it: no epoch)."""

    def __init__(self) -> None:
        self._current: dict[str, int] = {}
        self._version = 0

    async def snapshot(self) -> Snapshot:
        return Snapshot("", self._current, self._version)

    async def bump(self, tables: Iterable[str]) -> None:
        changed = dict(self._current)
        for table in tables:
            changed[table] = changed.get(table, 0) + 1
        self._current = changed  # snapshots taken before keep the old dict
        self._version += 1

    async def close(self) -> None:
        pass


# Send the bumps that failed earlier, make sure the hash has an epoch, read it all: one round trip.
_SNAPSHOT = """
for i = 2, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""

_TABLE = "t:"  # field prefix of a table's counter, beside `epoch`


class RedisGenerations:
    """Several workers: the counters in one Redis hash."""

    KEY = "community-api:response-cache:generations"

    def __init__(self, url: str) -> None:
        from gql.ops.outage import Outage, fast_redis, unreachable_errors

        # Fail fast: a request waits on this before it executes (gql/ops/outage.py).
        self._redis = fast_redis(url)
        self._script = self._redis.register_script(_SNAPSHOT)
        self._pending: set[str] = set()  # bumps that did not reach Redis yet
        # The epoch offered if the hash has none (HSETNX keeps the first one set). Each call
        # offers a new one, so a Redis that lost its data never gets an epoch seen before; a
        # random prefix and a counter make that without a urandom call per request.
        self._epoch_prefix = uuid.uuid4().hex
        self._epoch_serial = itertools.count()
        self._outage = Outage("response cache", "answering without the cache")
        self._unreachable = unreachable_errors()

    async def snapshot(self) -> Snapshot:
        self._check_up()
        pending = sorted(self._pending)
        try:
            values = await self._script(keys=[self.KEY], args=[f"{self._epoch_prefix}{next(self._epoch_serial)}", *(_TABLE + t for t in pending)])
        except self._unreachable as error:
            raise self._down(error) from None
        self._pending.difference_update(pending)
        self._outage.succeeded()
        fields = {key.decode(): value.decode() for key, value in zip(values[::2], values[1::2], strict=False)}
        epoch = fields.pop("epoch", "")
        return Snapshot(epoch, {key[len(_TABLE):]: int(value) for key, value in fields.items()})

    async def bump(self, tables: Iterable[str]) -> None:
        self._pending.update(tables)
        self._check_up()
        pending = sorted(self._pending)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for table in pending:
                    pipe.hincrby(self.KEY, _TABLE + table, 1)
                await pipe.execute()
        except self._unreachable as error:
            raise self._down(error) from None
        self._pending.difference_update(pending)
        self._outage.succeeded()

    def _check_up(self) -> None:
        if self._outage.down:
            raise GenerationsUnavailable("Redis was unreachable a moment ago")

    def _down(self, error: BaseException) -> GenerationsUnavailable:
        self._outage.failed(error)
        return GenerationsUnavailable(str(error))

    async def close(self) -> None:
        await self._redis.aclose()


def generations_for(redis_url: str) -> Generations:
    return RedisGenerations(redis_url) if redis_url else MemoryGenerations()
