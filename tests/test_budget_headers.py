"""Budgets tell the truth: per person rather than per token, on refusals too, and never in an answer a
shared cache hands to others; credentials that are not a Bearer token are refused, not ignored."""

from __future__ import annotations

import pytest

from tests.conftest import client_for, settings_with
from tests.factories import make_user, token_for

QUERY = "{ faqs(first: 3) { nodes { title } } }"  # costs 4 points
BUDGET_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")


async def test_refusals_carry_the_budget_headers(db: str) -> None:
    async with client_for(settings_with(rate_limit_anonymous_points=100)) as client:
        assert (await client.post(QUERY)).headers["x-ratelimit-used"] == "4"
        refusals = [
            await client.post("{ viewer { " + "isAuthenticated " * 301 + "} }"),  # 400 MAX_FIELDS_EXCEEDED
            await client.http.post("/graphql", content=b"{", headers={"content-type": "application/json"}),  # 400
            await client.http.post("/graphql", content=b"query=x", headers={"content-type": "text/plain"}),  # 415
            await client.http.put("/graphql"),  # 405
            await client.post(QUERY, headers={"Authorization": "Bearer cht_unknown"}),  # 401
        ]
    for refusal in refusals:
        assert refusal.status_code >= 400, refusal.text
        assert all(name in refusal.headers for name in BUDGET_HEADERS), (refusal.status_code, refusal.headers)
        assert refusal.headers["x-ratelimit-used"] == "4"  # refused before admission: nothing spent
    async with client_for(settings_with(rate_limit_anonymous_points=100)) as client:
        # Validation is work done for the caller: it costs the minimum of one point.
        invalid = await client.post("{ nope }")
    assert invalid.status_code == 400 and invalid.headers["x-ratelimit-used"] == "1"


async def test_a_person_has_one_budget_whatever_the_number_of_tokens(db: str) -> None:
    user = await make_user("budget_person")
    first, second = await token_for(user), await token_for(user)
    async with client_for(settings_with(rate_limit_points=10)) as client:
        assert (await client.post(QUERY, token=first)).status_code == 200
        assert (await client.post(QUERY, token=second)).headers["x-ratelimit-used"] == "8"
        # A refusal reports the same person's budget, not their address's.
        refused_early = await client.http.put("/graphql", headers={"Authorization": f"Bearer {first}"})
        assert (refused_early.status_code, refused_early.headers["x-ratelimit-used"]) == (405, "8")
        # A fresh token (what every `login` returns) buys no fresh budget.
        refused = await client.post(QUERY, token=await token_for(user))
    assert refused.status_code == 429


async def test_answers_a_shared_cache_keeps_carry_nobodys_budget(db: str) -> None:
    async with client_for(settings_with(rate_limit_anonymous_points=100)) as client:
        shared = await client.http.get("/graphql", params={"query": QUERY})
        assert shared.headers["cache-control"].startswith("public")
        assert not any(name in shared.headers for name in BUDGET_HEADERS)
        assert shared.json()["extensions"]["cost"] == {"requested": 4}
        # An answer about the caller's own budget is theirs alone.
        own = await client.http.get("/graphql", params={"query": "{ rateLimit { remaining } }"})
        assert own.headers["cache-control"] == "no-store"
        assert own.headers["x-ratelimit-remaining"] == str(own.json()["data"]["rateLimit"]["remaining"])


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token cht_x", "Bearer a b",
                                    "Bearer " + "x" * 300, "cht_token-without-a-scheme"])
async def test_a_malformed_authorization_header_is_refused(db: str, header: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=False)) as client:
        response = await client.post(QUERY, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert 'error="invalid_request"' in response.headers["www-authenticate"]
    assert "data" not in response.json()
