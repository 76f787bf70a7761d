"""Moderation, staff content and admin actions over HTTP, each leaving an audit record."""

from __future__ import annotations

import pytest

from gql.relay import to_global_id
from models.accounts import Role, User
from models.faqs import FaqCategory
from models.issues import Issue, IssueUpdate
from models.moderation import ModerationAction, Report, ReportStatus
from models.posts import Post, PostStatus
from tests.factories import make_board, make_post, make_user, token_for
from tests.support import GraphQLClient

MODERATE = """mutation($input: ModeratePostInput!) {
  moderatePost(input: $input) { post { id status locked pinned } userErrors { code message } }
}"""
QUEUE = "query($kind: [QueueKind!]) { moderationQueue(kind: $kind, first: 100) { nodes { post { id } kinds reports { reason note } } } }"
LOG = "{ moderationLog(first: 100) { nodes { action reason targetId targetKind actor { handle } createdAt } } }"


def gid(row: object) -> str:
    return to_global_id(type(row).__name__, row.pk)  # type: ignore[attr-defined]


async def staff(role: Role = Role.MODERATOR) -> tuple[User, str]:
    user = await make_user(f"mod_{role.value.lower()}", role)
    return user, await token_for(user)


async def a_post(status: PostStatus = PostStatus.PUBLISHED) -> Post:
    return await make_post(await make_user("mod_author"), await make_board("mod"), status=status)


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (PostStatus.PENDING, "APPROVE", "PUBLISHED"),
        (PostStatus.PENDING, "REJECT", "REJECTED"),
        (PostStatus.PUBLISHED, "HIDE", "HIDDEN"),
        (PostStatus.HIDDEN, "RESTORE", "PUBLISHED"),
        (PostStatus.PUBLISHED, "MARK_SPAM", "SPAM"),
        (PostStatus.SPAM, "RESTORE", "PUBLISHED"),
    ],
)
async def test_status_actions_move_posts_and_are_audited(client: GraphQLClient, start: PostStatus, action: str, end: str) -> None:
    moderator, token = await staff()
    post = await a_post(start)
    payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": action, "reason": "policy 4.2"}}, token=token))["moderatePost"]
    assert payload["userErrors"] == [] and payload["post"]["status"] == end
    entry = await ModerationAction.get(target_kind="POST", target_id=post.pk, action=action)
    assert (entry.actor_id, entry.reason) == (moderator.pk, "policy 4.2")
    if end == "PUBLISHED":
        assert (await Post.get(id=post.pk)).published_at is not None


@pytest.mark.parametrize(("start", "action"), [(PostStatus.PUBLISHED, "APPROVE"), (PostStatus.PUBLISHED, "RESTORE"),
                                               (PostStatus.REJECTED, "HIDE"), (PostStatus.SPAM, "MARK_SPAM")])
async def test_actions_that_do_not_apply_are_refused_and_not_audited(client: GraphQLClient, start: PostStatus, action: str) -> None:
    _, token = await staff()
    post = await a_post(start)
    payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": action}}, token=token))["moderatePost"]
    assert payload["userErrors"][0]["code"] == "INVALID_STATE"
    assert (await Post.get(id=post.pk)).status is start
    assert not await ModerationAction.filter(target_kind="POST", target_id=post.pk).exists()


async def test_lock_pin_and_their_inverses(client: GraphQLClient) -> None:
    _, token = await staff()
    post = await a_post()
    for action, field, value in (("LOCK", "locked", True), ("PIN", "pinned", True), ("UNLOCK", "locked", False), ("UNPIN", "pinned", False)):
        payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": action}}, token=token))["moderatePost"]
        assert payload["post"][field] is value
    again = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": "UNLOCK"}}, token=token))["moderatePost"]
    assert again["userErrors"][0]["code"] == "INVALID_STATE"


async def test_star_marks_spam_into_the_queue_and_a_moderator_resolves_it(client: GraphQLClient) -> None:
    _, star = await staff(Role.STAR)
    _, moderator = await staff()
    post = await a_post()
    marked = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": "MARK_SPAM", "reason": "crypto links"}}, token=star))["moderatePost"]
    assert marked["post"]["status"] == "SPAM"
    hidden = await client.query("query($slug: String!) { post(slug: $slug) { id } }", {"slug": post.slug})
    assert hidden["post"] is None  # anonymous readers no longer see it

    queue = (await client.query(QUEUE, {"kind": ["SPAM"]}, token=moderator))["moderationQueue"]["nodes"]
    item = next(node for node in queue if node["post"]["id"] == gid(post))
    assert set(item["kinds"]) == {"SPAM", "REPORTED"}
    assert item["reports"] == [{"reason": "SPAM", "note": "crypto links"}]

    restored = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": "RESTORE", "reason": "false alarm"}}, token=moderator))["moderatePost"]
    assert restored["post"]["status"] == "PUBLISHED"
    assert await Report.filter(target_id=post.pk, status=ReportStatus.OPEN).count() == 0
    queue = (await client.query(QUEUE, token=moderator))["moderationQueue"]["nodes"]
    assert gid(post) not in [node["post"]["id"] for node in queue]


async def test_stars_cannot_hide(client: GraphQLClient) -> None:
    _, star = await staff(Role.STAR)
    post = await a_post()
    errors = await client.errors(MODERATE, {"input": {"postId": gid(post), "action": "HIDE"}}, token=star)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_pending_posts_and_reported_replies_are_queued(client: GraphQLClient) -> None:
    _, moderator = await staff()
    pending = await a_post(PostStatus.PENDING)
    queue = (await client.query(QUEUE, {"kind": ["PENDING"]}, token=moderator))["moderationQueue"]["nodes"]
    assert {"post": {"id": gid(pending)}, "kinds": ["PENDING"], "reports": []} in queue


async def test_moderation_log_lists_actions_newest_first(client: GraphQLClient) -> None:
    moderator, token = await staff()
    post = await a_post()
    await client.query(MODERATE, {"input": {"postId": gid(post), "action": "LOCK", "reason": "heated"}}, token=token)
    await client.query(MODERATE, {"input": {"postId": gid(post), "action": "HIDE", "reason": "off topic"}}, token=token)
    log = (await client.query(LOG, token=token))["moderationLog"]["nodes"]
    mine = [entry for entry in log if entry["targetId"] == gid(post)]
    assert [(e["action"], e["reason"], e["actor"]["handle"], e["targetKind"]) for e in mine] == [
        ("HIDE", "off topic", moderator.handle, "POST"), ("LOCK", "heated", moderator.handle, "POST")]


async def test_admin_sets_roles_and_suspends_and_suspended_users_only_read(client: GraphQLClient) -> None:
    admin, admin_token = await staff(Role.ADMIN)
    member = await make_user("mod_target")
    member_token = await token_for(member)
    role = await client.query('mutation($id: ID!) { setUserRole(input: {userId: $id, role: STAR, reason: "great helper"}) { user { role } userErrors { code } } }',
                              {"id": gid(member)}, token=admin_token)
    assert role["setUserRole"]["user"]["role"] == "STAR"
    same = await client.query('mutation($id: ID!) { setUserRole(input: {userId: $id, role: STAR}) { userErrors { code } } }', {"id": gid(member)}, token=admin_token)
    assert same["setUserRole"]["userErrors"][0]["code"] == "UNCHANGED"
    self_change = await client.query('mutation($id: ID!) { setUserRole(input: {userId: $id, role: MEMBER}) { userErrors { code } } }', {"id": gid(admin)}, token=admin_token)
    assert self_change["setUserRole"]["userErrors"][0]["code"] == "SELF"

    no_reason = await client.query('mutation($id: ID!) { suspendUser(input: {userId: $id}) { userErrors { code } } }', {"id": gid(member)}, token=admin_token)
    assert no_reason["suspendUser"]["userErrors"][0]["code"] == "BLANK"
    suspended = await client.query('mutation($id: ID!) { suspendUser(input: {userId: $id, reason: "spam wave"}) { user { handle } userErrors { code } } }',
                                   {"id": gid(member)}, token=admin_token)
    assert suspended["suspendUser"]["userErrors"] == []
    viewer = await client.query("{ viewer { isAuthenticated capabilities } }", token=member_token)
    assert viewer["viewer"] == {"isAuthenticated": True, "capabilities": []}
    errors = await client.errors('mutation { createPost(input: {board: "x", title: "Still here", body: "b"}) { userErrors { code } } }', token=member_token)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    actions = await ModerationAction.filter(target_id=member.pk, target_kind="USER").values_list("action", flat=True)
    assert sorted(actions) == ["SET_ROLE_STAR", "SUSPEND"]


async def test_issue_lifecycle_by_staff(client: GraphQLClient) -> None:
    _, token = await staff()
    created = (await client.query('mutation { createIssue(input: {title: "Lyrics not loading", description: "Lyrics stay blank on Android.", platforms: [ANDROID, ANDROID, IOS]}) { issue { id number status platforms } userErrors { code } } }', token=token))["createIssue"]
    issue = created["issue"]
    assert issue["status"] == "INVESTIGATING" and sorted(issue["platforms"]) == ["ANDROID", "IOS"]
    update = 'mutation($input: PostIssueUpdateInput!) { postIssueUpdate(input: $input) { issue { status } update { id } userErrors { code field } } }'
    moved = (await client.query(update, {"input": {"issueId": issue["id"], "status": "IDENTIFIED", "body": "Found it."}}, token=token))["postIssueUpdate"]
    assert moved["issue"]["status"] == "IDENTIFIED" and moved["update"]["id"]
    back = (await client.query(update, {"input": {"issueId": issue["id"], "status": "INVESTIGATING", "body": "Hmm."}}, token=token))["postIssueUpdate"]
    assert back["userErrors"][0]["code"] == "INVALID_TRANSITION"
    blank = (await client.query(update, {"input": {"issueId": issue["id"], "status": "MONITORING", "body": ""}}, token=token))["postIssueUpdate"]
    assert blank["userErrors"][0]["code"] == "BLANK"
    stored = await Issue.get(number=issue["number"])
    assert stored.status.value == "IDENTIFIED"
    assert await IssueUpdate.filter(issue_id=stored.pk).count() == 2  # the opening entry and "Found it."


async def test_faq_drafting_and_publishing(client: GraphQLClient) -> None:
    _, token = await staff()
    await FaqCategory.get_or_create(slug="mod-cat", defaults={"name": "Moderation"})
    create = 'mutation($input: CreateFaqInput!) { createFaq(input: $input) { faq { id slug title labels } userErrors { code field } } }'
    made = (await client.query(create, {"input": {"slug": "mod-how-to", "title": "How to moderate", "body": "Carefully.",
                                                   "category": "mod-cat", "labels": ["staff", "Staff"]}}, token=token))["createFaq"]
    assert made["faq"]["labels"] == ["staff"]
    taken = (await client.query(create, {"input": {"slug": "mod-how-to", "title": "Another one", "body": "b", "category": "mod-cat"}}, token=token))["createFaq"]
    assert taken["userErrors"][0]["code"] == "TAKEN"
    assert (await client.query('{ faq(slug: "mod-how-to") { id } }'))["faq"] is None  # drafts stay hidden
    updated = await client.query('mutation($id: ID!) { updateFaq(input: {faqId: $id, title: "How to moderate well"}) { faq { title } } }', {"id": made["faq"]["id"]}, token=token)
    assert updated["updateFaq"]["faq"]["title"] == "How to moderate well"
    published = await client.query('mutation($id: ID!) { publishFaq(input: {faqId: $id}) { faq { slug } userErrors { code } } }', {"id": made["faq"]["id"]}, token=token)
    assert published["publishFaq"]["userErrors"] == []
    assert (await client.query('{ faq(slug: "mod-how-to") { title } }'))["faq"] == {"title": "How to moderate well"}
    again = await client.query('mutation($id: ID!) { publishFaq(input: {faqId: $id}) { userErrors { code } } }', {"id": made["faq"]["id"]}, token=token)
    assert again["publishFaq"]["userErrors"][0]["code"] == "INVALID_STATE"


async def test_announcements_by_staff(client: GraphQLClient) -> None:
    _, token = await staff()
    create = 'mutation($input: CreateAnnouncementInput!) { createAnnouncement(input: $input) { announcement { title pinned } userErrors { code field } } }'
    made = (await client.query(create, {"input": {"title": "Maintenance tonight", "body": "We will be back soon.", "pinned": True}}, token=token))["createAnnouncement"]
    assert made["announcement"] == {"title": "Maintenance tonight", "pinned": True}
    bad = (await client.query(create, {"input": {"title": "Oops", "body": "b", "publishedAt": "2030-01-02T00:00:00Z", "expiresAt": "2030-01-01T00:00:00Z"}}, token=token))["createAnnouncement"]
    assert bad["userErrors"][0]["code"] == "INVALID"
