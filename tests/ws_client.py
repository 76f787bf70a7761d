"""A graphql-transport-ws client over a real WebSocket, for the tests that talk to a live uvicorn."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import websockets

PROTOCOL = "graphql-transport-ws"


async def connect(base: str, token: str | None, *, protocol: str = PROTOCOL) -> Any:
    """A socket that has sent `connection_init` (signed in with `token` when given)."""
    socket = await websockets.connect(base.replace("http", "ws") + "/graphql", subprotocols=[protocol])
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
    return socket


async def next_message(socket: Any, kind: str | None = None) -> dict[str, Any]:
    """The next message (of `kind`, skipping others); fails after 10 s of silence."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        if kind is None or message["type"] == kind:
            return message


async def send_subscribe(socket: Any, operation_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
    payload: dict[str, Any] = {"query": query, **({"variables": variables} if variables is not None else {})}
    await socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))


@asynccontextmanager
async def acknowledged(base: str, token: str | None) -> AsyncIterator[Any]:
    """A socket, acknowledged; closed on the way out."""
    socket = await connect(base, token)
    try:
        assert (await next_message(socket))["type"] == "connection_ack"
        yield socket
    finally:
        await socket.close()


@asynccontextmanager
async def subscribed(base: str, token: str | None, query: str) -> AsyncIterator[Any]:
    """A socket, acknowledged, with `query` subscribed (as id "s"); closed on the way out."""
    async with acknowledged(base, token) as socket:
        await send_subscribe(socket, "s", query)
        yield socket


async def close_code(socket: Any) -> int | None:
    """The code the server closes `socket` with (waiting at most 10 s, reading what comes first)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
