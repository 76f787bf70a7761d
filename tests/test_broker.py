"""The subscription event brokers: in memory, and Redis for several workers."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from gql.live.broker import Broker, MemoryBroker, RedisBroker


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    return url


async def _round_trip(publisher: Broker, subscriber: Broker) -> None:
    channel = f"test:{uuid.uuid4().hex}"
    received: list[dict] = []

    async def listen() -> None:
        async for message in subscriber.subscribe(channel):
            received.append(message)
            if len(received) == 2:
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.05)  # let the subscription register before publishing
    await publisher.publish(channel, {"n": 1})
    await publisher.publish(f"{channel}:other", {"n": 99})
    await publisher.publish(channel, {"n": 2})
    await asyncio.wait_for(listener, timeout=5)
    assert received == [{"n": 1}, {"n": 2}]


async def test_memory_broker_delivers_in_order_per_channel() -> None:
    broker = MemoryBroker()
    await _round_trip(broker, broker)


async def test_memory_broker_forgets_subscribers_that_leave() -> None:
    broker = MemoryBroker()
    stream = broker.subscribe("c")
    task = asyncio.create_task(stream.__anext__())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await stream.aclose()
    assert broker._queues == {}


async def test_redis_broker_crosses_connections_like_two_workers() -> None:
    url = redis_url()
    publisher, subscriber = RedisBroker(url), RedisBroker(url)
    try:
        await _round_trip(publisher, subscriber)
    finally:
        await publisher.close()
        await subscriber.close()


async def test_redis_databases_do_not_hear_each_others_events() -> None:
    """Pub/sub channels belong to the whole Redis server, not to a database: two deployments on
    databases of one server (or the suite's two passes) must not receive each other's events."""
    url = redis_url()
    base, number = url.rsplit("/", 1)
    neighbour = f"{base}/{(int(number or 0) + 1) % 16}"
    channel = f"test:{uuid.uuid4().hex}"
    ours, theirs, listener = RedisBroker(url), RedisBroker(neighbour), RedisBroker(url)
    received: list[dict] = []

    async def listen() -> None:
        async for message in listener.subscribe(channel):
            received.append(message)
            return

    try:
        listening = asyncio.create_task(listen())
        await asyncio.sleep(0.05)  # let the subscription register before publishing
        await theirs.publish(channel, {"from": "the other database"})
        await ours.publish(channel, {"from": "ours"})
        await asyncio.wait_for(listening, timeout=5)
        assert received == [{"from": "ours"}]
    finally:
        for broker in (ours, theirs, listener):
            await broker.close()
