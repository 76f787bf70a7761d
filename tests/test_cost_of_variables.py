"""The cost reads arguments as execution does: variables' defaults, coerced values (`100.0` is the Int
100), the schema's own defaults, list arguments that repeat the work, and `last` as a page size. The
login-attempt budget reads handles the same way, so a handle in a variable default counts."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import pytest

from gql.app import create_app
from tests.conftest import settings_with
from tests.support import GraphQLClient

NESTED = "posts(first: $n) { nodes { replies(first: $n) { nodes { author { handle } } } } }"


@pytest.mark.parametrize(("query", "variables", "cost"), [
    # 1 + 100 posts + 100 reply connections + 100×100 replies + 100×100 authors, however $n is given.
    ("query($n: Int = 100) { %s }" % NESTED, None, 20201),
    ("query($n: Int) { %s }" % NESTED, {"n": 100.0}, 20201),
    ("query($n: Int = 2) { %s }" % NESTED, {"n": 100}, 20201),
    ("query($d: Int = 366) { communityStats { daily(days: $d) { date } } }", None, 367),
    # `daily` without `days` takes the schema's default.
    ("{ communityStats { daily { date } } }", None, 1 + 30),
    # One query per distinct kind searched: duplicates repeat nothing, so cost nothing more.
    ('{ search(query: "a", first: 10, types: [POST, POST, POST, POST]) { nodes { __typename } } }', None, 1 + 10),
    ('{ search(query: "a", first: 10, types: [POST, FAQ]) { nodes { __typename } } }', None, 2 + 2 * 10),
    ('{ search(query: "a", first: 10) { nodes { __typename } } }', None, 3 + 3 * 10),
    ("{ faqs(last: 50) { nodes { category { name } } } }", None, 1 + 50 + 50),
    # `nodes(ids:)` holds as many objects as it is given IDs.
    ("query($i: [ID!]!) { nodes(ids: $i) { ... on Post { replies(first: 100) { nodes { author { handle } } } } } }",
     {"i": ["UG9zdDox"] * 100}, 100 + 100 * (1 + 100 * (1 + 1))),
])
async def test_cost_follows_the_arguments_execution_sees(module_client: GraphQLClient, query: str,
                                                         variables: dict | None, cost: int) -> None:
    response = await module_client.post(query, variables)
    body = response.json()
    if cost > 10_000:
        assert response.status_code == 400
        assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "value": cost, "limit": 10_000}
    else:
        assert body["extensions"]["cost"]["requested"] == cost, body


@asynccontextmanager
async def clients_from(*addresses: str) -> AsyncIterator[list[GraphQLClient]]:
    """Clients of one app, each from its own address (the login budget counts per address and per handle)."""
    app = create_app(settings_with(login_attempts=2), manage_orm=False)
    async with app.router.lifespan_context(app):
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1000)),
                                     base_url="http://testserver") for address in addresses]
        try:
            yield [GraphQLClient(client) for client in clients]
        finally:
            for client in clients:
                await client.aclose()


async def test_a_handle_in_a_variable_default_counts_against_that_handle(db: str) -> None:
    login = ('mutation($i: LoginInput! = {handle: "%s", password: "%s"}) '
             '{ login(input: $i) { token userErrors { code } } }')
    async with clients_from("10.0.0.1", "10.0.0.2", "10.0.0.3") as (first, second, third):
        assert (await first.post(login % ("Demo_Member", "wrong"))).status_code == 200
        assert (await second.post(login % ("demo_member ", "wrong"))).status_code == 200
        # The handle is locked for everyone now, the right password and a fresh address included.
        locked = await third.post(login % ("demo_member", "demo-password"))
    assert locked.status_code == 429
    assert locked.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "data" not in locked.json()
