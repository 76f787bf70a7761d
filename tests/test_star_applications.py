"""The apply-and-review workflow over HTTP: eligibility, apply, withdraw, review, races."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from gql.core.relay import pk_of, to_global_id
from models import stars as stars_rules
from models.accounts import Role, User
from models.base import utcnow
from models.audit import ModerationAction
from models.stars import ApplicationStatus, StarApplication, StarProfile, StarsProgram
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
        ({"weeklyMinutes": 10081}, "WEEKLY_MINUTES", ["input", "weeklyMinutes"]),
        ({"languages": ["en", "x" * 51]}, "TOO_LONG", ["input", "languages"]),
        ({"languages": [f"language {n}" for n in range(21)]}, "TOO_MANY", ["input", "languages"]),
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


# --- Races, claiming, eligibility with form answers, Star status, closed program, bounds --------

CLAIM = """mutation($input: ClaimStarApplicationInput!) {
  claimStarApplication(input: $input) { application { id status reviewer { handle } } userErrors { field code message } clientMutationId }
}"""
SET_ROLE = """mutation($input: SetUserRoleInput!) {
  setUserRole(input: $input) { user { role starSince } userErrors { code } }
}"""
ELIGIBILITY_WITH = """query($dateOfBirth: Date, $weeklyMinutes: Int, $motivation: String) {
  viewer { starEligibility(dateOfBirth: $dateOfBirth, weeklyMinutes: $weeklyMinutes, motivation: $motivation) {
    eligible requirements { code status met detail } } }
}"""


def review_input(application_id: str, decision: str = "APPROVE", note: str = "") -> dict:
    return {"input": {"applicationId": application_id, "decision": decision, "note": note}}


async def submitted_application(client: GraphQLClient) -> tuple[User, str, str]:
    user, token = await eligible_member()
    application_id = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]["application"]["id"]
    return user, token, application_id


async def requirements(client: GraphQLClient, token: str, variables: dict | None = None) -> tuple[bool, dict[str, dict]]:
    query = ELIGIBILITY_WITH if variables else ELIGIBILITY
    data = (await client.query(query, variables, token=token))["viewer"]["starEligibility"]
    return data["eligible"], {r["code"]: r for r in data["requirements"]}


async def test_concurrent_applies_from_one_member_create_exactly_one_application(client: GraphQLClient) -> None:
    user, token = await eligible_member()
    results = await asyncio.gather(*(client.query(APPLY, form(), token=token) for _ in range(5)))
    payloads = [r["applyToStarsProgram"] for r in results]
    assert len([p for p in payloads if not p["userErrors"]]) == 1, payloads
    assert all([e["code"] for e in p["userErrors"]] == ["NO_OPEN_APPLICATION"] for p in payloads if p["userErrors"])
    assert await StarApplication.filter(user_id=user.pk).count() == 1


async def test_claim_moves_a_submitted_application_in_review_and_is_audited(client: GraphQLClient) -> None:
    user, token, application_id = await submitted_application(client)
    moderator = await make_user("star_claimer", Role.MODERATOR)
    claimed = (await client.query(CLAIM, {"input": {"applicationId": application_id, "clientMutationId": "c1"}},
                                  token=await token_for(moderator)))["claimStarApplication"]
    assert claimed == {"application": {"id": application_id, "status": "IN_REVIEW", "reviewer": {"handle": moderator.handle}},
                       "userErrors": [], "clientMutationId": "c1"}
    pk = pk_of(application_id, "StarApplication")
    assert await ModerationAction.filter(target_kind="STAR_APPLICATION", target_id=pk, action="CLAIM", actor_id=moderator.pk).exists()
    # Still open for the applicant, and decidable by any reviewer.
    again = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]
    assert [e["code"] for e in again["userErrors"]] == ["NO_OPEN_APPLICATION"]
    reviewed = (await client.query(REVIEW, review_input(application_id), token=await reviewer_token()))["reviewStarApplication"]
    assert reviewed["userErrors"] == [] and reviewed["application"]["status"] == "APPROVED"
    refused = (await client.query(CLAIM, {"input": {"applicationId": application_id}}, token=await token_for(moderator)))["claimStarApplication"]
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("INVALID_STATE", ["input", "applicationId"])]


async def test_two_moderators_claiming_at_once_exactly_one_wins(client: GraphQLClient) -> None:
    _, _, application_id = await submitted_application(client)
    first, second = await reviewer_token(), await reviewer_token()
    results = await asyncio.gather(*(client.query(CLAIM, {"input": {"applicationId": application_id}}, token=t) for t in (first, second)))
    payloads = [r["claimStarApplication"] for r in results]
    assert sorted(len(p["userErrors"]) for p in payloads) == [0, 1]
    assert [e["code"] for p in payloads for e in p["userErrors"]] == ["INVALID_STATE"]
    pk = pk_of(application_id, "StarApplication")
    assert (await StarApplication.get(id=pk)).status is ApplicationStatus.IN_REVIEW
    assert await ModerationAction.filter(target_kind="STAR_APPLICATION", target_id=pk, action="CLAIM").count() == 1


async def test_claiming_an_unknown_application_is_not_found(client: GraphQLClient) -> None:
    missing = to_global_id("StarApplication", 99999)
    refused = (await client.query(CLAIM, {"input": {"applicationId": missing}}, token=await reviewer_token()))["claimStarApplication"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"


async def test_eligibility_without_form_answers_does_not_report_them_as_failures(client: GraphQLClient) -> None:
    _, token = await eligible_member()
    eligible, by_code = await requirements(client, token)
    assert eligible is True
    pending = {code for code, r in by_code.items() if r["status"] == "CHECKED_ON_APPLY"}
    assert pending == {"AGE_18_PLUS", "WEEKLY_MINUTES", "MOTIVATION"}
    # `met` is false only for what is known to fail: `eligible` is exactly "every requirement met".
    assert all(r["met"] for r in by_code.values())


async def test_eligibility_checks_the_form_answers_it_is_given(client: GraphQLClient) -> None:
    _, token = await eligible_member()
    minor = str(date.today().replace(year=date.today().year - 17))
    eligible, by_code = await requirements(client, token, {"dateOfBirth": minor, "weeklyMinutes": 60, "motivation": "short"})
    assert eligible is False
    assert {code: (r["status"], r["met"]) for code, r in by_code.items() if code in ("AGE_18_PLUS", "WEEKLY_MINUTES", "MOTIVATION")} == {
        "AGE_18_PLUS": ("UNMET", False), "WEEKLY_MINUTES": ("MET", True), "MOTIVATION": ("UNMET", False),
    }
    eligible, by_code = await requirements(client, token, {"weeklyMinutes": 5})
    assert eligible is False and by_code["WEEKLY_MINUTES"]["status"] == "UNMET"
    assert by_code["AGE_18_PLUS"]["status"] == by_code["MOTIVATION"]["status"] == "CHECKED_ON_APPLY"


async def test_a_star_is_not_eligible(client: GraphQLClient) -> None:
    star = await make_user("star_already", Role.STAR)
    eligible, by_code = await requirements(client, await token_for(star))
    assert eligible is False
    assert (by_code["NOT_ALREADY_STAR"]["status"], by_code["NOT_ALREADY_STAR"]["met"]) == ("UNMET", False)


async def test_set_user_role_keeps_the_star_profile_with_the_star_role(client: GraphQLClient) -> None:
    admin = await token_for(await make_user("star_admin", Role.ADMIN))
    member, member_token = await eligible_member()
    member_id = to_global_id("User", member.pk)
    made = (await client.query(SET_ROLE, {"input": {"userId": member_id, "role": "STAR"}}, token=admin))["setUserRole"]
    assert made["userErrors"] == [] and made["user"]["role"] == "STAR" and made["user"]["starSince"]
    demoted = (await client.query(SET_ROLE, {"input": {"userId": member_id, "role": "MEMBER"}}, token=admin))["setUserRole"]
    assert demoted["userErrors"] == [] and demoted["user"] == {"role": "MEMBER", "starSince": None}
    assert not await StarProfile.filter(user_id=member.pk).exists()
    eligible, by_code = await requirements(client, member_token)
    assert eligible is True and by_code["NOT_ALREADY_STAR"]["status"] == "MET"


async def test_closed_program_refuses_applications_and_eligibility_says_so(client: GraphQLClient) -> None:
    user, token = await eligible_member()
    await StarsProgram.all().update(applications_open=False)
    try:
        eligible, by_code = await requirements(client, token)
        assert eligible is False and by_code["APPLICATIONS_OPEN"]["status"] == "UNMET"
        refused = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]
        assert [e["code"] for e in refused["userErrors"]] == ["APPLICATIONS_OPEN"]
    finally:
        await StarsProgram.all().update(applications_open=True)
    assert not await StarApplication.filter(user_id=user.pk).exists()
    eligible, by_code = await requirements(client, token)
    assert eligible is True and "APPLICATIONS_OPEN" not in by_code


async def test_a_suspended_applicant_cannot_be_approved(client: GraphQLClient) -> None:
    user, _, application_id = await submitted_application(client)
    await User.filter(id=user.pk).update(suspended_at=utcnow(), suspension_reason="spam")
    refused = (await client.query(REVIEW, review_input(application_id), token=await reviewer_token()))["reviewStarApplication"]
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("APPLICANT_SUSPENDED", ["input", "applicationId"])]
    assert (await StarApplication.get(user_id=user.pk)).status is ApplicationStatus.SUBMITTED
    assert (await User.get(id=user.pk)).role is Role.MEMBER and not await StarProfile.filter(user_id=user.pk).exists()
    rejected = (await client.query(REVIEW, review_input(application_id, "REJECT", "Suspended"), token=await reviewer_token()))["reviewStarApplication"]
    assert rejected["userErrors"] == []


async def test_a_week_of_minutes_and_twenty_languages_are_accepted(client: GraphQLClient) -> None:
    user, token = await eligible_member()
    languages = [f"language {n}" for n in range(20)]
    payload = (await client.query(APPLY, form(weeklyMinutes=10080, languages=[*languages, " language 0 ", ""]), token=token))["applyToStarsProgram"]
    assert payload["userErrors"] == []
    assert (await StarApplication.get(user_id=user.pk)).languages == languages


async def test_a_failure_half_way_through_approval_changes_nothing(client: GraphQLClient, monkeypatch: pytest.MonkeyPatch) -> None:
    user, _, application_id = await submitted_application(client)

    async def broken_audit_log(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(stars_rules, "record_action", broken_audit_log)
    errors = await client.errors(REVIEW, review_input(application_id), token=await reviewer_token())
    assert errors[0]["message"] == "Internal server error"
    assert (await StarApplication.get(user_id=user.pk)).status is ApplicationStatus.SUBMITTED
    assert (await User.get(id=user.pk)).role is Role.MEMBER
    assert not await StarProfile.filter(user_id=user.pk).exists()


async def test_the_applicant_reads_the_rejection_note(client: GraphQLClient) -> None:
    _, token, application_id = await submitted_application(client)
    note = "Please help on a few more threads first."
    await client.query(REVIEW, review_input(application_id, "REJECT", note), token=await reviewer_token())
    mine = await client.query("{ viewer { starApplications { id status reviewNote } } }", token=token)
    assert mine["viewer"]["starApplications"] == [{"id": application_id, "status": "REJECTED", "reviewNote": note}]
