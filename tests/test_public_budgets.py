"""Budgets that suit a public site: what each page of a frontend costs, an anonymous default under
which a visitor browsing all hour is never refused, and a server-side renderer's token with a
budget of its own (`community-api token create HANDLE --points N`).

The pages are the operations a frontend runs (`gql/landing_page.graphql`, `tests/pages/`); their
costs are pinned here and in the README's table, so a schema change that changes one is noticed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLInputObjectType

from gql.cli import main as cli
from gql.limits.analysis import analyse_cached
from gql.limits.budget import MemoryBudgets
from gql.limits.guard import Guard
from gql.schema import build_schema
from gql.settings import Settings
from models.accounts import TOKEN_POINTS_MAX, AccessToken, TokenScope, issue_token
from models.errors import RuleViolation
from models.faqs import Faq, FaqStatus
from models.issues import Issue
from models.posts import Board, Post, PostStatus
from models.wizard import WizardStep
from tests.conftest import client_for, settings_with
from tests.factories import gid, make_user, token_for
from tests.support import GraphQLClient, count_sql

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = {
    "landing": ROOT / "gql" / "landing_page.graphql",
    **{path.stem: path for path in sorted((ROOT / "tests" / "pages").glob("*.graphql"))},
}
# What each page view costs, in points, as the guard counts it.
PAGE_COSTS = {
    "landing": 71,
    "faq": 9,
    "faqs": 43,
    "issue": 23,
    "issues": 42,
    "board": 63,
    "post": 65,
    "search": 303,
    "stars": 37,
    "wizard": 7,
}
# A visitor browsing normally: a page view every 30 s for an hour, mostly the landing page, FAQs
# and issues; this cycle of 12 views, ten times over (the README's "one visitor's hour").
VIEW_EVERY_SECONDS = 30
VISIT_CYCLE = ("landing", "faq", "faq", "issue", "landing", "wizard", "faq", "issue", "board", "post", "stars", "search")
QUERY = "{ faqs(first: 3) { nodes { title } } }"  # costs 4 points


def page_cost(name: str, settings: Settings) -> int:
    """The points a page view spends: the guard's own analysis of the document, as admission runs it."""
    guard = Guard(build_schema(settings), settings, MemoryBudgets())
    analysis = analyse_cached(guard.schema, PAGE_FILES[name].read_text(), settings.max_tokens, None, None,
                              settings.page_size_default, guard.shape_limits)
    return max(analysis.cost, 1)


def hour_of_browsing(settings: Settings) -> list[str]:
    views = settings.rate_limit_window_seconds // VIEW_EVERY_SECONDS
    return [VISIT_CYCLE[i % len(VISIT_CYCLE)] for i in range(views)]


async def page_variables() -> dict[str, dict[str, Any]]:
    """Variables naming real rows of the seed, so that every page finds what it shows."""
    faq = await Faq.filter(status=FaqStatus.PUBLISHED).order_by("id").first()
    issue = await Issue.all().order_by("number").first()
    board = await Board.all().order_by("id").first()
    post = await Post.filter(status=PostStatus.PUBLISHED, reply_count__gt=0).order_by("id").first()
    step = await WizardStep.filter(is_first=True).first()
    assert faq and issue and board and post and step, "the seed holds every kind of page"
    return {
        "faq": {"slug": faq.slug},
        "faqs": {"category": None},
        "issue": {"number": issue.number},
        "board": {"board": board.slug},
        "post": {"slug": post.slug},
        "search": {"query": "android"},
        "wizard": {"id": gid(step)},
    }


async def view(client: GraphQLClient, page: str, variables: dict[str, dict[str, Any]], **options: Any) -> Any:
    return await client.post(PAGE_FILES[page].read_text(), variables.get(page), **options)


async def inside_one_window(window: int, needed_seconds: int = 60) -> None:
    """Budgets run in fixed windows: wait for a new one rather than straddle a reset."""
    left = window - time.time() % window
    if left < needed_seconds:
        await asyncio.sleep(left + 0.1)


# --- What a page view costs --------------------------------------------------------------------------


def test_every_page_has_a_pinned_cost() -> None:
    assert sorted(PAGE_FILES) == sorted(PAGE_COSTS)


@pytest.mark.parametrize("page", sorted(PAGE_COSTS))
def test_what_a_page_view_costs(page: str) -> None:
    assert page_cost(page, settings_with()) == PAGE_COSTS[page]


def test_the_readme_table_says_what_each_page_costs() -> None:
    readme = (ROOT / "README.md").read_text()
    for page, path in PAGE_FILES.items():
        row = f"| `{path.relative_to(ROOT)}` | {PAGE_COSTS[page]:,} |"
        assert row in readme, f"README's page-cost table lacks {row!r}"


async def test_each_page_answers_and_is_charged_its_cost(db: str) -> None:
    variables = await page_variables()
    async with client_for(settings_with(rate_limit_anonymous_points=10_000)) as client:
        for page, cost in PAGE_COSTS.items():
            response = await view(client, page, variables)
            payload = response.json()
            assert response.status_code == 200 and "errors" not in payload, (page, payload)
            assert all(value is not None for value in payload["data"].values()), (page, payload["data"])
            assert payload["extensions"]["cost"]["requested"] == cost, page


# --- The anonymous default ---------------------------------------------------------------------------


def test_the_default_covers_an_hour_of_the_costliest_common_page() -> None:
    # Even a visitor who views nothing but the landing page every 30 s all hour is never refused.
    defaults = settings_with()
    views = defaults.rate_limit_window_seconds // VIEW_EVERY_SECONDS
    assert views * max(PAGE_COSTS[page] for page in ("landing", "faq", "issue")) <= defaults.rate_limit_anonymous_points
    # And signing in never leaves anyone less than an anonymous visitor has.
    assert defaults.rate_limit_points >= defaults.rate_limit_anonymous_points


async def test_a_visitor_browsing_all_hour_is_never_refused_and_one_past_the_budget_is(db: str) -> None:
    defaults = settings_with()
    variables = await page_variables()
    pages = hour_of_browsing(defaults)
    assert len(pages) == 120
    await inside_one_window(defaults.rate_limit_window_seconds)
    async with client_for(defaults) as client:
        for page in pages:
            response = await view(client, page, variables)
            assert response.status_code == 200 and "errors" not in response.json(), (page, response.text)
        spent = sum(PAGE_COSTS[page] for page in pages)
        assert spent == 6_900  # the README's figure for one visitor's hour
        assert int(response.headers["x-ratelimit-used"]) == spent
        assert response.headers["x-ratelimit-limit"] == str(defaults.rate_limit_anonymous_points)
        # Past the budget (a scraper at the same address), the view that would overspend is refused.
        more = (defaults.rate_limit_anonymous_points - spent) // PAGE_COSTS["landing"]
        for _ in range(more):
            assert (await view(client, "landing", variables)).status_code == 200
        refused = await view(client, "landing", variables)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["x-ratelimit-used"]) == spent + more * PAGE_COSTS["landing"]


# --- A server-side renderer's token ------------------------------------------------------------------


async def test_a_token_with_points_spends_a_budget_of_its_own(db: str) -> None:
    user = await make_user("ssr")
    renderer = await issue_token(user, TokenScope.READ, "ssr", rate_limit_points=10)
    another_renderer = await issue_token(user, TokenScope.READ, "ssr 2", rate_limit_points=10)
    own = await token_for(user)
    async with client_for(settings_with(rate_limit_points=100, rate_limit_anonymous_points=50)) as client:
        spends = [await client.post(QUERY, token=renderer) for _ in range(3)]
        assert [answer.status_code for answer in spends] == [200, 200, 429]
        assert [answer.headers["x-ratelimit-limit"] for answer in spends] == ["10"] * 3
        assert [answer.headers["x-ratelimit-used"] for answer in spends] == ["4", "8", "8"]
        assert spends[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # None of that was the user's budget (their other tokens), the address's, or another renderer's.
        mine = await client.post(QUERY, token=own)
        anonymous = await client.post(QUERY)
        other = await client.post(QUERY, token=another_renderer)
        # A refusal before admission reports the renderer's budget, spending nothing.
        early = await client.http.put("/graphql", headers={"Authorization": f"Bearer {renderer}"})
    assert (mine.status_code, mine.headers["x-ratelimit-limit"], mine.headers["x-ratelimit-used"]) == (200, "100", "4")
    assert (anonymous.status_code, anonymous.headers["x-ratelimit-limit"], anonymous.headers["x-ratelimit-used"]) == (
        200, "50", "4")
    assert (other.status_code, other.headers["x-ratelimit-limit"], other.headers["x-ratelimit-used"]) == (200, "10", "4")
    assert (early.status_code, early.headers["x-ratelimit-limit"], early.headers["x-ratelimit-used"]) == (405, "10", "8")


async def test_the_renderers_budget_is_read_from_the_token_authentication_loaded(db: str) -> None:
    user = await make_user("ssr_sql")
    renderer = await issue_token(user, TokenScope.READ, "ssr", rate_limit_points=1_000)
    plain = await token_for(user)
    async with client_for(settings_with(response_cache_enabled=False)) as client:
        # Warm up (schema, caches) so that the two counts below differ only by the token.
        await client.post(QUERY, token=plain)
        with count_sql() as with_points:
            answer = await client.post(QUERY, token=renderer)
        with count_sql() as without:
            await client.post(QUERY, token=plain)
    assert answer.headers["x-ratelimit-limit"] == "1000"
    assert with_points.count == without.count


async def test_no_client_can_give_a_token_a_budget(db: str, client: GraphQLClient) -> None:
    # Only an operator can: no input of the schema carries points, and tokens from login have none.
    schema = build_schema(settings_with())._schema
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLInputObjectType):
            names = [name.lower() for name in type_.fields]
            assert not [name for name in names if "point" in name or "ratelimit" in name or "budget" in name], type_
    register = 'mutation { register(input: {handle: "ssr_self", password: "long enough pw"}) { token } }'
    token = (await client.query(register))["register"]["token"]
    row = await AccessToken.get(user__handle="ssr_self")
    assert token and row.rate_limit_points is None


@pytest.mark.parametrize("points", [0, -5, TOKEN_POINTS_MAX + 1])
async def test_the_domain_refuses_a_budget_out_of_range(db: str, points: int) -> None:
    user = await make_user("ssr_range")
    with pytest.raises(RuleViolation) as refused:
        await issue_token(user, TokenScope.READ, "ssr", rate_limit_points=points)
    assert refused.value.problems[0].code == "OUT_OF_RANGE"
    assert not await AccessToken.filter(user_id=user.pk).exists()


# --- The command ---------------------------------------------------------------------------------


async def test_the_cli_creates_a_token_with_its_own_budget(db: str, db_url: str) -> None:
    user = await make_user("ssr_cli")
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "gql.cli", "token", "create", user.handle, "--scope", "read",
                         "--label", "ssr", "--points", "5000"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": db_url}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("cht_") and "5,000 points per window" in result.stderr
    row = await AccessToken.get(user_id=user.pk)
    assert (row.scope, row.label, row.rate_limit_points) == (TokenScope.READ, "ssr", 5000)
    async with client_for(settings_with()) as client:
        answer = await client.post(QUERY, token=token)
    assert (answer.status_code, answer.headers["x-ratelimit-limit"]) == (200, "5000")


@pytest.mark.parametrize("points, reason", [
    ("0", "1 to 10,000,000 points per window, not 0"),
    ("-5", "1 to 10,000,000 points per window, not -5"),
    ("10000001", "1 to 10,000,000 points per window, not 10,000,001"),
    ("99999999999999999999", "1 to 10,000,000 points per window"),
    ("lots", "whole number of points, not 'lots'"),
    ("2.5", "whole number of points, not '2.5'"),
])
async def test_the_cli_refuses_a_budget_out_of_range(db: str, capsys: pytest.CaptureFixture[str], points: str,
                                                     reason: str) -> None:
    user = await make_user("ssr_cli_refused")
    tokens_before = await AccessToken.all().count()
    with pytest.raises(SystemExit) as exit_:
        cli(["token", "create", user.handle, "--points", points])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and "--points" in error and reason in error and "Traceback" not in error
    assert await AccessToken.all().count() == tokens_before
