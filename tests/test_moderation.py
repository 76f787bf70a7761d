"""Moderation, staff content and admin actions over HTTP, each leaving an audit record."""

from __future__ import annotations

import asyncio

import pytest

from gql.core.relay import from_global_id, to_global_id
from models.accounts import Role, TokenScope, User
from models.faqs import FaqCategory
from models.issues import Issue, IssueUpdate
from models.audit import ModerationAction
from models.moderation import Report, ReportStatus
from models.posts import Post, PostStatus, Reply
from tests.factories import gid, make_board, make_post, make_user, token_for
from tests.support import GraphQLClient

MODERATE = """mutation($input: ModeratePostInput!) {
  moderatePost(input: $input) { post { id status locked pinned } userErrors { code message } }
}"""
QUEUE = "query($kind: [QueueKind!]) { moderationQueue(kind: $kind, first: 100) { nodes { post { id } kinds reports { reason note } } } }"
LOG = "{ moderationLog(first: 100) { nodes { action reason targetId targetKind actor { handle } createdAt } } }"
MODERATE_REPLY = """mutation($input: ModerateReplyInput!) {
  moderateReply(input: $input) { reply { id status } userErrors { code field } clientMutationId }
}"""
REPORT = "mutation($id: ID!) { reportContent(input: {contentId: $id, reason: ABUSE}) { report { content { __typename } } userErrors { code } } }"
REPLY = 'mutation($id: ID!) { replyToPost(input: {postId: $id, body: "Buy followers here"}) { reply { id } } }'
THREAD = "query($slug: String!) { post(slug: $slug) { replyCount replies { nodes { id } } } }"


async def staff(role: Role = Role.MODERATOR) -> tuple[User, str]:
    user = await make_user(f"mod_{role.value.lower()}", role)
    return user, await token_for(user)


async def a_post(status: PostStatus = PostStatus.PUBLISHED) -> Post:
    return await make_post(await make_user("mod_author"), await make_board("mod"), status=status)


async def report(client: GraphQLClient, content_id: str) -> None:
    """A member reports a post or reply over HTTP, as the site does."""
    token = await token_for(await make_user("mod_reporter"))
    payload = (await client.query(REPORT, {"id": content_id}, token=token))["reportContent"]
    # What was reported, as it is now, is for moderators: it may since have been hidden.
    assert payload == {"report": {"content": None}, "userErrors": []}


async def a_reply(client: GraphQLClient, post: Post) -> str:
    token = await token_for(await make_user("mod_replier"))
    return (await client.query(REPLY, {"id": gid(post)}, token=token))["replyToPost"]["reply"]["id"]


async def queued(client: GraphQLClient, token: str, kind: list[str] | None = None) -> list[str]:
    nodes = (await client.query(QUEUE, {"kind": kind}, token=token))["moderationQueue"]["nodes"]
    return [node["post"]["id"] for node in nodes]


async def audited(target: object, action: str) -> list[tuple[int | None, str]]:
    """(actor, reason) of each audit entry for this action on this post, reply or user."""
    kind = type(target).__name__.upper()
    rows = await ModerationAction.filter(target_kind=kind, target_id=target.pk, action=action)  # type: ignore[attr-defined]
    return [(row.actor_id, row.reason) for row in rows]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (PostStatus.PENDING, "APPROVE", "PUBLISHED"),
        (PostStatus.PENDING, "REJECT", "REJECTED"),
        (PostStatus.PUBLISHED, "HIDE", "HIDDEN"),
        (PostStatus.HIDDEN, "RESTORE", "PUBLISHED"),
        (PostStatus.PUBLISHED, "MARK_SPAM", "SPAM"),
        (PostStatus.SPAM, "RESTORE", "PUBLISHED"),
        (PostStatus.SPAM, "APPROVE", "PUBLISHED"),
        (PostStatus.SPAM, "REJECT", "REJECTED"),
        (PostStatus.SPAM, "HIDE", "HIDDEN"),
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
    moderator, token = await staff()
    post = await a_post()
    for action, field, value in (("LOCK", "locked", True), ("PIN", "pinned", True), ("UNLOCK", "locked", False), ("UNPIN", "pinned", False)):
        payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": action, "reason": f"why {action}"}}, token=token))["moderatePost"]
        assert payload["post"][field] is value
        assert await audited(post, action) == [(moderator.pk, f"why {action}")]
    again = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": "UNLOCK"}}, token=token))["moderatePost"]
    assert again["userErrors"][0]["code"] == "INVALID_STATE"
    assert len(await audited(post, "UNLOCK")) == 1


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


@pytest.mark.parametrize("status", [PostStatus.PENDING, PostStatus.HIDDEN])
async def test_stars_cannot_mark_spam_on_posts_they_cannot_see(client: GraphQLClient, status: PostStatus) -> None:
    _, star = await staff(Role.STAR)
    post = await a_post(status)
    payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": "MARK_SPAM"}}, token=star))["moderatePost"]
    assert payload == {"post": None, "userErrors": [{"code": "NOT_FOUND", "message": "No post has that ID"}]}
    assert (await Post.get(id=post.pk)).status is status
    assert await audited(post, "MARK_SPAM") == [] and not await Report.filter(target_kind="POST", target_id=post.pk).exists()


@pytest.mark.parametrize(("action", "end", "outcome"), [("APPROVE", "PUBLISHED", ReportStatus.DISMISSED),
                                                        ("REJECT", "REJECTED", ReportStatus.RESOLVED),
                                                        ("HIDE", "HIDDEN", ReportStatus.RESOLVED)])
async def test_a_moderator_clears_a_spam_mark_from_the_queue(client: GraphQLClient, action: str, end: str, outcome: ReportStatus) -> None:
    _, star = await staff(Role.STAR)
    moderator, token = await staff()
    post = await a_post()
    await client.query(MODERATE, {"input": {"postId": gid(post), "action": "MARK_SPAM", "reason": "links"}}, token=star)
    assert gid(post) in await queued(client, token)
    payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": action, "reason": "reviewed"}}, token=token))["moderatePost"]
    assert payload["userErrors"] == [] and payload["post"]["status"] == end
    assert gid(post) not in await queued(client, token)
    assert await audited(post, action) == [(moderator.pk, "reviewed")]
    assert [r.status for r in await Report.filter(target_kind="POST", target_id=post.pk)] == [outcome]


async def test_dismissing_reports_keeps_the_post_and_takes_it_off_the_queue(client: GraphQLClient) -> None:
    moderator, token = await staff()
    post = await a_post()
    await report(client, gid(post))
    assert gid(post) in await queued(client, token, ["REPORTED"])
    variables = {"input": {"postId": gid(post), "action": "DISMISS_REPORTS", "reason": "within the rules"}}
    payload = (await client.query(MODERATE, variables, token=token))["moderatePost"]
    assert payload["userErrors"] == [] and payload["post"]["status"] == "PUBLISHED"
    stored = await Report.get(target_kind="POST", target_id=post.pk)
    assert stored.status is ReportStatus.DISMISSED and stored.resolved_at is not None
    assert gid(post) not in await queued(client, token, ["REPORTED"])
    again = (await client.query(MODERATE, variables, token=token))["moderatePost"]
    assert again["userErrors"][0]["code"] == "INVALID_STATE"
    assert await audited(post, "DISMISS_REPORTS") == [(moderator.pk, "within the rules")]


@pytest.mark.parametrize(
    ("start", "action", "on_post", "on_reply"),
    [
        # Taking a post down acts on its reports, and on its replies' (the thread goes with it).
        (PostStatus.PUBLISHED, "HIDE", ReportStatus.RESOLVED, ReportStatus.RESOLVED),
        (PostStatus.PENDING, "REJECT", ReportStatus.RESOLVED, ReportStatus.RESOLVED),
        (PostStatus.PUBLISHED, "MARK_SPAM", ReportStatus.RESOLVED, ReportStatus.RESOLVED),
        # Keeping it up dismisses the post's own reports; a reply's wait for moderateReply.
        (PostStatus.PENDING, "APPROVE", ReportStatus.DISMISSED, ReportStatus.OPEN),
        (PostStatus.HIDDEN, "RESTORE", ReportStatus.DISMISSED, ReportStatus.OPEN),
        # Locking or pinning answers no report.
        (PostStatus.PUBLISHED, "LOCK", ReportStatus.OPEN, ReportStatus.OPEN),
        (PostStatus.PUBLISHED, "PIN", ReportStatus.OPEN, ReportStatus.OPEN),
    ],
)
async def test_decisions_on_a_post_settle_its_reports(
    client: GraphQLClient, start: PostStatus, action: str, on_post: ReportStatus, on_reply: ReportStatus
) -> None:
    _, token = await staff()
    post = await a_post()
    # Members reply to and report the post while it is published, as they can see it then.
    reply_id = await a_reply(client, post)
    await report(client, gid(post))
    await report(client, reply_id)
    await Post.filter(id=post.pk).update(status=start)
    payload = (await client.query(MODERATE, {"input": {"postId": gid(post), "action": action}}, token=token))["moderatePost"]
    assert payload["userErrors"] == []
    assert (await Report.get(target_kind="POST", target_id=post.pk)).status is on_post
    assert (await Report.get(target_kind="REPLY", target_id=from_global_id(reply_id)[1])).status is on_reply


async def test_moderators_hide_and_restore_reported_replies(client: GraphQLClient) -> None:
    moderator, token = await staff()
    post = await a_post()
    kept, reply_id = await a_reply(client, post), await a_reply(client, post)
    await report(client, reply_id)
    reply = await Reply.get(id=from_global_id(reply_id)[1])

    async def act(action: str, reason: str = "") -> dict:
        variables = {"input": {"replyId": reply_id, "action": action, "reason": reason, "clientMutationId": action}}
        return (await client.query(MODERATE_REPLY, variables, token=token))["moderateReply"]

    async def thread() -> tuple[int, list[str]]:
        found = (await client.query(THREAD, {"slug": post.slug}))["post"]
        return found["replyCount"], [node["id"] for node in found["replies"]["nodes"]]

    assert await thread() == (2, [kept, reply_id])
    hidden = await act("HIDE", "insulting")
    assert hidden == {"reply": {"id": reply_id, "status": "HIDDEN"}, "userErrors": [], "clientMutationId": "HIDE"}
    assert await thread() == (1, [kept])
    assert (await Report.get(target_kind="REPLY", target_id=reply.pk)).status is ReportStatus.RESOLVED
    assert gid(post) not in await queued(client, token)
    assert (await act("HIDE"))["userErrors"] == [{"code": "INVALID_STATE", "field": ["input", "replyId"]}]
    assert await thread() == (1, [kept])

    assert (await act("RESTORE", "apologised"))["reply"]["status"] == "PUBLISHED"
    assert await thread() == (2, [kept, reply_id])
    assert (await act("DISMISS_REPORTS"))["userErrors"][0]["code"] == "INVALID_STATE"  # none open
    await report(client, reply_id)
    assert (await act("DISMISS_REPORTS", "fine"))["userErrors"] == []
    assert await Report.filter(target_kind="REPLY", target_id=reply.pk, status=ReportStatus.DISMISSED).count() == 1
    assert [await audited(reply, action) for action in ("HIDE", "RESTORE", "DISMISS_REPORTS")] == [
        [(moderator.pk, "insulting")], [(moderator.pk, "apologised")], [(moderator.pk, "fine")]]


async def test_two_moderators_hiding_one_reply_at_once_count_once(client: GraphQLClient) -> None:
    tokens = [(await staff())[1] for _ in range(4)]
    post = await a_post()
    reply_id = await a_reply(client, post)
    results = await asyncio.gather(*(client.query(MODERATE_REPLY, {"input": {"replyId": reply_id, "action": "HIDE"}}, token=t) for t in tokens))
    assert sorted(len(r["moderateReply"]["userErrors"]) for r in results) == [0, 1, 1, 1]
    assert (await Post.get(id=post.pk)).reply_count == 0
    assert await ModerationAction.filter(target_kind="REPLY", action="HIDE", target_id=(await Reply.get(post_id=post.pk)).pk).count() == 1


async def test_pending_posts_and_reported_replies_are_queued(client: GraphQLClient) -> None:
    _, moderator = await staff()
    pending = await a_post(PostStatus.PENDING)
    queue = (await client.query(QUEUE, {"kind": ["PENDING"]}, token=moderator))["moderationQueue"]["nodes"]
    assert {"post": {"id": gid(pending)}, "kinds": ["PENDING"], "reports": []} in queue

    post = await a_post()
    reply_id = await a_reply(client, post)
    await report(client, reply_id)
    content = "reports { targetKind contentId content { __typename ... on Reply { id body status } ... on Post { id } } }"
    query = QUEUE.replace("reports { reason note }", content)
    queue = (await client.query(query, {"kind": ["REPORTED"]}, token=moderator))["moderationQueue"]["nodes"]
    item = next(node for node in queue if node["post"]["id"] == gid(post))
    assert item["kinds"] == ["REPORTED"]
    assert item["reports"] == [{"targetKind": "REPLY", "contentId": reply_id, "content": {
        "__typename": "Reply", "id": reply_id, "body": "Buy followers here", "status": "PUBLISHED"}}]
    # Reading is not writing: a moderator's read-only token (a dashboard's) sees the content too.
    reader = await token_for(await make_user("mod_reader", Role.MODERATOR), TokenScope.READ)
    as_reader = (await client.query(query, {"kind": ["REPORTED"]}, token=reader))["moderationQueue"]["nodes"]
    assert next(node for node in as_reader if node["post"]["id"] == gid(post))["reports"] == item["reports"]


async def test_queue_filters_by_post_status(client: GraphQLClient) -> None:
    _, token = await staff()
    pending, published, spam = await a_post(), await a_post(), await a_post(PostStatus.SPAM)
    for post in (pending, published):
        await report(client, gid(post))
    # Reported while published (members report what they see), then held for review.
    await Post.filter(id=pending.pk).update(status=PostStatus.PENDING)
    query = "query($kind: [QueueKind!], $status: [PostStatus!]) { moderationQueue(kind: $kind, status: $status, first: 100) { nodes { post { id } } } }"

    async def ids(**filters: list[str]) -> set[str]:
        nodes = (await client.query(query, filters, token=token))["moderationQueue"]["nodes"]
        return {node["post"]["id"] for node in nodes} & {gid(pending), gid(published), gid(spam)}

    assert await ids(status=["PUBLISHED"]) == {gid(published)}
    assert await ids(status=["PENDING", "SPAM"]) == {gid(pending), gid(spam)}
    assert await ids(kind=["REPORTED"], status=["PENDING"]) == {gid(pending)}
    assert await ids(kind=["SPAM"], status=["PUBLISHED"]) == set()
    assert await ids() == {gid(pending), gid(published), gid(spam)}


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
    lifted = await client.query('mutation($id: ID!) { suspendUser(input: {userId: $id, suspended: false, reason: "appeal upheld"}) { userErrors { code } } }',
                                {"id": gid(member)}, token=admin_token)
    assert lifted["suspendUser"]["userErrors"] == []
    assert (await client.query("{ viewer { capabilities } }", token=member_token))["viewer"]["capabilities"]
    actions = await ModerationAction.filter(target_id=member.pk, target_kind="USER").values_list("action", flat=True)
    assert sorted(actions) == ["SET_ROLE_STAR", "SUSPEND", "UNSUSPEND"]
    assert await audited(member, "UNSUSPEND") == [(admin.pk, "appeal upheld")]


@pytest.mark.parametrize("call", ["setUserRole(input: {userId: $id, role: STAR, reason: $reason})",
                                  "suspendUser(input: {userId: $id, reason: $reason})"])
async def test_admin_reasons_take_at_most_1000_characters(client: GraphQLClient, call: str) -> None:
    _, token = await staff(Role.ADMIN)
    member = await make_user("mod_target")
    name = call.split("(")[0]
    query = "mutation($id: ID!, $reason: String!) { %s { user { role } userErrors { code field } } }" % call
    refused = (await client.query(query, {"id": gid(member), "reason": "x" * 1001}, token=token))[name]
    assert refused == {"user": None, "userErrors": [{"code": "TOO_LONG", "field": ["input", "reason"]}]}
    stored = await User.get(id=member.pk)
    assert (stored.role, stored.suspended_at) == (Role.MEMBER, None)
    assert not await ModerationAction.filter(target_kind="USER", target_id=member.pk).exists()
    assert (await client.query(query, {"id": gid(member), "reason": " " + "x" * 1000 + " "}, token=token))[name]["userErrors"] == []


# mutation -> (input type, ID field, type the ID names, the rest of a valid input)
_BY_ID = {
    "moderatePost": ("ModeratePostInput", "postId", "Post", {"action": "HIDE"}),
    "moderateReply": ("ModerateReplyInput", "replyId", "Reply", {"action": "HIDE"}),
    "setUserRole": ("SetUserRoleInput", "userId", "User", {"role": "STAR"}),
    "suspendUser": ("SuspendUserInput", "userId", "User", {"reason": "spam wave"}),
}


@pytest.mark.parametrize("mutation", list(_BY_ID))
async def test_unknown_ids_are_not_found_and_malformed_ids_bad_input(client: GraphQLClient, mutation: str) -> None:
    _, token = await staff(Role.ADMIN)
    input_type, field, typename, rest = _BY_ID[mutation]
    query = "mutation($input: %s!) { %s(input: $input) { userErrors { code field } } }" % (input_type, mutation)
    before = await ModerationAction.all().count()
    unknown = (await client.query(query, {"input": {field: to_global_id(typename, 999_999), **rest}}, token=token))[mutation]
    assert unknown["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", field]}]
    for malformed in ("not-an-id", to_global_id("Nothing", 1), to_global_id(typename, 0)):
        errors = await client.errors(query, {"input": {field: malformed, **rest}}, token=token)
        assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
    assert await ModerationAction.all().count() == before


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
