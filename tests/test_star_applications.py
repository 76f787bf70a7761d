"""The apply-and-review workflow over HTTP: eligibility, apply, withdraw, review, races."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from gql.relay import pk_of, to_global_id
from models.accounts import Role, User
from models.moderation import ModerationAction
from models.stars import ApplicationStatus, StarApplication, StarProfile
from tests.factories import make_board, make_post, make_user, token_for
from tests.support import GraphQLClient

ELIGIBILITY = "{ viewer { starEligibility { eligible requirements { code status met detail } } } }"
APPLY = """mutation($input: ApplyToStarsProgramInput!) {
  applyToStarsProgram(input: $input) { application { id status } userErrors { field message code } }
}"""
WITHDRAW = """mutation($input: WithdrawStarApplicationInput!) {
  withdrawStarApplication(input: $input) { application { id status } userErrors { field code message } }
}"""
REVIEW = """mutation($input: ReviewStarApplicationInput!) {
  reviewStarApplication(input: $input) { application { id status reviewNote applicant { handle role } } userErrors { field code message } }
}"""
MOTIVATION = "I have answered playback questions on the Help board for two years and love it."
ADULT = str(date(1990, 5, 17))


async def eligible_member(prefix: str = "star_ok") -> tuple[User, str]:
    user = await make_user(prefix, age_days=365)
    board = await make_board(prefix)
    for _ in range(5):
        await make_post(user, board)
    return user, await token_for(user)


def form(**changes: object) -> dict:
    return {"input": {"dateOfBirth": ADULT, "motivation": MOTIVATION, "weeklyMinutes": 60, "languages": ["en"], **changes}}


async def reviewer_token() -> str:
    return await token_for(await make_user("star_mod", Role.MODERATOR))


async def test_eligibility_explains_every_unmet_requirement(client: GraphQLClient) -> None:
    newcomer = await make_user("star_new", age_days=3)
    data = (await client.query(ELIGIBILITY, token=await token_for(newcomer)))["viewer"]["starEligibility"]
    by_code = {r["code"]: r for r in data["requirements"]}
    assert data["eligible"] is False
    assert by_code["APPROVED_POSTS"]["status"] == "UNMET" and "0 published posts" in by_code["APPROVED_POSTS"]["detail"]
    assert by_code["ACCOUNT_AGE"]["status"] == "UNMET" and "3 days old" in by_code["ACCOUNT_AGE"]["detail"]
    assert by_code["AGE_18_PLUS"]["status"] == "CHECKED_ON_APPLY"
    assert by_code["NO_OPEN_APPLICATION"]["met"] is True


async def test_anonymous_viewer_has_no_eligibility(client: GraphQLClient) -> None:
    assert (await client.query(ELIGIBILITY))["viewer"]["starEligibility"] is None


async def test_ineligible_member_is_refused_with_one_error_per_requirement(client: GraphQLClient) -> None:
    newcomer = await make_user("star_new", age_days=3)
    payload = (await client.query(APPLY, form(weeklyMinutes=5), token=await token_for(newcomer)))["applyToStarsProgram"]
    codes = {e["code"] for e in payload["userErrors"]}
    assert codes == {"APPROVED_POSTS", "ACCOUNT_AGE", "WEEKLY_MINUTES"}
    assert payload["application"] is None
    assert not await StarApplication.filter(user_id=newcomer.pk).exists()


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"dateOfBirth": str(date.today() + timedelta(days=30))}, "AGE_18_PLUS", ["input", "dateOfBirth"]),
        ({"dateOfBirth": str(date.today().replace(year=date.today().year - 17))}, "AGE_18_PLUS", ["input", "dateOfBirth"]),
        ({"motivation": "too short"}, "MOTIVATION", ["input", "motivation"]),
        ({"motivation": "x" * 2001}, "MOTIVATION", ["input", "motivation"]),
        ({"weeklyMinutes": 0}, "WEEKLY_MINUTES", ["input", "weeklyMinutes"]),
    ],
)
async def test_bad_form_answers_are_refused(client: GraphQLClient, changes: dict, code: str, field: list[str]) -> None:
    user, token = await eligible_member()
    payload = (await client.query(APPLY, form(**changes), token=token))["applyToStarsProgram"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert not await StarApplication.filter(user_id=user.pk).exists()


async def test_wrong_types_are_graphql_validation_errors(client: GraphQLClient) -> None:
    _, token = await eligible_member()
    errors = await client.errors(APPLY, form(dateOfBirth="17th of May", weeklyMinutes="lots"), token=token)
    assert "dateOfBirth" in errors[0]["message"] or "Date" in errors[0]["message"]


async def test_full_flow_apply_approve_becomes_star_and_is_audited(client: GraphQLClient) -> None:
    user, token = await eligible_member()
    applied = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]
    assert applied["userErrors"] == [] and applied["application"]["status"] == "SUBMITTED"
    application_id = applied["application"]["id"]

    again = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]
    assert [e["code"] for e in again["userErrors"]] == ["NO_OPEN_APPLICATION"]

    moderator = await reviewer_token()
    queue = await client.query("{ starApplications(status: [SUBMITTED]) { nodes { id applicant { handle } } } }", token=moderator)
    assert application_id in [node["id"] for node in queue["starApplications"]["nodes"]]

    reviewed = (await client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "APPROVE"}}, token=moderator))["reviewStarApplication"]
    assert reviewed["userErrors"] == []
    assert reviewed["application"]["status"] == "APPROVED"
    assert reviewed["application"]["applicant"] == {"handle": user.handle, "role": "STAR"}
    assert await StarProfile.filter(user_id=user.pk).exists()
    stars = await client.query("{ viewer { role } }", token=token)
    assert stars["viewer"]["role"] == "STAR"
    log = await ModerationAction.filter(target_kind="STAR_APPLICATION", target_id=pk_of(application_id, "StarApplication")).values_list("action", "actor_id")
    assert len(log) == 1 and log[0][0] == "APPROVE"


async def test_request_info_then_resubmit_then_reject_with_note(client: GraphQLClient) -> None:
    user, token = await eligible_member()
    moderator = await reviewer_token()
    application_id = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]["application"]["id"]

    blank = (await client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "REQUEST_INFO"}}, token=moderator))["reviewStarApplication"]
    assert blank["userErrors"][0]["code"] == "BLANK"
    asked = (await client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "REQUEST_INFO", "note": "Which boards do you help on?"}}, token=moderator))["reviewStarApplication"]
    assert asked["application"]["status"] == "NEEDS_INFO"

    mine = await client.query("{ viewer { starApplications { id status reviewNote } } }", token=token)
    assert mine["viewer"]["starApplications"][0] == {"id": application_id, "status": "NEEDS_INFO", "reviewNote": "Which boards do you help on?"}

    resubmitted = (await client.query(APPLY, form(motivation=MOTIVATION + " Mostly Help and Devices."), token=token))["applyToStarsProgram"]
    assert resubmitted["application"] == {"id": application_id, "status": "SUBMITTED"}
    rejected = (await client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "REJECT", "note": "Not this round."}}, token=moderator))["reviewStarApplication"]
    assert rejected["application"]["status"] == "REJECTED"
    assert (await User.get(id=user.pk)).role is Role.MEMBER

    cooldown = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]
    assert [e["code"] for e in cooldown["userErrors"]] == ["REJECTION_COOLDOWN"]


async def test_withdrawn_application_cannot_be_reviewed(client: GraphQLClient) -> None:
    _, token = await eligible_member()
    application_id = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]["application"]["id"]
    withdrawn = (await client.query(WITHDRAW, {"input": {"applicationId": application_id}}, token=token))["withdrawStarApplication"]
    assert withdrawn["application"]["status"] == "WITHDRAWN"
    twice = (await client.query(WITHDRAW, {"input": {"applicationId": application_id}}, token=token))["withdrawStarApplication"]
    assert twice["userErrors"][0]["code"] == "INVALID_STATE"
    moderator = await reviewer_token()
    refused = (await client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "APPROVE"}}, token=moderator))["reviewStarApplication"]
    assert refused["userErrors"][0]["code"] == "INVALID_STATE"
    assert (await StarApplication.get(id=pk_of(application_id, "StarApplication"))).status is ApplicationStatus.WITHDRAWN
    assert not await ModerationAction.filter(target_kind="STAR_APPLICATION", target_id=pk_of(application_id, "StarApplication")).exists()


async def test_cannot_withdraw_someone_elses_application(client: GraphQLClient) -> None:
    _, token = await eligible_member()
    application_id = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]["application"]["id"]
    _, other = await eligible_member("star_other")
    refused = (await client.query(WITHDRAW, {"input": {"applicationId": application_id}}, token=other))["withdrawStarApplication"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"


async def test_unknown_and_wrong_type_application_ids(client: GraphQLClient) -> None:
    moderator = await reviewer_token()
    unknown = (await client.query(REVIEW, {"input": {"applicationId": to_global_id("StarApplication", 99999), "decision": "APPROVE"}}, token=moderator))["reviewStarApplication"]
    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"
    errors = await client.errors(REVIEW, {"input": {"applicationId": to_global_id("User", 1), "decision": "APPROVE"}}, token=moderator)
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_members_cannot_review_or_list(client: GraphQLClient) -> None:
    _, token = await eligible_member()
    application_id = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]["application"]["id"]
    errors = await client.errors(REVIEW, {"input": {"applicationId": application_id, "decision": "APPROVE"}}, token=token)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    errors = await client.errors("{ starApplications { totalCount } }", token=token)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    errors = await client.errors("{ starApplications { totalCount } }")
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_two_moderators_deciding_at_once_exactly_one_wins(client: GraphQLClient) -> None:
    user, token = await eligible_member()
    application_id = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]["application"]["id"]
    first, second = await reviewer_token(), await reviewer_token()
    results = await asyncio.gather(
        client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "APPROVE"}}, token=first),
        client.query(REVIEW, {"input": {"applicationId": application_id, "decision": "REJECT", "note": "no"}}, token=second),
    )
    payloads = [r["reviewStarApplication"] for r in results]
    winners = [p for p in payloads if not p["userErrors"]]
    losers = [p for p in payloads if p["userErrors"]]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0]["userErrors"][0]["code"] == "INVALID_STATE"
    stored = await StarApplication.get(user_id=user.pk)
    assert stored.status.value == winners[0]["application"]["status"]
    assert await ModerationAction.filter(target_kind="STAR_APPLICATION", target_id=stored.pk).count() == 1
