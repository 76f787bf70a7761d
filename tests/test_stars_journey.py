"""The Stars journey end to end, over HTTP only, with a moderator made by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from models.accounts import Role, User
from models.stars import StarApplication, StarProfile
from tests.support import GraphQLClient

ROOT = Path(__file__).resolve().parent.parent
ELIGIBILITY = "{ viewer { user { handle } starEligibility { eligible requirements { code met detail } } } }"


def cli(db_url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": db_url}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def test_register_apply_get_approved_and_become_a_star(client: GraphQLClient, db_url: str) -> None:
    # 1. A newcomer registers and sees why they cannot apply yet.
    registered = await client.query(
        'mutation { register(input: {handle: "journey_new", password: "journey password"}) { token userErrors { code } } }'
    )
    newcomer = registered["register"]["token"]
    eligibility = (await client.query(ELIGIBILITY, token=newcomer))["viewer"]["starEligibility"]
    unmet = {r["code"] for r in eligibility["requirements"] if not r["met"]}
    assert eligibility["eligible"] is False and {"APPROVED_POSTS", "ACCOUNT_AGE"} <= unmet

    # 2. The seed's demo_member has the posts and the account age: signed in, they can apply.
    login = await client.query('mutation { login(input: {handle: "demo_member", password: "demo-password"}) { token userErrors { code } } }')
    member = login["login"]["token"]
    assert member, login
    eligible = (await client.query(ELIGIBILITY, token=member))["viewer"]["starEligibility"]
    assert eligible["eligible"] is True, eligible
    applied = await client.query(
        'mutation { applyToStarsProgram(input: {dateOfBirth: "1994-03-02", weeklyMinutes: 90, languages: ["en", "es"], '
        'motivation: "I answer playback and device questions every week and would love to do more of it."}) '
        "{ application { id status } userErrors { code message } } }",
        token=member,
    )
    application = applied["applyToStarsProgram"]["application"]
    assert application["status"] == "SUBMITTED", applied
    demo = await User.get(handle="demo_member")
    try:
        # 3. A moderator made with the CLI finds it in the queue and approves it.
        cli(db_url, "user", "add", "journey_mod", "--role", "moderator", "--password", "moderator password")
        moderator = cli(db_url, "token", "create", "journey_mod")
        queue = await client.query("{ starApplications(status: [SUBMITTED]) { nodes { id applicant { handle } } } }", token=moderator)
        assert {"id": application["id"], "applicant": {"handle": "demo_member"}} in queue["starApplications"]["nodes"]
        approved = await client.query(
            'mutation($id: ID!) { reviewStarApplication(input: {applicationId: $id, decision: APPROVE, note: "Welcome!"}) '
            "{ application { status } userErrors { code } } }",
            {"id": application["id"]}, token=moderator,
        )
        assert approved["reviewStarApplication"]["application"]["status"] == "APPROVED"

        # 4. The member is a Star, listed among the Stars, and the audit log has the decision.
        assert (await client.query("{ viewer { role } }", token=member))["viewer"]["role"] == "STAR"
        stars = await client.query("{ stars(first: 100) { nodes { handle role starSince } } }")
        listed = [node for node in stars["stars"]["nodes"] if node["handle"] == "demo_member"]
        assert listed and listed[0]["role"] == "STAR" and listed[0]["starSince"]
        log = await client.query("{ moderationLog(first: 20) { nodes { action reason targetId actor { handle } } } }", token=moderator)
        assert {"action": "APPROVE", "reason": "Welcome!", "targetId": application["id"], "actor": {"handle": "journey_mod"}} in log["moderationLog"]["nodes"]
    finally:
        # Leave the seed's demo account as other tests expect it.
        await StarProfile.filter(user_id=demo.pk).delete()
        await User.filter(id=demo.pk).update(role=Role.MEMBER)
        await StarApplication.filter(user_id=demo.pk).delete()


async def test_a_star_made_with_the_cli_is_listed_with_a_star_since(client: GraphQLClient, db_url: str) -> None:
    assert cli(db_url, "user", "add", "cli_star", "--role", "star", "--password", "cli star password") == "created cli_star (STAR)"
    stars = await client.query("{ stars(first: 100) { nodes { handle role starSince } } }")
    listed = [node for node in stars["stars"]["nodes"] if node["handle"] == "cli_star"]
    assert listed and listed[0]["role"] == "STAR" and listed[0]["starSince"], stars
