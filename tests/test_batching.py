"""Batched requests (a JSON array of operations): off by default, capped when switched on, and
every operation admitted before any of them runs."""

from __future__ import annotations

from typing import Any

import pytest

from gql.core.relay import to_global_id
from models.accounts import User
from tests.conftest import client_for, settings_with
from tests.factories import make_board, make_post, make_user, token_for
from tests.support import GraphQLClient

VIEWER = {"query": "{ viewer { isAuthenticated } }"}
GIVE = "mutation($id: ID!) { giveKudo(input: {postId: $id}) { post { kudosCount } userErrors { code } } }"
POST_KUDOS = "query($id: ID!) { node(id: $id) { ... on Post { kudosCount } } }"


def register(handle: str) -> dict[str, Any]:
    return {"query": 'mutation($h: String!) { register(input: {handle: $h, password: "long enough pw"}) { token } }',
            "variables": {"h": handle}}


async def send(client: GraphQLClient, batch: list[Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.http.post("/graphql", json=batch, headers=headers)


@pytest.fixture
def batching() -> Any:
    return settings_with(rate_limit_enabled=False, batch_max_operations=3)


async def test_batches_are_refused_by_default_and_nothing_runs(client: GraphQLClient) -> None:
    response = await send(client, [register("batch_default"), VIEWER])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BATCHING_DISABLED"
    assert not await User.filter(handle="batch_default").exists()


async def test_a_batch_answers_one_result_per_operation_in_order(db: str, batching: Any) -> None:
    author, fan = await make_user("batch_author"), await make_user("batch_fan")
    post = await make_post(author, await make_board("batch"))
    post_id = to_global_id("Post", post.pk)
    async with client_for(batching) as client:
        response = await send(client, [{"query": GIVE, "variables": {"id": post_id}},
                                       {"query": POST_KUDOS, "variables": {"id": post_id}},
                                       {"query": "{ nope }"}], token=await token_for(fan))
    assert response.status_code == 200
    first, second, third = response.json()
    assert first["data"]["giveKudo"] == {"post": {"kudosCount": 1}, "userErrors": []}
    # The second operation has loaders of its own, so it reads what the first wrote.
    assert second["data"]["node"]["kudosCount"] == 1
    # An invalid operation answers its own errors without data; the others still ran.
    assert "data" not in third and "nope" in third["errors"][0]["message"]
    assert all("cost" in result["extensions"] for result in (first, second))


@pytest.mark.parametrize("size", [0, 4])
async def test_a_batch_outside_the_cap_is_refused_whole(db: str, batching: Any, size: int) -> None:
    async with client_for(batching) as client:
        response = await send(client, [register(f"batch_cap_{size}_{i}") for i in range(size)])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BATCH_TOO_LARGE", "value": size, "limit": 3}
    assert not await User.filter(handle__startswith=f"batch_cap_{size}_").exists()


@pytest.mark.parametrize("bad", [["not an object"], [{"query": 42}]])
async def test_a_malformed_operation_refuses_the_whole_batch(db: str, batching: Any, bad: list[Any]) -> None:
    async with client_for(batching) as client:
        response = await send(client, [register("batch_malformed"), *bad])
    assert response.status_code == 400
    assert not await User.filter(handle="batch_malformed").exists()


async def test_limits_are_checked_for_every_operation_before_any_runs(db: str) -> None:
    too_costly = {"query": "{ posts(first: 100) { nodes { id } } }"}
    async with client_for(settings_with(rate_limit_enabled=False, batch_max_operations=3, max_query_cost=50)) as client:
        response = await send(client, [register("batch_limits"), too_costly])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "value": 101, "limit": 50}
    assert not await User.filter(handle="batch_limits").exists()


async def test_each_batched_login_is_an_attempt(db: str) -> None:
    await make_user("batch_victim")
    login = {"query": 'mutation { login(input: {handle: "batch_victim", password: "a wrong guess"}) { token } }'}
    async with client_for(settings_with(batch_max_operations=5, login_attempts=2)) as client:
        response = await send(client, [login, login, login])
    assert response.status_code == 429
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_each_batched_operation_spends_its_cost(db: str) -> None:
    async with client_for(settings_with(batch_max_operations=3)) as client:
        single = await client.http.post("/graphql", json=VIEWER)
        batch = await send(client, [VIEWER, VIEWER, VIEWER])
    used_once = int(single.headers["x-ratelimit-used"])
    assert int(batch.headers["x-ratelimit-used"]) == used_once * 4
