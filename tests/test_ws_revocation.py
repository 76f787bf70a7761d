"""An open WebSocket follows its token and its user's rights as they change, not as they were at connect.

The attack these stop: a suspended member whose token was revoked (HTTP: 401) still created a post
on an open socket; a moderator demoted, suspended and revoked still received moderation events.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from models.accounts import AccessToken, Role, hash_token
from models.base import utcnow
from tests.factories import gid, make_user, token_for
from tests.live_server import live_server
from tests.ws_client import acknowledged, close_code, next_message, send_subscribe, subscribed

QUEUE = "subscription { moderationQueueChanged { post { id body } } }"
NEW_POST = ('mutation { createPost(input: {board: "help", title: "Question from a newcomer", body: "Hello there"}) '
            '{ post { id status } userErrors { code } } }')


async def call(http: httpx.AsyncClient, token: str, query: str, variables: dict | None = None) -> dict:
    response = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                               json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


async def queue_a_post(http: httpx.AsyncClient) -> None:
    """A newcomer's first post waits for a moderator: an event on the moderation queue."""
    newcomer = await token_for(await make_user("ws_newcomer"))
    assert (await call(http, newcomer, NEW_POST))["data"]["createPost"]["post"]["status"] == "PENDING"


async def ended_with(socket) -> str:
    """The code of the error the subscription "s" ended with; it must carry no data."""
    message = await next_message(socket)
    assert message["id"] == "s" and message["type"] in {"next", "error"}, message
    payload = message["payload"]
    errors = payload if message["type"] == "error" else payload["errors"]
    assert message["type"] == "error" or payload.get("data") is None
    return errors[0]["extensions"]["code"]


async def test_revoking_a_token_closes_its_sockets_at_once(db: str, db_url: str) -> None:
    member = await make_user("ws_revoked")
    token = await token_for(member)
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, token) as socket, httpx.AsyncClient(base_url=base) as http:
            revoked = await call(http, token, "mutation { revokeToken(input: {}) { revokedTokenId userErrors { code } } }")
            assert revoked["data"]["revokeToken"]["userErrors"] == []
            # No event, no further message from the client: the server closes the socket itself.
            assert await close_code(socket) == 4401


async def test_a_revoked_token_writes_nothing_over_an_open_socket(db: str, db_url: str) -> None:
    member = await make_user("ws_writer")
    token = await token_for(member)
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, token) as socket:
            # Revoked behind the API's back (no event): the next operation reads the token again.
            await AccessToken.filter(token_hash=hash_token(token)).update(revoked_at=utcnow())
            posts_before = await member.posts.all().count()
            await send_subscribe(socket, "write", NEW_POST)
            assert await close_code(socket) == 4401
    assert await member.posts.all().count() == posts_before


async def test_a_suspended_member_cannot_write_over_an_open_socket(db: str, db_url: str) -> None:
    member = await make_user("ws_suspended")
    token = await token_for(member)
    admin = await token_for(await make_user("ws_admin", Role.ADMIN))
    suspend = "mutation($id: ID!) { suspendUser(input: {userId: $id, reason: \"spam\"}) { userErrors { code } } }"
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, token) as socket, httpx.AsyncClient(base_url=base) as http:
            assert (await call(http, admin, suspend, {"id": gid(member)}))["data"]["suspendUser"]["userErrors"] == []
            await send_subscribe(socket, "write", NEW_POST)
            answer = await next_message(socket, "next")
            assert answer["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await member.posts.all().count() == 0


async def test_demoting_or_suspending_a_moderator_ends_their_queue_at_once(db: str, db_url: str) -> None:
    admin = await token_for(await make_user("ws_admin", Role.ADMIN))
    demote = "mutation($id: ID!) { change: setUserRole(input: {userId: $id, role: MEMBER, reason: \"inactive\"}) { userErrors { code } } }"
    suspend = "mutation($id: ID!) { change: suspendUser(input: {userId: $id, reason: \"abuse\"}) { userErrors { code } } }"
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with httpx.AsyncClient(base_url=base) as http:
            for change in (demote, suspend):
                moderator = await make_user("ws_moderator", Role.MODERATOR)
                async with subscribed(base, await token_for(moderator), QUEUE) as socket:
                    await asyncio.sleep(0.3)  # the subscription registers before the change
                    assert (await call(http, admin, change, {"id": gid(moderator)}))["data"]["change"]["userErrors"] == []
                    # Ended by the change itself, before any post enters the queue.
                    assert await ended_with(socket) == "FORBIDDEN"
                    assert (await next_message(socket))["type"] == "complete"
                    await queue_a_post(http)
                    with pytest.raises(TimeoutError):  # nothing more reaches the former moderator
                        await asyncio.wait_for(socket.recv(), timeout=0.5)


async def test_each_event_reads_the_token_again(db: str, db_url: str) -> None:
    moderator = await make_user("ws_moderator", Role.MODERATOR)
    token = await token_for(moderator)
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with subscribed(base, token, QUEUE) as socket, httpx.AsyncClient(base_url=base) as http:
            await asyncio.sleep(0.3)
            # Revoked where no event tells the server (another tool, a database console).
            await AccessToken.filter(token_hash=hash_token(token)).update(revoked_at=utcnow())
            await queue_a_post(http)
            assert await ended_with(socket) == "UNAUTHENTICATED"
