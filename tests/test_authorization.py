"""Who may call what: every mutation and moderator query, for every kind of viewer.

The expectations are written out here, independently of the capability table in models/accounts.py,
so a change there that widens or narrows access fails this test.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Awaitable, Callable, NamedTuple

import pytest
import pytest_asyncio
from tortoise.models import Model

from gql.core.relay import from_global_id, global_id_of, to_global_id
from models import faqs, issues, moderation, posts
from models.accounts import AccessToken, Role, TokenScope, User, hash_token
from models.faqs import FaqRating, FaqStatus
from models.audit import TargetKind
from models.moderation import ReportReason
from models.posts import Board, Post, PostStatus
from tests.factories import make_application, make_board, make_faq, make_issue, make_post, make_user, token_for
from tests.support import GraphQLClient, database_state

pytestmark = pytest.mark.usefixtures("leave_queues_as_found")

MISSING = 999_999
POST, FAQ, ISSUE = (to_global_id(t, MISSING) for t in ("Post", "Faq", "Issue"))
APPLICATION, USER = to_global_id("StarApplication", MISSING), to_global_id("User", MISSING)

VIEWERS = ["anonymous", "member", "star", "moderator", "admin", "suspended", "read_only",
           "moderator_read_only", "suspended_moderator"]
ALL_WRITERS = {"member", "star", "moderator", "admin"}
MEMBERS_AND_STARS = {"member", "star"}
STAFF = {"moderator", "admin"}
# Reading is not writing: a moderator's read-only token (a dashboard's) reads the staff lists;
# a suspended moderator keeps no privileged reads.
STAFF_READERS = STAFF | {"moderator_read_only"}

POST_ACTIONS = ("MARK_SPAM", "APPROVE", "REJECT", "HIDE", "RESTORE", "LOCK", "UNLOCK", "PIN", "UNPIN", "DISMISS_REPORTS")
MODERATE_POST = 'mutation { moderatePost(input: {postId: "%s", action: %%s}) { userErrors { code } } }' % POST

# operation -> (GraphQL text, viewers allowed)
OPERATIONS: dict[str, tuple[str, set[str]]] = {
    # register and login act for no one, so anyone may call them, whatever token comes along
    # (test_register_and_login_ignore_the_token_sent_with_them). These inputs break a rule.
    "register": ('mutation { register(input: {handle: "x", password: "short"}) { userErrors { code } } }', set(VIEWERS)),
    "login": ('mutation { login(input: {handle: "authz_nobody", password: "wrong password"}) { userErrors { code } } }', set(VIEWERS)),
    "revokeToken": ('mutation { revokeToken(input: {tokenId: "%s"}) { userErrors { code } } }' % to_global_id("AccessToken", MISSING),
                    set(VIEWERS) - {"anonymous"}),
    "createPost": ('mutation { createPost(input: {board: "no-such-board", title: "Hello there", body: "b"}) { userErrors { code } } }', ALL_WRITERS),
    "replyToPost": ('mutation { replyToPost(input: {postId: "%s", body: "b"}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "giveKudo": ('mutation { giveKudo(input: {postId: "%s"}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "removeKudo": ('mutation { removeKudo(input: {postId: "%s"}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "rateFaq": ('mutation { rateFaq(input: {faqId: "%s", helpful: true}) { userErrors { code } } }' % FAQ, ALL_WRITERS),
    # A view is reading, not writing: anyone counts as a visitor, signed in or not, suspended or read-only.
    "recordFaqView": ('mutation { recordFaqView(input: {slug: "authz-no-such-faq"}) { userErrors { code } } }', set(VIEWERS)),
    "markIssueAffected": ('mutation { markIssueAffected(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "unmarkIssueAffected": ('mutation { unmarkIssueAffected(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "subscribeToIssue": ('mutation { subscribeToIssue(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "unsubscribeFromIssue": ('mutation { unsubscribeFromIssue(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "reportContent": ('mutation { reportContent(input: {contentId: "%s", reason: SPAM}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "applyToStarsProgram": ('mutation { applyToStarsProgram(input: {dateOfBirth: "2090-01-01", motivation: "m", weeklyMinutes: 0}) { userErrors { code } } }', MEMBERS_AND_STARS),
    "withdrawStarApplication": ('mutation { withdrawStarApplication(input: {applicationId: "%s"}) { userErrors { code } } }' % APPLICATION, MEMBERS_AND_STARS),
    "reviewStarApplication": ('mutation { reviewStarApplication(input: {applicationId: "%s", decision: APPROVE}) { userErrors { code } } }' % APPLICATION, STAFF),
    "claimStarApplication": ('mutation { claimStarApplication(input: {applicationId: "%s"}) { userErrors { code } } }' % APPLICATION, STAFF),
    # Stars only mark spam (community maintenance); every other action is for moderators.
    **{f"moderatePost({action})": (MODERATE_POST % action, STAFF | {"star"} if action == "MARK_SPAM" else STAFF)
       for action in POST_ACTIONS},
    "moderateReply": ('mutation { moderateReply(input: {replyId: "%s", action: HIDE}) { userErrors { code } } }' % to_global_id("Reply", MISSING), STAFF),
    "postIssueUpdate": ('mutation { postIssueUpdate(input: {issueId: "%s", status: IDENTIFIED, body: "b"}) { userErrors { code } } }' % ISSUE, STAFF),
    "createIssue": ('mutation { createIssue(input: {title: "x", description: "", platforms: []}) { userErrors { code } } }', STAFF),
    "createFaq": ('mutation { createFaq(input: {slug: "!", title: "t", body: "", category: "none"}) { userErrors { code } } }', STAFF),
    "updateFaq": ('mutation { updateFaq(input: {faqId: "%s", title: "Changed title"}) { userErrors { code } } }' % FAQ, STAFF),
    "publishFaq": ('mutation { publishFaq(input: {faqId: "%s"}) { userErrors { code } } }' % FAQ, STAFF),
    "createAnnouncement": ('mutation { createAnnouncement(input: {title: "", body: ""}) { userErrors { code } } }', STAFF),
    "setPostFeaturedStar": ('mutation { setPostFeaturedStar(input: {postId: "%s", starId: null}) { userErrors { code } } }' % POST, STAFF),
    "setUserRole": ('mutation { setUserRole(input: {userId: "%s", role: STAR}) { userErrors { code } } }' % USER, {"admin"}),
    "suspendUser": ('mutation { suspendUser(input: {userId: "%s", reason: "r"}) { userErrors { code } } }' % USER, {"admin"}),
    "starApplications": ("{ starApplications { totalCount } }", STAFF_READERS),
    "moderationQueue": ("{ moderationQueue { totalCount } }", STAFF_READERS),
    "moderationLog": ("{ moderationLog { totalCount } }", STAFF_READERS),
    "communityStats.postsByStatus": ("{ communityStats { postsByStatus { count } } }", STAFF_READERS),
    "communityStats.starApplicationsByStatus": ("{ communityStats { starApplicationsByStatus { count } } }", STAFF_READERS),
}


class Viewer(NamedTuple):
    user: User | None
    token: str | None


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def viewers(db: str) -> dict[str, Viewer]:
    async def viewer(prefix: str, role: Role = Role.MEMBER, scope: TokenScope = TokenScope.FULL, suspended: bool = False) -> Viewer:
        user = await make_user(prefix, role, suspended=suspended)
        return Viewer(user, await token_for(user, scope))

    return {
        "anonymous": Viewer(None, None),
        "member": await viewer("authz_member"),
        "star": await viewer("authz_star", Role.STAR),
        "moderator": await viewer("authz_moderator", Role.MODERATOR),
        "admin": await viewer("authz_admin", Role.ADMIN),
        "suspended": await viewer("authz_suspended", suspended=True),
        "read_only": await viewer("authz_reader", scope=TokenScope.READ),
        "moderator_read_only": await viewer("authz_mod_reader", Role.MODERATOR, TokenScope.READ),
        "suspended_moderator": await viewer("authz_mod_suspended", Role.MODERATOR, suspended=True),
    }


def error_codes(payload: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in payload.get("errors", [])]


def refusal(viewer: str) -> list[str]:
    return ["UNAUTHENTICATED" if viewer == "anonymous" else "FORBIDDEN"]


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_access(module_client: GraphQLClient, viewers: dict[str, Viewer], operation: str, viewer: str) -> None:
    query, allowed = OPERATIONS[operation]
    before = await database_state()
    response = await module_client.post(query, token=viewers[viewer].token)
    payload = response.json()
    if viewer in allowed:
        assert response.status_code == 200
        assert not {"UNAUTHENTICATED", "FORBIDDEN"} & set(error_codes(payload)), payload
    else:
        assert error_codes(payload) == refusal(viewer), payload
    # Every call here names missing objects or breaks a rule: nothing may change either way.
    assert await database_state() == before


# --- Refused calls on real targets -----------------------------------------------------------------
# The calls above name missing objects, so a refusal that let one through would still change
# nothing. Here each mutation that changes existing rows gets a real target, in the state where
# the call would succeed. A builder takes the caller's user, for the targets a call changes only
# when they are the caller's own (a member's when anonymous calls); it returns the row the call's
# ID names first, then the other rows the call would change.

Build = Callable[[User], Awaitable[list[Model]]]


async def a_post(**fields: Any) -> Post:
    return await make_post(await make_user("authz_author"), await make_board("authz"), **fields)


async def post_in(_: User, **fields: Any) -> list[Model]:
    return [await a_post(**fields)]


async def reported_post(_: User) -> list[Model]:
    post = await a_post()
    reporter = await make_user("authz_reporter")
    return [post, await moderation.report_content(reporter, TargetKind.POST, post.pk, ReportReason.SPAM, "")]


async def reported_reply(_: User) -> list[Model]:
    post = await a_post()
    reply = await posts.reply_to(await make_user("authz_replier"), post.pk, "Buy followers here")
    reporter = await make_user("authz_reporter")
    return [reply, post, await moderation.report_content(reporter, TargetKind.REPLY, reply.pk, ReportReason.SPAM, "")]


async def application_of(applicant: User) -> list[Model]:
    return [await make_application(applicant), applicant]


async def someones_application(_: User) -> list[Model]:
    return await application_of(await make_user("authz_applicant"))


async def a_featured_blog_post(_: User) -> list[Model]:
    # Featuring a Star: the call's `starId: null` would unlink it.
    star = await make_user("authz_featured", Role.STAR)
    return [await make_post(await make_user("authz_blogger"), await Board.get(slug="stars-blog"), featured_star_id=star.pk)]


async def a_member(_: User) -> list[Model]:
    return [await make_user("authz_target")]


async def a_draft_faq(_: User) -> list[Model]:
    return [await make_faq(FaqStatus.DRAFT)]


async def an_issue(_: User) -> list[Model]:
    return [await make_issue()]


async def own_kudo(owner: User) -> list[Model]:
    post = await a_post()
    await posts.give_kudo(owner, post.pk)
    return [post]


async def own_rating(owner: User) -> list[Model]:
    # Rated "not helpful": the call's `helpful: true` would change the rating and both counters.
    faq = await make_faq()
    await faqs.rate(owner, faq.pk, False)
    return [faq, await FaqRating.get(faq_id=faq.pk, user_id=owner.pk)]


async def issue_marked(mark: Callable[[User, int], Awaitable[object]], owner: User) -> list[Model]:
    """An issue the owner marked as affecting them or subscribed to (`mark`), through the rule that keeps its counter."""
    issue = await make_issue()
    await mark(owner, issue.pk)
    return [issue]


async def own_token(owner: User) -> list[Model]:
    return [await AccessToken.get(token_hash=hash_token(await token_for(owner)))]


# The state each moderatePost action applies to; the others apply to a plain published post.
POST_STARTS: dict[str, dict[str, Any]] = {
    "APPROVE": {"status": PostStatus.PENDING}, "REJECT": {"status": PostStatus.PENDING},
    "RESTORE": {"status": PostStatus.HIDDEN}, "UNLOCK": {"locked": True}, "UNPIN": {"pinned": True},
}
TARGETS: dict[str, Build] = {
    **{f"moderatePost({action})": partial(post_in, **POST_STARTS.get(action, {})) for action in POST_ACTIONS},
    "moderatePost(DISMISS_REPORTS)": reported_post,
    "moderateReply": reported_reply,
    "reviewStarApplication": someones_application,
    "claimStarApplication": someones_application,
    "withdrawStarApplication": application_of,
    "setUserRole": a_member,
    "suspendUser": a_member,
    "updateFaq": a_draft_faq,
    "publishFaq": a_draft_faq,
    "postIssueUpdate": an_issue,
    "giveKudo": post_in,
    "removeKudo": own_kudo,
    "rateFaq": own_rating,
    "markIssueAffected": an_issue,
    "unmarkIssueAffected": partial(issue_marked, issues.mark_affected),
    "subscribeToIssue": an_issue,
    "unsubscribeFromIssue": partial(issue_marked, issues.subscribe),
    "revokeToken": own_token,
    "setPostFeaturedStar": a_featured_blog_post,
}


async def call_on_real_target(client: GraphQLClient, viewers: dict[str, Viewer], operation: str, viewer: str) -> tuple[dict, tuple, tuple]:
    """Build the operation's target, call the operation on it as `viewer`: the response, and the
    database's state before and after the call."""
    query = OPERATIONS[operation][0]
    rows = await TARGETS[operation](viewers[viewer].user or viewers["member"].user)  # type: ignore[arg-type]
    real_id = global_id_of(rows[0])
    missing_id = to_global_id(from_global_id(real_id)[0], MISSING)
    assert missing_id in query, f"{operation} names no {missing_id} to replace"
    before = await database_state(*rows)
    payload = (await client.post(query.replace(missing_id, real_id), token=viewers[viewer].token)).json()
    return payload, before, await database_state(*rows)


@pytest.mark.parametrize(("operation", "viewer"), [
    (operation, viewer) for operation in TARGETS for viewer in VIEWERS if viewer not in OPERATIONS[operation][1]])
async def test_refused_calls_leave_real_targets_unchanged(
    module_client: GraphQLClient, viewers: dict[str, Viewer], operation: str, viewer: str
) -> None:
    payload, before, after = await call_on_real_target(module_client, viewers, operation, viewer)
    assert error_codes(payload) == refusal(viewer), payload
    assert after == before


@pytest.mark.parametrize("operation", list(TARGETS))
async def test_an_allowed_call_changes_the_same_target(module_client: GraphQLClient, viewers: dict[str, Viewer], operation: str) -> None:
    # The test above proves something only if the call, let through, would change its target.
    allowed = next(viewer for viewer in VIEWERS if viewer in OPERATIONS[operation][1])
    payload, before, after = await call_on_real_target(module_client, viewers, operation, allowed)
    assert "errors" not in payload and [result["userErrors"] for result in payload["data"].values()] == [[]], payload
    assert after != before


# --- register and login --------------------------------------------------------------------------

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { token user { handle role } userErrors { code } } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { token user { handle role } userErrors { code } } }"
VIEWER = "{ viewer { user { handle } capabilities } }"
PASSWORD = "a long enough password"


@pytest.mark.parametrize("viewer", ["admin", "suspended"])
async def test_register_and_login_ignore_the_token_sent_with_them(module_client: GraphQLClient, viewers: dict[str, Viewer], viewer: str) -> None:
    # Both act for the account named in the input, never for the caller: an admin's token does not
    # make the new account staff, and a suspended account's does not stop one being made (refusing
    # it would not either: the same request without the header would succeed).
    handle, token = f"authz_new_{viewer}", viewers[viewer].token
    credentials = {"handle": handle, "password": PASSWORD}
    registered = (await module_client.query(REGISTER, {"input": credentials}, token=token))["register"]
    logged_in = (await module_client.query(LOGIN, {"input": credentials}, token=token))["login"]
    for payload in (registered, logged_in):
        assert payload["userErrors"] == [] and payload["user"] == {"handle": handle, "role": "MEMBER"}
        signed_in = (await module_client.query(VIEWER, token=payload["token"]))["viewer"]
        assert signed_in["user"] == {"handle": handle} and "POST" in signed_in["capabilities"]


async def test_a_suspended_account_signs_in_to_read_only(module_client: GraphQLClient, viewers: dict[str, Viewer]) -> None:
    # Suspension takes writing away, not reading (suspendUser's contract), so its owner still signs
    # in; the token writes nothing.
    credentials = {"handle": "authz_to_suspend", "password": PASSWORD}
    await module_client.query(REGISTER, {"input": credentials})
    suspend = 'mutation($id: ID!) { suspendUser(input: {userId: $id, reason: "spam"}) { userErrors { code } } }'
    suspended = await User.get(handle=credentials["handle"])
    assert (await module_client.query(suspend, {"id": global_id_of(suspended)}, token=viewers["admin"].token))["suspendUser"] == {"userErrors": []}
    token = (await module_client.query(LOGIN, {"input": credentials}))["login"]["token"]
    assert (await module_client.query(VIEWER, token=token))["viewer"] == {"user": {"handle": "authz_to_suspend"}, "capabilities": []}
    write = await module_client.post(OPERATIONS["createPost"][0], token=token)
    assert error_codes(write.json()) == ["FORBIDDEN"]
