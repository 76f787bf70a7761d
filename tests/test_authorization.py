"""Who may call what: every mutation and moderator query, for every kind of viewer.

The expectations are written out here, independently of the capability table in models/accounts.py,
so a change there that widens or narrows access fails this test.
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from tortoise import Tortoise

from gql.relay import to_global_id
from models.accounts import Role, TokenScope
from tests.factories import make_user, token_for
from tests.support import GraphQLClient

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

# operation -> (GraphQL text, viewers allowed)
OPERATIONS: dict[str, tuple[str, set[str]]] = {
    "revokeToken": ('mutation { revokeToken(input: {tokenId: "%s"}) { userErrors { code } } }' % to_global_id("AccessToken", MISSING),
                    set(VIEWERS) - {"anonymous"}),
    "createPost": ('mutation { createPost(input: {board: "no-such-board", title: "Hello there", body: "b"}) { userErrors { code } } }', ALL_WRITERS),
    "replyToPost": ('mutation { replyToPost(input: {postId: "%s", body: "b"}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "giveKudo": ('mutation { giveKudo(input: {postId: "%s"}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "removeKudo": ('mutation { removeKudo(input: {postId: "%s"}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "rateFaq": ('mutation { rateFaq(input: {faqId: "%s", helpful: true}) { userErrors { code } } }' % FAQ, ALL_WRITERS),
    "markIssueAffected": ('mutation { markIssueAffected(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "unmarkIssueAffected": ('mutation { unmarkIssueAffected(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "subscribeToIssue": ('mutation { subscribeToIssue(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "unsubscribeFromIssue": ('mutation { unsubscribeFromIssue(input: {issueId: "%s"}) { userErrors { code } } }' % ISSUE, ALL_WRITERS),
    "reportContent": ('mutation { reportContent(input: {contentId: "%s", reason: SPAM}) { userErrors { code } } }' % POST, ALL_WRITERS),
    "applyToStarsProgram": ('mutation { applyToStarsProgram(input: {dateOfBirth: "2090-01-01", motivation: "m", weeklyMinutes: 0}) { userErrors { code } } }', MEMBERS_AND_STARS),
    "withdrawStarApplication": ('mutation { withdrawStarApplication(input: {applicationId: "%s"}) { userErrors { code } } }' % APPLICATION, MEMBERS_AND_STARS),
    "reviewStarApplication": ('mutation { reviewStarApplication(input: {applicationId: "%s", decision: APPROVE}) { userErrors { code } } }' % APPLICATION, STAFF),
    "claimStarApplication": ('mutation { claimStarApplication(input: {applicationId: "%s"}) { userErrors { code } } }' % APPLICATION, STAFF),
    "moderatePost(MARK_SPAM)": ('mutation { moderatePost(input: {postId: "%s", action: MARK_SPAM}) { userErrors { code } } }' % POST, STAFF | {"star"}),
    "moderatePost(HIDE)": ('mutation { moderatePost(input: {postId: "%s", action: HIDE}) { userErrors { code } } }' % POST, STAFF),
    "moderatePost(DISMISS_REPORTS)": ('mutation { moderatePost(input: {postId: "%s", action: DISMISS_REPORTS}) { userErrors { code } } }' % POST, STAFF),
    "moderateReply": ('mutation { moderateReply(input: {replyId: "%s", action: HIDE}) { userErrors { code } } }' % to_global_id("Reply", MISSING), STAFF),
    "postIssueUpdate": ('mutation { postIssueUpdate(input: {issueId: "%s", status: IDENTIFIED, body: "b"}) { userErrors { code } } }' % ISSUE, STAFF),
    "createIssue": ('mutation { createIssue(input: {title: "x", description: "", platforms: []}) { userErrors { code } } }', STAFF),
    "createFaq": ('mutation { createFaq(input: {slug: "!", title: "t", body: "", category: "none"}) { userErrors { code } } }', STAFF),
    "updateFaq": ('mutation { updateFaq(input: {faqId: "%s", title: "Changed title"}) { userErrors { code } } }' % FAQ, STAFF),
    "publishFaq": ('mutation { publishFaq(input: {faqId: "%s"}) { userErrors { code } } }' % FAQ, STAFF),
    "createAnnouncement": ('mutation { createAnnouncement(input: {title: "", body: ""}) { userErrors { code } } }', STAFF),
    "setUserRole": ('mutation { setUserRole(input: {userId: "%s", role: STAR}) { userErrors { code } } }' % USER, {"admin"}),
    "suspendUser": ('mutation { suspendUser(input: {userId: "%s", reason: "r"}) { userErrors { code } } }' % USER, {"admin"}),
    "starApplications": ("{ starApplications { totalCount } }", STAFF_READERS),
    "moderationQueue": ("{ moderationQueue { totalCount } }", STAFF_READERS),
    "moderationLog": ("{ moderationLog { totalCount } }", STAFF_READERS),
    "communityStats.postsByStatus": ("{ communityStats { postsByStatus { count } } }", STAFF_READERS),
    "communityStats.starApplicationsByStatus": ("{ communityStats { starApplicationsByStatus { count } } }", STAFF_READERS),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tokens(db: str) -> dict[str, str | None]:
    tokens: dict[str, str | None] = {"anonymous": None}
    for name, role in (("member", Role.MEMBER), ("star", Role.STAR), ("moderator", Role.MODERATOR), ("admin", Role.ADMIN)):
        tokens[name] = await token_for(await make_user(f"authz_{name}", role))
    tokens["suspended"] = await token_for(await make_user("authz_suspended", suspended=True))
    tokens["read_only"] = await token_for(await make_user("authz_reader"), TokenScope.READ)
    tokens["moderator_read_only"] = await token_for(await make_user("authz_mod_reader", Role.MODERATOR), TokenScope.READ)
    tokens["suspended_moderator"] = await token_for(await make_user("authz_mod_suspended", Role.MODERATOR, suspended=True))
    return tokens


async def row_counts() -> dict[str, int]:
    return {model.__name__: await model.all().count() for model in Tortoise.apps.get_models_iterable()}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_access(client: GraphQLClient, tokens: dict[str, str | None], operation: str, viewer: str) -> None:
    query, allowed = OPERATIONS[operation]
    before = await row_counts()
    response = await client.post(query, token=tokens[viewer])
    payload = response.json()
    codes = [error.get("extensions", {}).get("code") for error in payload.get("errors", [])]
    if viewer in allowed:
        assert response.status_code == 200
        assert not {"UNAUTHENTICATED", "FORBIDDEN"} & set(codes), payload
    else:
        expected = "UNAUTHENTICATED" if viewer == "anonymous" else "FORBIDDEN"
        assert codes == [expected], payload
    # Every call here names missing objects or breaks a rule: nothing may change either way.
    assert await row_counts() == before
