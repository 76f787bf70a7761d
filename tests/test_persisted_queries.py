"""Automatic persisted queries (Apollo's protocol) over HTTP, in memory and in Redis."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from gql.http.persisted import RedisQueryStore, sha256
from models.accounts import User
from tests.conftest import client_for, settings_with
from tests.factories import make_user, token_for
from tests.support import GraphQLClient, count_sql


def apq(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.mark.uncached  # the GET by hash must run the stored query (one statement), not be a cache hit
async def test_register_then_run_by_hash_over_post_and_get(client: GraphQLClient) -> None:
    query = "{ faqs(first: 2) { nodes { slug } } } # apq-" + uuid.uuid4().hex
    digest = sha256(query)
    unknown = await client.http.post("/graphql", json={"extensions": apq(digest)})
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0] == {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}

    registered = await client.http.post("/graphql", json={"query": query, "extensions": apq(digest)})
    assert len(registered.json()["data"]["faqs"]["nodes"]) == 2

    by_hash = await client.http.post("/graphql", json={"extensions": apq(digest)})
    assert by_hash.json()["data"] == registered.json()["data"]
    with count_sql() as sql:
        cacheable = await client.http.get("/graphql", params={"extensions": json.dumps(apq(digest))})
    assert cacheable.status_code == 200 and cacheable.json()["data"] == registered.json()["data"]
    assert sql.count == 1


async def test_a_hash_that_does_not_match_the_query_is_refused(client: GraphQLClient) -> None:
    response = await client.http.post("/graphql", json={"query": "{ viewer { isAuthenticated } }", "extensions": apq("0" * 64)})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    later = await client.http.post("/graphql", json={"extensions": apq("0" * 64)})
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("extension", [{"version": 2, "sha256Hash": "ab"}, {"version": 1}, "nope"])
async def test_malformed_persisted_query_extension(client: GraphQLClient, extension: object) -> None:
    response = await client.http.post("/graphql", json={"extensions": {"persistedQuery": extension}})
    assert response.status_code == 400


async def test_persisted_mutations_still_need_post(client: GraphQLClient) -> None:
    mutation = 'mutation { register(input: {handle: "apq_get", password: "long enough pw"}) { token } }'
    digest = sha256(mutation)
    await client.http.post("/graphql", json={"query": mutation, "extensions": apq(digest)})
    response = await client.http.get("/graphql", params={"extensions": json.dumps(apq(digest))})
    assert response.status_code == 405


async def test_redis_store_is_shared_between_workers(db: str) -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    query = "{ viewer { isAuthenticated } } # shared-" + uuid.uuid4().hex
    settings = settings_with(redis_url=url, rate_limit_enabled=False)
    async with client_for(settings) as worker_a, client_for(settings) as worker_b:
        await worker_a.http.post("/graphql", json={"query": query, "extensions": apq(sha256(query))})
        response = await worker_b.http.post("/graphql", json={"extensions": apq(sha256(query))})
    assert response.json()["data"] == {"viewer": {"isAuthenticated": False}}
    store = RedisQueryStore(url)
    try:
        assert await store.get(sha256(query)) == query
    finally:
        await store.close()


async def test_only_clean_anonymous_get_answers_are_cacheable(client: GraphQLClient) -> None:
    query = "{ faqs(first: 1) { nodes { slug } } }"
    digest = sha256(query)
    await client.http.post("/graphql", json={"query": query, "extensions": apq(digest)})
    by_hash = await client.http.get("/graphql", params={"extensions": json.dumps(apq(digest))})
    assert by_hash.headers["cache-control"] == "public, max-age=60"
    assert by_hash.headers["vary"] == "Accept, Authorization"
    token = await token_for(await make_user("apq_cache"))
    signed_in = await client.http.get("/graphql", params={"query": query}, headers={"Authorization": f"Bearer {token}"})
    assert signed_in.status_code == 200 and signed_in.headers["cache-control"] == "private, no-store"
    for response in (
        await client.http.post("/graphql", json={"query": query}),  # POST: not for caches
        await client.http.get("/graphql", params={"query": "{ faqs(first: 500) { totalCount } }"}),  # field error
        await client.http.get("/graphql", params={"extensions": json.dumps(apq("1" * 64))}),  # unknown hash
        await client.http.get("/graphql", params={"query": "{ nope }"}),  # validation error
    ):
        assert response.headers["cache-control"] == "no-store", response.text


async def test_production_gets_run_query_texts_and_hashes(db: str) -> None:
    """GraphQL-over-HTTP clients send queries as GET (urql by default; @urql/exchange-persisted
    registers a missed hash that way): production runs them, as it runs a hash alone."""
    query = "{ faqs(first: 1) { nodes { slug } } } # production-get"
    digest = sha256(query)
    async with client_for(settings_with(app_env="production", rate_limit_enabled=False)) as client:
        as_text = await client.http.get("/graphql", params={"query": query})
        registered = await client.http.get("/graphql", params={"query": query, "extensions": json.dumps(apq(digest))})
        by_hash = await client.http.get("/graphql", params={"extensions": json.dumps(apq(digest))})
    assert as_text.status_code == 200 and as_text.json()["data"]["faqs"]["nodes"]
    assert registered.status_code == 200 and by_hash.status_code == 200
    assert by_hash.json()["data"] == as_text.json()["data"]
    assert by_hash.headers["cache-control"] == "public, max-age=60"


MUTATION = 'mutation { register(input: {handle: "apq_refused", password: "long enough pw"}) { token } }'


@pytest.mark.parametrize(("why", "query", "method", "status"), [
    ("a mutation over GET", MUTATION, "GET", 405),
    ("a validation error", "{ faqs(first: 1) { noSuchField } }", "POST", 400),
    ("introspection in production", "{ __schema { types { name } } }", "GET", 400),
    ("over a shape limit", "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }", "POST", 400),
], ids=["mutation-over-get", "validation-error", "introspection-in-production", "over-a-limit"])
async def test_a_refused_registration_stores_nothing(db: str, why: str, query: str, method: str, status: int) -> None:
    """Had the refused request stored its hash, the next hash-only request would run what was
    refused (or answer a query that never ran): the hash must still be unknown."""
    query = f"{query} # {why} {uuid.uuid4().hex}"
    extensions = apq(sha256(query))
    async with client_for(settings_with(app_env="production", rate_limit_enabled=False)) as client:
        if method == "GET":
            refused = await client.http.get("/graphql", params={"query": query, "extensions": json.dumps(extensions)})
        else:
            refused = await client.http.post("/graphql", json={"query": query, "extensions": extensions})
        later = await client.http.post("/graphql", json={"extensions": extensions})
    assert refused.status_code == status, refused.text
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert not await User.filter(handle="apq_refused").exists()
