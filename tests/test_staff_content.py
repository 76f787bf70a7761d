"""Staff content over HTTP: each change writes one audit entry; bad input and bad IDs change nothing."""

from __future__ import annotations

import itertools
from typing import Any, Awaitable, Callable

import pytest
import pytest_asyncio
from tortoise.models import Model

from gql.core.relay import from_global_id, global_id_of, to_global_id
from models.accounts import Role, User
from models.faqs import FaqStatus
from tests.factories import make_application, make_board, make_faq, make_issue, make_post, make_user, token_for
from tests.support import GraphQLClient, database_state

pytestmark = pytest.mark.usefixtures("leave_queues_as_found")

_serial = itertools.count(1)

# A builder returns a valid input and the rows that input would change (the ones to watch).
Build = Callable[[], Awaitable[tuple[dict[str, Any], list[Model]]]]


async def new_issue() -> tuple[dict[str, Any], list[Model]]:
    return {"title": "Lyrics do not load", "description": "Blank on Android.", "platforms": ["ANDROID"]}, []


async def issue_update() -> tuple[dict[str, Any], list[Model]]:
    issue = await make_issue()
    return {"issueId": global_id_of(issue), "status": "IDENTIFIED", "body": "We found the cause."}, [issue]


async def an_open_issue() -> tuple[dict[str, Any], list[Model]]:
    issue = await make_issue()
    return {"issueId": global_id_of(issue)}, [issue]


async def new_faq() -> tuple[dict[str, Any], list[Model]]:
    slug = f"staff-faq-{next(_serial)}"
    return {"slug": slug, "title": "How do I export a playlist?", "body": "From its menu.", "category": "account"}, []


async def faq_edit() -> tuple[dict[str, Any], list[Model]]:
    faq = await make_faq(FaqStatus.DRAFT)
    return {"faqId": global_id_of(faq), "title": "How do I share a playlist?", "body": "Open its menu."}, [faq]


async def a_draft_faq() -> tuple[dict[str, Any], list[Model]]:
    faq = await make_faq(FaqStatus.DRAFT)
    return {"faqId": global_id_of(faq)}, [faq]


async def faq_rating() -> tuple[dict[str, Any], list[Model]]:
    faq = await make_faq()
    return {"faqId": global_id_of(faq), "helpful": True}, [faq]


async def new_announcement() -> tuple[dict[str, Any], list[Model]]:
    return {"title": "Maintenance tonight", "body": "We are back by 02:00 UTC."}, []


async def someones_post(**fields: str) -> tuple[dict[str, Any], list[Model]]:
    post = await make_post(await make_user("staff_author"), await make_board("staff"))
    return {"postId": global_id_of(post), **fields}, [post]


async def a_reply() -> tuple[dict[str, Any], list[Model]]:
    return await someones_post(body="Try signing out and in again.")


async def a_report() -> tuple[dict[str, Any], list[Model]]:
    values, rows = await someones_post()
    return {"contentId": values["postId"], "reason": "SPAM", "note": "Links to a shop."}, rows


async def a_review() -> tuple[dict[str, Any], list[Model]]:
    application = await make_application(await make_user("staff_applicant"))
    return {"applicationId": global_id_of(application), "decision": "REJECT", "note": "Not this round."}, [application]


# mutation -> (its input type, the object its payload returns, a builder of a valid input)
MUTATIONS: dict[str, tuple[str, str, Build]] = {
    "createIssue": ("CreateIssueInput", "issue", new_issue),
    "postIssueUpdate": ("PostIssueUpdateInput", "issue", issue_update),
    "createFaq": ("CreateFaqInput", "faq", new_faq),
    "updateFaq": ("UpdateFaqInput", "faq", faq_edit),
    "publishFaq": ("PublishFaqInput", "faq", a_draft_faq),
    "createAnnouncement": ("CreateAnnouncementInput", "announcement", new_announcement),
    "giveKudo": ("KudoInput", "post", someones_post),
    "removeKudo": ("KudoInput", "post", someones_post),
    "markIssueAffected": ("IssueInput", "issue", an_open_issue),
    "rateFaq": ("RateFaqInput", "faq", faq_rating),
    "replyToPost": ("ReplyToPostInput", "reply", a_reply),
    "reviewStarApplication": ("ReviewStarApplicationInput", "application", a_review),
    "reportContent": ("ReportContentInput", "report", a_report),
}


def text_of(mutation: str) -> str:
    input_type, returns, _ = MUTATIONS[mutation]
    return "mutation($input: %s!) { %s(input: $input) { %s { id } userErrors { code field } } }" % (input_type, mutation, returns)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def moderator(db: str) -> tuple[User, str]:
    # Moderators hold every capability these mutations need, the members' ones included.
    user = await make_user("staff_mod", Role.MODERATOR)
    return user, await token_for(user)


async def run(client: GraphQLClient, token: str, mutation: str, input: dict[str, Any]) -> dict[str, Any]:
    return (await client.query(text_of(mutation), {"input": input}, token=token))[mutation]


def refused(mutation: str, code: str, field: str) -> dict[str, Any]:
    """The payload of a refusal: no object, one userError."""
    return {MUTATIONS[mutation][1]: None, "userErrors": [{"code": code, "field": ["input", field]}]}


# --- The audit log -----------------------------------------------------------------------------

LOG = "{ moderationLog(first: 1) { totalCount nodes { action reason targetKind targetId actor { handle } } } }"

# mutation -> the entry it writes: target kind, action, and the input field its reason repeats
AUDITED: dict[str, tuple[str, str, str | None]] = {
    "createIssue": ("ISSUE", "CREATE", "title"),
    "postIssueUpdate": ("ISSUE", "UPDATE_IDENTIFIED", "body"),
    "createFaq": ("FAQ", "CREATE", "title"),
    "updateFaq": ("FAQ", "UPDATE", "title"),
    "publishFaq": ("FAQ", "PUBLISH", None),
    "createAnnouncement": ("ANNOUNCEMENT", "CREATE", "title"),
}


@pytest.mark.parametrize("mutation", list(AUDITED))
async def test_each_change_writes_one_audit_entry(module_client: GraphQLClient, moderator: tuple[User, str], mutation: str) -> None:
    user, token = moderator
    kind, action, reason_field = AUDITED[mutation]
    values, _ = await MUTATIONS[mutation][2]()
    before = (await module_client.query(LOG, token=token))["moderationLog"]["totalCount"]
    payload = await run(module_client, token, mutation, values)
    assert payload["userErrors"] == []
    log = (await module_client.query(LOG, token=token))["moderationLog"]
    assert log["totalCount"] == before + 1
    assert log["nodes"] == [{"action": action, "reason": values[reason_field] if reason_field else "", "targetKind": kind,
                             "targetId": payload[MUTATIONS[mutation][1]]["id"], "actor": {"handle": user.handle}}]


# --- Bad text ----------------------------------------------------------------------------------


def empty_and_too_long(mutation: str, field: str, maximum: int, empty: str = "BLANK") -> list[tuple[str, str, int, str]]:
    """(mutation, field, length of the text, code): an empty text, and one a character too long."""
    return [(mutation, field, 0, empty), (mutation, field, maximum + 1, "TOO_LONG")]


BAD_TEXT = [
    # Titles have a minimum length above one, so an empty one is TOO_SHORT rather than BLANK.
    *empty_and_too_long("createIssue", "title", 200, "TOO_SHORT"),
    *empty_and_too_long("createIssue", "description", 10_000),
    *empty_and_too_long("createFaq", "title", 200, "TOO_SHORT"),
    *empty_and_too_long("createFaq", "body", 20_000),
    *empty_and_too_long("updateFaq", "title", 200, "TOO_SHORT"),
    *empty_and_too_long("updateFaq", "body", 20_000),
    *empty_and_too_long("createAnnouncement", "title", 200, "TOO_SHORT"),
    *empty_and_too_long("createAnnouncement", "body", 10_000),
    *empty_and_too_long("postIssueUpdate", "body", 5_000),
    ("replyToPost", "body", 10_001, "TOO_LONG"),
    ("reviewStarApplication", "note", 2_001, "TOO_LONG"),
    ("reportContent", "note", 1_001, "TOO_LONG"),
]


@pytest.mark.parametrize(("mutation", "field", "length", "code"), BAD_TEXT)
async def test_bad_text_is_refused_and_changes_nothing(
    module_client: GraphQLClient, moderator: tuple[User, str], mutation: str, field: str, length: int, code: str
) -> None:
    _, token = moderator
    values, rows = await MUTATIONS[mutation][2]()
    before = await database_state(*rows)
    # The input's other fields are valid: a partial write of them would show in the watched rows.
    payload = await run(module_client, token, mutation, {**values, field: "x" * length})
    assert payload == refused(mutation, code, field)
    assert await database_state(*rows) == before


# --- Bad IDs -----------------------------------------------------------------------------------

# mutation -> the input field naming the object it changes
ID_FIELDS = {"updateFaq": "faqId", "publishFaq": "faqId", "postIssueUpdate": "issueId", "giveKudo": "postId",
             "removeKudo": "postId", "markIssueAffected": "issueId", "rateFaq": "faqId"}


@pytest.mark.parametrize("mutation", list(ID_FIELDS))
async def test_unknown_ids_are_not_found_and_malformed_ids_bad_input(
    module_client: GraphQLClient, moderator: tuple[User, str], mutation: str
) -> None:
    _, token = moderator
    field = ID_FIELDS[mutation]
    values, rows = await MUTATIONS[mutation][2]()
    typename = from_global_id(values[field])[0]
    before = await database_state(*rows)
    unknown = await run(module_client, token, mutation, {**values, field: to_global_id(typename, 999_999)})
    assert unknown == refused(mutation, "NOT_FOUND", field)
    # An ID that does not decode to one of ours is malformed; one of another type names nothing here.
    for bad_id, code in (("not-an-id", "BAD_USER_INPUT"), (to_global_id("Nothing", 1), "BAD_USER_INPUT"),
                         (to_global_id(typename, 0), "BAD_USER_INPUT"), (to_global_id("User", 1), "NOT_FOUND")):
        errors = await module_client.errors(text_of(mutation), {"input": {**values, field: bad_id}}, token=token)
        assert [error["extensions"]["code"] for error in errors] == [code], bad_id
    assert await database_state(*rows) == before
