"""Live counters and cards: "I have this too" reaches `issueUpdated` subscribers with the exact
count, resolved and unknown issues refuse a subscription with a coded error, and `latestUpdate`
gives a card the newest timeline entry without a statement per issue."""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from models.accounts import Role
from models.base import utcnow
from models.issues import Issue, IssueStatus, IssueUpdate
from tests.factories import gid, make_issue, make_user, token_for
from tests.live_server import live_server
from tests.support import GraphQLClient, count_sql
from tests.ws_client import next_message, subscribed

MARK = "mutation($id: ID!) { markIssueAffected(input: {issueId: $id}) { issue { affectedCount } userErrors { code } } }"
UNMARK = "mutation($id: ID!) { unmarkIssueAffected(input: {issueId: $id}) { issue { affectedCount } userErrors { code } } }"
STAFF_UPDATE = ("mutation($id: ID!, $body: String!) { postIssueUpdate(input: {issueId: $id, status: IDENTIFIED, "
                "body: $body}) { userErrors { code } } }")


def card(number: int) -> str:
    """What an issue card subscribes to: its counter and its newest entry."""
    return f"subscription {{ issueUpdated(number: {number}) {{ number affectedCount latestUpdate {{ body }} }} }}"


@pytest.fixture(scope="module")
def server(db: str, db_url: str) -> Iterator[str]:
    """One live API for the module's WebSocket tests (each makes its own issue)."""
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        yield base


async def call(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                                   json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def mark(base: str, token: str, issue: Issue, query: str = MARK) -> list[str]:
    """Mark (or, with UNMARK, unmark) `issue`; the codes of the refusal, empty when it was done."""
    answer = await call(base, token, query, {"id": gid(issue)})
    return [error["code"] for error in next(iter(answer.values()))["userErrors"]]


async def counts(socket: Any, how_many: int) -> list[int]:
    """The `affectedCount` of the next `how_many` events of subscription "s"."""
    events = [await next_message(socket, "next") for _ in range(how_many)]
    return [event["payload"]["data"]["issueUpdated"]["affectedCount"] for event in events]


async def members(prefix: str, how_many: int) -> list[str]:
    return [await token_for(await make_user(f"{prefix}{n}")) for n in range(how_many)]


async def test_marking_and_unmarking_reach_a_subscriber_with_the_new_count(server: str) -> None:
    issue = await make_issue()
    [member] = await members("live_marker", 1)
    async with subscribed(server, None, card(issue.number)) as socket:
        await asyncio.sleep(0.3)  # the subscription registers before the marks
        assert await mark(server, member, issue) == []
        first = await next_message(socket, "next")
        assert first["payload"]["data"]["issueUpdated"] == {
            "number": issue.number, "affectedCount": 1, "latestUpdate": None}
        assert await mark(server, member, issue, UNMARK) == []
        assert await counts(socket, 1) == [0]


async def test_a_mark_that_changes_nothing_publishes_nothing(server: str) -> None:
    issue = await make_issue()
    [member] = await members("live_twice", 1)
    async with subscribed(server, None, card(issue.number)) as socket:
        await asyncio.sleep(0.3)
        assert await mark(server, member, issue) == []
        assert await mark(server, member, issue) == ["ALREADY_MARKED"]
        assert await mark(server, member, issue, UNMARK) == []
        assert await mark(server, member, issue, UNMARK) == ["NOT_MARKED"]
        assert await mark(server, member, issue) == []
        # A refused mark publishing would show up as a repeated count (1, 1, … or 0, 0, …).
        assert await counts(socket, 3) == [1, 0, 1]


async def test_marks_do_not_notify_followers_staff_updates_do(server: str) -> None:
    issue = await make_issue()
    [follower] = await members("live_follower", 1)
    moderator = await token_for(await make_user("live_staff", Role.MODERATOR))
    follow = "mutation($id: ID!) { subscribeToIssue(input: {issueId: $id}) { userErrors { code } } }"
    assert (await call(server, follower, follow, {"id": gid(issue)}))["subscribeToIssue"]["userErrors"] == []
    query = "subscription { subscribedIssueUpdated { number affectedCount latestUpdate { body } } }"
    async with subscribed(server, follower, query) as socket:
        await asyncio.sleep(0.3)
        assert await mark(server, follower, issue) == []  # must not notify: it is no news from staff
        staff = await call(server, moderator, STAFF_UPDATE, {"id": gid(issue), "body": "Found it."})
        assert staff["postIssueUpdate"]["userErrors"] == []
        event = await next_message(socket, "next")
    assert event["payload"]["data"]["subscribedIssueUpdated"] == {
        "number": issue.number, "affectedCount": 1, "latestUpdate": {"body": "Found it."}}


async def test_two_members_racing_both_publish_and_the_last_count_is_exact(server: str) -> None:
    issue = await make_issue()
    racers = await members("live_racer", 2)
    async with subscribed(server, None, card(issue.number)) as socket:
        await asyncio.sleep(0.3)
        refusals = await asyncio.gather(*(mark(server, token, issue) for token in racers))
        assert refusals == [[], []]
        seen = await counts(socket, 2)
    # Each event reads the issue after its own mark committed; the last one after both.
    assert seen[-1] == 2 and min(seen) >= 1
    assert (await Issue.get(id=issue.pk)).affected_count == 2


async def ended_with(base: str, number: int) -> dict[str, Any]:
    """The one error subscription "s" to issue `number` ended with (it must carry no data)."""
    async with subscribed(base, None, card(number)) as socket:
        message = await next_message(socket)
        assert message["id"] == "s" and message["type"] in {"next", "error"}, message
        payload = message["payload"]
        errors = payload if message["type"] == "error" else payload["errors"]
        assert message["type"] == "error" or payload.get("data") is None, message
        if message["type"] == "next":
            assert (await next_message(socket))["type"] == "complete"
    [error] = errors
    return error


async def test_subscribing_to_a_resolved_issue_says_why(server: str) -> None:
    resolved = await make_issue(IssueStatus.RESOLVED)
    error = await ended_with(server, resolved.number)
    assert error["extensions"]["code"] == "RESOLVED"
    assert f"Issue {resolved.number} is resolved" in error["message"]


async def test_subscribing_to_an_unknown_issue_is_not_found(server: str) -> None:
    error = await ended_with(server, 999_999)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "999999" in error["message"]


@pytest.fixture
async def newest_issues(db: str) -> AsyncIterator[list[Issue]]:
    """Six issues on top of the NEWEST order: five with two entries each, the newest with none."""
    made = []
    for n in range(6):
        issue = await make_issue()
        for entry in range(2 if n < 5 else 0):
            await IssueUpdate.create(issue_id=issue.pk, status=issue.status, body=f"{issue.number} entry {entry}",
                                     posted_at=utcnow())
        made.append(issue)
    yield made


def issues_page(first: int, fields: str) -> str:
    return (f"{{ ongoingIssues(first: {first}, orderBy: NEWEST, status: [INVESTIGATING]) "
            f"{{ nodes {{ number {fields} }} }} }}")


@pytest.mark.uncached
async def test_latest_update_is_the_first_of_the_timeline(client: GraphQLClient, newest_issues: list[Issue]) -> None:
    page = await client.query(issues_page(6, "latestUpdate { id body } updates(first: 1) { nodes { id body } }"))
    nodes = page["ongoingIssues"]["nodes"]
    assert [node["number"] for node in nodes] == [issue.number for issue in reversed(newest_issues)]
    assert nodes[0]["latestUpdate"] is None and nodes[0]["updates"]["nodes"] == []
    assert nodes[1]["latestUpdate"]["body"] == f"{nodes[1]['number']} entry 1"
    for node in nodes:
        assert ([node["latestUpdate"]] if node["latestUpdate"] else []) == node["updates"]["nodes"]


@pytest.mark.uncached
async def test_latest_update_costs_one_statement_however_many_issues(
    client: GraphQLClient, newest_issues: list[Issue]
) -> None:
    async def statements(first: int, fields: str) -> int:
        with count_sql() as sql:
            await client.query(issues_page(first, fields))
        return sql.count

    without = await statements(6, "title")
    assert await statements(1, "latestUpdate { body }") == await statements(6, "latestUpdate { body }") == without + 1


async def test_a_mark_through_one_worker_reaches_a_subscriber_on_another(db: str, db_url: str) -> None:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    issue = await make_issue()
    [member] = await members("live_worker", 1)
    env = {"REDIS_URL": redis_url, "RATE_LIMIT_ENABLED": "false"}
    with live_server(db_url, **env) as listening, live_server(db_url, **env) as writing:
        async with subscribed(listening, None, card(issue.number)) as socket:
            await asyncio.sleep(0.5)  # the subscription's Redis SUBSCRIBE is in place
            assert await mark(writing, member, issue) == []
            assert await counts(socket, 1) == [1]
