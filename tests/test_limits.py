"""Limits enforced before execution, each with its own code; the cost reported with every result."""

from __future__ import annotations

import pytest

from tests.conftest import client_for, settings_with
from tests.support import GraphQLClient, count_sql


@pytest.mark.parametrize(
    ("query", "code", "figure"),
    [
        ("{ " + " ".join(f"a{i}: viewer {{ isAuthenticated }}" for i in range(31)) + " }", "MAX_ALIASES_EXCEEDED", 31),
        ("{ viewer { isAuthenticated @skip(if: false) @include(if: true) @skip(if: false) @include(if: true) } }",
         "MAX_DIRECTIVES_EXCEEDED", 4),
        # posts 1 + 100 nodes + 100 reply connections + 100×100 replies + 100×100 authors
        ("{ posts(first: 100) { nodes { replies(first: 100) { nodes { author { handle } } } } } }", "QUERY_TOO_COMPLEX", 20201),
        # Repeats count: graphql-core would merge them, but reads and validates every one first.
        ("{ viewer { " + "isAuthenticated " * 300 + "} }", "MAX_FIELDS_EXCEEDED", 301),
        ("fragment F on Viewer { " + "role " * 60 + "} { " + " ".join(f"v{i}: viewer {{ ...F }}" for i in range(5)) + " }",
         "MAX_FIELDS_EXCEEDED", 305),
    ],
)
async def test_shape_and_cost_limits_refuse_before_any_sql(client: GraphQLClient, query: str, code: str, figure: int) -> None:
    with count_sql() as sql:
        response = await client.post(query)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["value"] == figure and str(figure) in error["message"]
    assert "data" not in response.json()
    assert sql.count == 0


async def test_depth_limit(db: str) -> None:
    async with client_for(settings_with(max_depth=3, rate_limit_enabled=False)) as client:
        ok = await client.post("{ posts(first: 1) { nodes { id } } }")
        assert ok.status_code == 200
        deep = await client.post("{ posts(first: 1) { nodes { author { handle } } } }")
        assert deep.status_code == 400
        assert deep.json()["errors"][0]["extensions"] == {"code": "MAX_DEPTH_EXCEEDED", "value": 4, "limit": 3}


async def test_token_limit(db: str) -> None:
    async with client_for(settings_with(max_tokens=50, rate_limit_enabled=False)) as client:
        response = await client.post("{ " + " ".join(["viewer { isAuthenticated }"] * 20) + " }")
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_TOKENS"


async def test_fragment_cycles_are_refused(client: GraphQLClient) -> None:
    response = await client.post("query { viewer { ...A } } fragment A on Viewer { user { id } ...B } fragment B on Viewer { ...A }")
    assert response.status_code == 400
    assert "within itself" in response.json()["errors"][0]["message"]


async def test_cost_uses_variables_and_default_page_size(client: GraphQLClient) -> None:
    query = "query($n: Int) { faqs(first: $n) { nodes { category { name } } } ongoingIssues { nodes { id } } rateLimit { cost } }"
    small = (await client.post(query, {"n": 2})).json()
    large = (await client.post(query, {"n": 50})).json()
    # Every object counts once per page item around it: faqs 1 + n nodes + n categories;
    # ongoingIssues 1 + 20 nodes (the default page); rateLimit 1.
    assert small["extensions"]["cost"]["requested"] == (1 + 2 + 2) + (1 + 20) + 1
    assert large["extensions"]["cost"]["requested"] == (1 + 50 + 50) + (1 + 20) + 1
    assert small["data"]["rateLimit"]["cost"] == 27
    again = (await client.post(query, {"n": 2})).json()  # the remembered analysis, same figure
    assert again["extensions"]["cost"]["requested"] == 27
