"""Subscriptions over a real WebSocket (graphql-transport-ws) against a real uvicorn."""

from __future__ import annotations

import asyncio
import re

import httpx

from models.accounts import Role
from tests.factories import gid, make_issue, make_user, token_for
from tests.live_server import live_server
from tests.ws_client import close_code, connect, next_message, subscribed

UPDATE = ("mutation($id: ID!, $status: IssueStatus!, $body: String!) { postIssueUpdate(input: "
          "{issueId: $id, status: $status, body: $body}) { userErrors { code } } }")


async def post_update(http: httpx.AsyncClient, token: str, issue_id: str, status: str, body: str) -> None:
    response = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": UPDATE, "variables": {"id": issue_id, "status": status, "body": body}})
    assert response.json()["data"]["postIssueUpdate"]["userErrors"] == []


async def test_issue_updates_reach_subscribers(db: str, db_url: str) -> None:
    moderator = await token_for(await make_user("sub_mod", Role.MODERATOR))
    query = "subscription { issueUpdated(number: 1002) { number status updatedAt updates(first: 1) { nodes { body } } } }"
    with live_server(db_url) as base:
        async with subscribed(base, None, query) as socket, httpx.AsyncClient(base_url=base) as http:
            await asyncio.sleep(0.3)  # the subscription registers before the update is posted
            issue = (await http.post("/graphql", json={"query": "{ issue(number: 1002) { id } }"})).json()["data"]["issue"]
            await post_update(http, moderator, issue["id"], "MONITORING", "Fix is rolling out.")
            event = await next_message(socket, "next")
    assert event["id"] == "s"
    answered = event["payload"]["data"]["issueUpdated"]
    # Date-times over WebSocket have the one format of HTTP answers (gql/core/scalars.py).
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", answered.pop("updatedAt"))
    assert answered == {"number": 1002, "status": "MONITORING", "updates": {"nodes": [{"body": "Fix is rolling out."}]}}


async def _refusal(db_url: str, token: str | None, query: str) -> str:
    """The error code a subscription is refused with, and that it sent no data."""
    with live_server(db_url) as base:
        async with subscribed(base, token, query) as socket:
            message = await next_message(socket)
    # Strawberry reports an error raised by the subscription's resolver as a `next` with errors.
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert message["type"] == "error" or message["payload"].get("data") is None
    return errors[0]["extensions"]["code"]


async def test_moderation_queue_needs_a_moderator(db: str, db_url: str) -> None:
    member = await token_for(await make_user("sub_member"))
    assert await _refusal(db_url, member, "subscription { moderationQueueChanged { post { id } } }") == "FORBIDDEN"


async def test_following_needs_a_sign_in(db: str, db_url: str) -> None:
    assert await _refusal(db_url, None, "subscription { subscribedIssueUpdated { number } }") == "UNAUTHENTICATED"


async def test_a_bad_token_is_refused_at_connection(db: str, db_url: str) -> None:
    with live_server(db_url) as base:
        socket = await connect(base, "cht_not-a-token")
        assert await close_code(socket) == 4403


async def test_followers_hear_about_the_issues_they_follow_only(db: str, db_url: str) -> None:
    moderator = await token_for(await make_user("sub_staff", Role.MODERATOR))
    follower = await token_for(await make_user("sub_follower"))
    unfollowed, followed = await make_issue(), await make_issue()
    follow = "mutation($id: ID!) { subscribeToIssue(input: {issueId: $id}) { userErrors { code } } }"
    query = "subscription { subscribedIssueUpdated { number updates(first: 1) { nodes { body } } } }"
    with live_server(db_url) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            answer = await http.post("/graphql", headers={"Authorization": f"Bearer {follower}"},
                                     json={"query": follow, "variables": {"id": gid(followed)}})
            assert answer.json()["data"]["subscribeToIssue"]["userErrors"] == []
            async with subscribed(base, follower, query) as socket:
                await asyncio.sleep(0.3)  # the subscription registers before the updates are posted
                # An update to an issue the member does not follow comes first, and must not arrive.
                await post_update(http, moderator, gid(unfollowed), "IDENTIFIED", "Not followed.")
                await post_update(http, moderator, gid(followed), "IDENTIFIED", "Followed.")
                event = await next_message(socket, "next")
    assert event["payload"]["data"]["subscribedIssueUpdated"] == {
        "number": followed.number, "updates": {"nodes": [{"body": "Followed."}]}}
