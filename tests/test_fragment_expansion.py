"""Fragment expansion: the limits walk is linear in the document, whatever its fragments.

A document where each fragment spreads the one before twice names 2^n fields in n lines; a walk
that expands spreads does 2^n work before any limit is checked (21 levels held the server 8 s).
The walk tallies each fragment once and stops at the first limit passed: these tests count the
selection sets it reads, and show the refusal on every path with the server answering meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest

from gql.limits.analysis import ShapeLimitExceeded, ShapeLimits, analyse
from gql.schema import build_schema
from gql.settings import Settings
from graphql import parse
from tests.conftest import client_for, settings_with
from tests.support import GraphQLClient, count_sql

UNLIMITED = ShapeLimits(depth=10**6, aliases=10**6, fields=10**100, directives=10**6)
SCHEMA = build_schema(Settings())._schema


def doubling(levels: int, root: str = "query", on: str = "Query") -> str:
    """`...F<levels>`, where each fragment spreads the one before twice: 2^levels fields."""
    fragments = " ".join(f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1))
    return f"{root} {{ ...F{levels} }} fragment F0 on {on} {{ __typename }} {fragments}"


def walked(document: str, limits: ShapeLimits = UNLIMITED) -> int:
    return analyse(SCHEMA, parse(document, max_tokens=100_000), None, None, 20, limits).walked


def test_doubling_fragments_cost_linear_work() -> None:
    # Each level adds one fragment, so one selection set: the work grows by one, not twofold.
    counts = [walked(doubling(levels)) for levels in (10, 20, 40, 80)]
    assert counts == [12, 22, 42, 82]
    assert analyse(SCHEMA, parse(doubling(40)), None, None, 20, UNLIMITED).fields == 2**40


@pytest.mark.parametrize("shape", [
    # Fragments spread below a field, and inside inline fragments.
    lambda n: "query { viewer { ...V%d } } fragment V0 on Viewer { isAuthenticated } " % n
    + " ".join(f"fragment V{i} on Viewer {{ ...V{i - 1} ...V{i - 1} }}" for i in range(1, n + 1)),
    lambda n: "query { ... on Query { ...F%d } } fragment F0 on Query { __typename } " % n
    + " ".join(f"fragment F{i} on Query {{ ... on Query {{ ...F{i - 1} }} ...F{i - 1} }}" for i in range(1, n + 1)),
    # Fragments declared before they are used, and fanning out four ways.
    lambda n: " ".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} ...F{i - 1} ...F{i - 1} }}"
                       for i in range(n, 0, -1)) + " fragment F0 on Query { __typename } query { ...F%d }" % n,
])
def test_every_shape_of_expansion_is_linear(shape) -> None:
    small, large = walked(shape(30)), walked(shape(60))
    assert large - small <= 2 * (small + 1)


def test_the_walk_stops_at_the_first_limit_passed() -> None:
    limits = ShapeLimits(depth=12, aliases=30, fields=300, directives=3)
    with pytest.raises(ShapeLimitExceeded) as refused:
        analyse(SCHEMA, parse(doubling(1000), max_tokens=100_000), None, None, 20, limits)
    # F9 (2^9 = 512 fields) is the first tally past 300: F10 to F1000 are never read.
    assert (refused.value.code, refused.value.value) == ("MAX_FIELDS_EXCEEDED", 512)


async def test_a_fragment_bomb_is_refused_before_any_sql(client: GraphQLClient) -> None:
    with count_sql() as sql:
        response = await client.post(doubling(21))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "MAX_FIELDS_EXCEEDED", "value": 512, "limit": 300}
    assert sql.count == 0


@pytest.mark.parametrize("document", [
    doubling(400),  # a chain longer than the recursion limit allows to walk recursively
    doubling(30, root="mutation", on="Mutation"),
    doubling(30, root="subscription", on="Subscription"),
])
async def test_every_operation_type_and_chain_length_gets_a_coded_refusal(client: GraphQLClient, document: str) -> None:
    response = await client.post(document)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] in {"MAX_FIELDS_EXCEEDED", "TOO_MANY_TOKENS"}


async def test_batches_and_persisted_queries_pass_the_same_walk(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=False, batch_max_operations=3)) as client:
        batch = await client.http.post("/graphql", json=[{"query": "{ __typename }"}, {"query": doubling(25)}])
        assert batch.status_code == 400
        assert batch.json()["errors"][0]["extensions"]["code"] == "MAX_FIELDS_EXCEEDED"
        query = doubling(26)
        digest = hashlib.sha256(query.encode()).hexdigest()
        persisted = {"version": 1, "sha256Hash": digest}
        registered = await client.http.post("/graphql", json={"query": query, "extensions": {"persistedQuery": persisted}})
        assert registered.json()["errors"][0]["extensions"]["code"] == "MAX_FIELDS_EXCEEDED"
        over_get = await client.http.get("/graphql", params={"query": query})
        assert over_get.json()["errors"][0]["extensions"]["code"] == "MAX_FIELDS_EXCEEDED"


async def test_the_server_answers_others_while_bombs_arrive(db: str, db_url: str) -> None:
    from tests.live_server import live_server

    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            # Whitespace makes each document new to every cache: each is walked afresh.
            bombs = [http.post("/graphql", json={"query": doubling(24 + i % 6) + " " * i}) for i in range(30)]
            answers = await asyncio.gather(*bombs, http.get("/healthz"))
    health = answers[-1]
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert {answer.json()["errors"][0]["extensions"]["code"] for answer in answers[:-1]} == {"MAX_FIELDS_EXCEEDED"}


REPEATED = "viewer { user { handle } } " * 700


@pytest.mark.parametrize("document", [
    # Validation reads the whole document (its check of same-named fields grows with their square),
    # so what is not executed counts towards the shape limits too.
    "{ __typename } fragment Unused on Query { %s }" % REPEATED,
    "query Run { __typename } query Other { %s }" % REPEATED,
    "query A { __typename } query B { __typename }  fragment F on Query { %s }" % REPEATED,
])
async def test_what_is_not_executed_still_counts_towards_the_shape(client: GraphQLClient, document: str) -> None:
    with count_sql() as sql:
        response = await client.post(document, operation_name="Run" if "Run" in document else None)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "MAX_FIELDS_EXCEEDED"
    assert sql.count == 0
