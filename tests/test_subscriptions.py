"""Subscriptions over a real WebSocket (graphql-transport-ws) against a real uvicorn."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from models.accounts import Role
from tests.factories import gid, make_issue, make_user, token_for
from tests.live_server import live_server

PROTOCOL = "graphql-transport-ws"


async def _connect(base: str, token: str | None):
    socket = await websockets.connect(base.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL])
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
    return socket


async def _next_message(socket, kind: str | None = None) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        if kind is None or message["type"] == kind:
            return message


async def test_issue_updates_reach_subscribers(db: str, db_url: str) -> None:
    moderator = await token_for(await make_user("sub_mod", Role.MODERATOR))
    with live_server(db_url) as base:
        socket = await _connect(base, None)
        try:
            assert (await _next_message(socket))["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { issueUpdated(number: 1002) { number status updates(first: 1) { nodes { body } } } }"}}))
            await asyncio.sleep(0.3)  # the subscription registers before the update is posted
            async with httpx.AsyncClient(base_url=base) as http:
                issue = (await http.post("/graphql", json={"query": "{ issue(number: 1002) { id } }"})).json()["data"]["issue"]
                response = await http.post("/graphql", headers={"Authorization": f"Bearer {moderator}"}, json={
                    "query": "mutation($id: ID!) { postIssueUpdate(input: {issueId: $id, status: MONITORING, body: \"Fix is rolling out.\"}) { userErrors { code } } }",
                    "variables": {"id": issue["id"]}})
                assert response.json()["data"]["postIssueUpdate"]["userErrors"] == []
            event = await _next_message(socket, "next")
            assert event["id"] == "1"
            assert event["payload"]["data"]["issueUpdated"] == {
                "number": 1002, "status": "MONITORING", "updates": {"nodes": [{"body": "Fix is rolling out."}]}}
        finally:
            await socket.close()


async def _refusal(db_url: str, token: str | None, query: str) -> str:
    """The error code a subscription is refused with, and that it sent no data."""
    with live_server(db_url) as base:
        socket = await _connect(base, token)
        try:
            assert (await _next_message(socket))["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "r", "type": "subscribe", "payload": {"query": query}}))
            message = await _next_message(socket)
            # Strawberry reports an error raised by the subscription's resolver as a `next` with errors.
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert message["type"] == "error" or message["payload"].get("data") is None
            return errors[0]["extensions"]["code"]
        finally:
            await socket.close()


async def test_moderation_queue_needs_a_moderator(db: str, db_url: str) -> None:
    member = await token_for(await make_user("sub_member"))
    assert await _refusal(db_url, member, "subscription { moderationQueueChanged { post { id } } }") == "FORBIDDEN"


async def test_following_needs_a_sign_in(db: str, db_url: str) -> None:
    assert await _refusal(db_url, None, "subscription { subscribedIssueUpdated { number } }") == "UNAUTHENTICATED"


async def test_a_bad_token_is_refused_at_connection(db: str, db_url: str) -> None:
    with live_server(db_url) as base:
        socket = await _connect(base, "cht_not-a-token")
        try:
            await asyncio.wait_for(socket.recv(), timeout=10)
            raise AssertionError("the connection should have been closed")
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4403


async def test_followers_hear_about_the_issues_they_follow_only(db: str, db_url: str) -> None:
    moderator = await token_for(await make_user("sub_staff", Role.MODERATOR))
    follower = await token_for(await make_user("sub_follower"))
    unfollowed, followed = await make_issue(), await make_issue()
    update = ("mutation($id: ID!, $body: String!) { postIssueUpdate(input: {issueId: $id, status: IDENTIFIED, body: $body}) "
              "{ userErrors { code } } }")
    with live_server(db_url) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            async def gql(query: str, token: str | None = None, **variables: object) -> dict:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                return (await http.post("/graphql", headers=headers, json={"query": query, "variables": variables})).json()

            follow = "mutation($id: ID!) { subscribeToIssue(input: {issueId: $id}) { userErrors { code } } }"
            assert (await gql(follow, follower, id=gid(followed)))["data"]["subscribeToIssue"]["userErrors"] == []
            socket = await _connect(base, follower)
            try:
                assert (await _next_message(socket))["type"] == "connection_ack"
                await socket.send(json.dumps({"id": "f", "type": "subscribe", "payload": {
                    "query": "subscription { subscribedIssueUpdated { number updates(first: 1) { nodes { body } } } }"}}))
                await asyncio.sleep(0.3)  # the subscription registers before the updates are posted
                # An update to an issue the member does not follow comes first, and must not arrive.
                for issue, body in ((unfollowed, "Not followed."), (followed, "Followed.")):
                    posted = await gql(update, moderator, id=gid(issue), body=body)
                    assert posted["data"]["postIssueUpdate"]["userErrors"] == []
                event = await _next_message(socket, "next")
                assert event["payload"]["data"]["subscribedIssueUpdated"] == {
                    "number": followed.number, "updates": {"nodes": [{"body": "Followed."}]}}
            finally:
                await socket.close()
