"""The schema tells the truth: one date-time format in every answer, payloads that hand a form
what it shows next, and the codes it answers are its enums' values."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from gql.core.relay import to_global_id
from gql.core.scalars import serialize_datetime
from models.accounts import AccessToken, Role
from models.stars import StarApplication
from tests.factories import make_user, token_for
from tests.support import GraphQLClient, database_state
from tests.test_star_applications import eligible_member, form

ROOT = Path(__file__).resolve().parent.parent
LANDING_PAGE = (ROOT / "gql" / "landing_page.graphql").read_text()
# The one format: UTC, milliseconds, `Z` (gql/core/scalars.py).
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# Anything that starts like a date-time, to find every one an answer holds.
LOOKS_LIKE_A_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT")


def strings(answer: Any) -> Iterator[str]:
    if isinstance(answer, dict):
        for value in answer.values():
            yield from strings(value)
    elif isinstance(answer, list):
        for value in answer:
            yield from strings(value)
    elif isinstance(answer, str):
        yield answer


async def test_every_date_time_of_the_landing_page_has_the_one_format(client: GraphQLClient) -> None:
    data = await client.query(LANDING_PAGE, {"n": 50})
    moments = [text for text in strings(data) if LOOKS_LIKE_A_MOMENT.match(text)]
    # publishedAt of announcements and blog posts, issues' updatedAt and postedAt, Stars' starSince.
    assert len(moments) >= 10
    assert [text for text in moments if not DATETIME.fullmatch(text)] == []


@pytest.mark.only_on("sqlite")
@pytest.mark.parametrize(("moment", "answered"), [
    (datetime(2024, 1, 10, 9, 0, tzinfo=timezone.utc), "2024-01-10T09:00:00.000Z"),
    (datetime(2026, 11, 29, 16, 37, 19, 667519, tzinfo=timezone.utc), "2026-11-29T16:37:19.667Z"),
    # Cut, never rounded: .9999 stays in its second.
    (datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=timezone.utc), "2026-11-29T23:59:59.999Z"),
    (datetime(2024, 1, 10, 11, 0, tzinfo=timezone(timedelta(hours=2))), "2024-01-10T09:00:00.000Z"),
    (datetime(2024, 1, 10, 9, 0), "2024-01-10T09:00:00.000Z"),  # naive: the database's UTC
    (datetime(5, 1, 1, tzinfo=timezone.utc), "0005-01-01T00:00:00.000Z"),
])
def test_a_date_time_is_answered_in_utc_with_milliseconds(moment: datetime, answered: str) -> None:
    """The scalar every answer goes through, HTTP and WebSocket alike (one schema serves both)."""
    assert serialize_datetime(moment) == answered


CREATE_ANNOUNCEMENT = """mutation($input: CreateAnnouncementInput!) {
  createAnnouncement(input: $input) { announcement { publishedAt expiresAt } userErrors { code field } }
}"""


async def test_date_time_input_keeps_accepting_offsets(client: GraphQLClient) -> None:
    token = await token_for(await make_user("dt_staff", Role.MODERATOR))
    # In the past and expired: no page lists it, so other tests see the announcements they expect.
    answer = (await client.query(CREATE_ANNOUNCEMENT, {"input": {
        "title": "Offsets", "body": "Times with offsets.",
        "publishedAt": "2020-01-01T12:00:00+02:00", "expiresAt": "2020-01-02T00:30:00.250-05:30",
    }}, token=token))["createAnnouncement"]
    assert answer == {"announcement": {"publishedAt": "2020-01-01T10:00:00.000Z",
                                       "expiresAt": "2020-01-02T06:00:00.250Z"}, "userErrors": []}


VIEWER_AFTER = "viewer { starEligibility { eligible requirements { code status } } starApplications { id status } }"
APPLY = f"""mutation($input: ApplyToStarsProgramInput!) {{
  applyToStarsProgram(input: $input) {{ application {{ id status }} userErrors {{ code field }} {VIEWER_AFTER} }}
}}"""


async def test_apply_answers_the_refreshed_eligibility_and_applications(client: GraphQLClient) -> None:
    user, token = await eligible_member("truth_apply")
    payload = (await client.query(APPLY, form(), token=token))["applyToStarsProgram"]
    assert payload["userErrors"] == [] and payload["application"]["status"] == "SUBMITTED"
    viewer = payload["viewer"]
    assert viewer["starApplications"] == [payload["application"]]
    by_code = {check["code"]: check["status"] for check in viewer["starEligibility"]["requirements"]}
    # The application just made is open: applying again is not possible, and the form can say so.
    assert by_code["NO_OPEN_APPLICATION"] == "UNMET" and viewer["starEligibility"]["eligible"] is False


async def test_a_refused_apply_answers_the_viewer_too_and_changes_nothing(client: GraphQLClient) -> None:
    user, token = await eligible_member("truth_refused")
    before = await database_state(user)
    payload = (await client.query(APPLY, form(weeklyMinutes=5), token=token))["applyToStarsProgram"]
    assert payload["userErrors"] == [{"code": "WEEKLY_MINUTES", "field": ["input", "weeklyMinutes"]}]
    assert payload["application"] is None and payload["viewer"]["starApplications"] == []
    assert await database_state(user) == before
    assert not await StarApplication.filter(user_id=user.pk).exists()


REVOKE = """mutation($input: RevokeTokenInput!) {
  revokeToken(input: $input) { revokedTokenId userErrors { code } viewer { tokens { id label } } }
}"""


async def test_revoking_a_token_answers_the_tokens_left(client: GraphQLClient) -> None:
    user = await make_user("truth_tokens")
    in_use = await token_for(user)
    await token_for(user)  # the other one, revoked below
    other_id = (await AccessToken.filter(user_id=user.pk).order_by("-id").first()).pk  # type: ignore[union-attr]
    payload = (await client.query(REVOKE, {"input": {"tokenId": to_global_id("AccessToken", other_id)}},
                                  token=in_use))["revokeToken"]
    assert payload["userErrors"] == [] and payload["revokedTokenId"] == to_global_id("AccessToken", other_id)
    assert to_global_id("AccessToken", other_id) not in {t["id"] for t in payload["viewer"]["tokens"]}
    assert len(payload["viewer"]["tokens"]) == 1



async def test_revoking_the_token_in_use_answers_a_signed_out_viewer(client: GraphQLClient) -> None:
    user = await make_user("truth_sign_out")
    in_use = await token_for(user)
    signed_out = """mutation { revokeToken(input: {}) {
      revokedTokenId viewer { isAuthenticated user { handle } capabilities tokens { id } } } }"""
    payload = (await client.query(signed_out, token=in_use))["revokeToken"]
    assert payload["revokedTokenId"] is not None
    assert payload["viewer"] == {"isAuthenticated": False, "user": None, "capabilities": [], "tokens": []}

@pytest.mark.uncached
async def test_a_stored_value_the_schema_cannot_answer_is_a_masked_internal_error(
        db: str, client: GraphQLClient, caplog: pytest.LogCaptureFixture) -> None:
    # A requirement row written by hand with a code no RequirementCode member names: graphql-core's
    # serialization error is a bug of ours, answered as every unexpected error is (and logged).
    from models.stars import EligibilityRequirement

    stray = await EligibilityRequirement.create(code="TWO_FACTOR", description="Hand-written", position=99)
    try:
        with caplog.at_level("ERROR", logger="gql.errors"):
            response = await client.post("{ starsProgram { eligibility { code } } }")
    finally:
        await stray.delete()
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and error["extensions"]["requestId"]
    assert "TWO_FACTOR" not in response.text
    assert any("RequirementCode" in record.getMessage() for record in caplog.records)
