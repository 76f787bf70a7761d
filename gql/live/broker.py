"""Publish/subscribe for subscription events: in process by default, Redis across workers.

Events are published after the transaction that caused them commits, and carry IDs only:
subscribers read the current state themselves, so an event can never show uncommitted data.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

QUEUE_SIZE = 100


class Broker(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: every subscriber has a bounded queue; a slow one loses old events, not memory."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for queue in list(self._queues.get(channel, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues[channel].discard(queue)
            if not self._queues[channel]:
                del self._queues[channel]

    async def close(self) -> None:
        self._queues.clear()


class RedisBroker:
    """Several workers or hosts: Redis PUBLISH/SUBSCRIBE, one connection per subscription.

    Redis unreachable: publishing is skipped (the write has committed already; subscribers on
    other workers miss that event), and a subscription pauses, subscribing again every second
    until Redis answers, then resumes (events published meanwhile are not replayed). One warning
    each way, and one when Redis is back."""

    RESUBSCRIBE_SECONDS = 1.0

    def __init__(self, url: str, prefix: str = "community-api:events:") -> None:
        import redis.asyncio as redis

        from gql.ops.outage import Outage, fast_redis, unreachable_errors

        self._publisher = fast_redis(url)
        # Subscriptions block reading, so no read timeout on their connections; connecting is bounded.
        self._redis = redis.from_url(url, socket_connect_timeout=1)
        # Pub/sub channels ignore the database number (every client of the Redis server hears
        # every channel), so the number goes into the name: two deployments on databases 1 and 2
        # of one server must not receive each other's events.
        database = self._redis.connection_pool.connection_kwargs.get("db", 0)
        self._prefix = f"{prefix}{database}:"
        self._publishing = Outage("event publishing", "events are not sent to other workers")
        self._listening = Outage("subscriptions", "subscriptions pause")
        self._unreachable = unreachable_errors()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self._publishing.down:
            return
        try:
            await self._publisher.publish(self._prefix + channel, orjson.dumps(message))
        except self._unreachable as error:
            self._publishing.failed(error)
            return
        self._publishing.succeeded()

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._prefix + channel)
                self._listening.succeeded()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        yield orjson.loads(message["data"])
            except self._unreachable as error:
                self._listening.failed(error)
            finally:
                with contextlib.suppress(*self._unreachable):
                    await pubsub.aclose()
            await asyncio.sleep(self.RESUBSCRIBE_SECONDS)

    async def close(self) -> None:
        await self._publisher.aclose()
        await self._redis.aclose()


def broker_for(redis_url: str) -> Broker:
    return RedisBroker(redis_url) if redis_url else MemoryBroker()
