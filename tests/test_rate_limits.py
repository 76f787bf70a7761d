"""Rate limits in cost points per window, by token and by client IP, in memory and in Redis."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from gql.limits.budget import RedisBudgets
from models.accounts import User
from tests.conftest import client_for, settings_with
from tests.factories import make_user, token_for

QUERY = "{ faqs(first: 3) { nodes { title } } }"  # costs 4 points


async def test_every_response_carries_the_budget_headers(db: str) -> None:
    async with client_for(settings_with(rate_limit_anonymous_points=100)) as client:
        first = await client.post(QUERY)
        second = await client.post(QUERY)
    assert first.headers["x-ratelimit-limit"] == "100"
    assert int(first.headers["x-ratelimit-used"]) == 4 and int(first.headers["x-ratelimit-remaining"]) == 96
    assert int(second.headers["x-ratelimit-used"]) == 8
    assert int(first.headers["x-ratelimit-reset"]) > time.time()
    assert first.json()["extensions"]["cost"] == {"requested": 4, "limit": 100, "remaining": 96,
                                                  "resetAt": int(first.headers["x-ratelimit-reset"])}


async def test_spent_budget_is_429_with_retry_after_and_nothing_runs(db: str) -> None:
    async with client_for(settings_with(rate_limit_anonymous_points=10)) as client:
        assert (await client.post(QUERY)).status_code == 200
        assert (await client.post(QUERY)).status_code == 200
        refused = await client.post('mutation { register(input: {handle: "rl_blocked", password: "long enough pw"}) { token } }')
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert not await User.filter(handle="rl_blocked").exists()


async def test_tokens_have_their_own_larger_budget_and_mutations_cost_more(db: str) -> None:
    token = await token_for(await make_user("rl_token"))
    async with client_for(settings_with(rate_limit_points=50, rate_limit_anonymous_points=5, mutation_cost=10)) as client:
        query = await client.post(QUERY, token=token)
        assert query.headers["x-ratelimit-limit"] == "50" and query.headers["x-ratelimit-used"] == "4"
        mutation = await client.post('mutation { revokeToken(input: {tokenId: "QWNjZXNzVG9rZW46OTk5OTk5"}) { userErrors { code } } }', token=token)
        # The payload and its userErrors list: 2 points, plus the mutation surcharge.
        assert int(mutation.headers["x-ratelimit-used"]) == 4 + 2 + 10


async def test_login_attempts_count_each_alias(db: str) -> None:
    attempts = " ".join(
        f'a{i}: login(input: {{handle: "rl_victim", password: "guess {i}"}}) {{ token }}' for i in range(4)
    )
    async with client_for(settings_with(login_attempts=5)) as client:
        first = await client.post(f"mutation {{ {attempts} }}")
        assert first.status_code == 200
        second = await client.post(f"mutation {{ {attempts} }}")
    assert second.status_code == 429
    assert second.json()["errors"][0]["message"].startswith("Too many login attempts")


async def test_login_attempts_are_limited_per_handle_across_addresses(db: str) -> None:
    # Variables count as well as literals: the handle is what an attacker cycles passwords against.
    login = 'mutation($h: String!) { login(input: {handle: $h, password: "nope nope nope"}) { token } }'
    async with client_for(settings_with(login_attempts=2)) as client:
        codes = [(await client.post(login, {"h": "RL_Target"})).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    return url


async def test_redis_budget_is_shared_by_two_workers(db: str) -> None:
    url = redis_url()
    key = f"test:{uuid.uuid4().hex}"
    first, second = RedisBudgets(url), RedisBudgets(url)
    try:
        assert (await first.spend(key, 6, 10, 60)).used == 6
        refused = await second.spend(key, 6, 10, 60)
        assert not refused.allowed and refused.used == 6
        assert (await second.spend(key, 4, 10, 60)).used == 10
    finally:
        await first.close()
        await second.close()


async def test_two_apps_on_redis_share_one_budget(db: str) -> None:
    url = redis_url()
    # Each test run uses a fresh window key space by shrinking the window to this test's scale.
    settings = settings_with(redis_url=url, rate_limit_anonymous_points=10, rate_limit_window_seconds=7 + int(uuid.uuid4().int % 1000))
    async with client_for(settings) as worker_a, client_for(settings) as worker_b:
        assert (await worker_a.post(QUERY)).status_code == 200
        assert (await worker_b.post(QUERY)).status_code == 200
        assert (await worker_a.post(QUERY)).status_code == 429
