"""Members' actions over HTTP: posts, replies, kudos, FAQ ratings, issue marks, reports."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from gql.core.relay import to_global_id
from models import posts as post_rules
from models.base import utcnow
from models.faqs import Faq, FaqCategory, FaqRating, FaqStatus
from models.issues import Issue, IssueAffected, IssueStatus, IssueSubscription
from models.moderation import Report
from models.posts import Kudo, Post, PostStatus, PostTag, Reply
from tests.factories import gid, make_board, make_post, make_user, token_for
from tests.support import GraphQLClient

CREATE = """mutation($input: CreatePostInput!) {
  createPost(input: $input) { post { id slug status title tags excerpt } userErrors { field code message } }
}"""
REPLY = """mutation($input: ReplyToPostInput!) {
  replyToPost(input: $input) { reply { id body } post { replyCount } userErrors { code } }
}"""
GIVE = "mutation($input: KudoInput!) { giveKudo(input: $input) { post { kudosCount } userErrors { code } } }"
REMOVE = "mutation($input: KudoInput!) { removeKudo(input: $input) { post { kudosCount } userErrors { code } } }"
RATE = "mutation($input: RateFaqInput!) { rateFaq(input: $input) { faq { helpfulCount notHelpfulCount } userErrors { code } } }"
MARK = "mutation($input: IssueInput!) { markIssueAffected(input: $input) { issue { affectedCount } userErrors { code } } }"
UNMARK = "mutation($input: IssueInput!) { unmarkIssueAffected(input: $input) { issue { affectedCount } userErrors { code } } }"
SUBSCRIBE = "mutation($input: IssueInput!) { subscribeToIssue(input: $input) { issue { number } userErrors { code } } }"
REPORT = "mutation($input: ReportContentInput!) { reportContent(input: $input) { report { id status reason } userErrors { code } } }"


async def writer(prefix: str = "act") -> tuple[object, str]:
    user = await make_user(prefix)
    return user, await token_for(user)


async def test_first_post_waits_for_review_then_posts_publish(client: GraphQLClient) -> None:
    user, token = await writer()
    board = await make_board("act")
    first = (await client.query(CREATE, {"input": {"board": board.slug, "title": "My first question",
                                                    "body": "Why does  my\nplaylist stop?", "tags": ["Playback", "playback"]}}, token=token))["createPost"]
    assert first["userErrors"] == []
    assert first["post"]["status"] == "PENDING"
    assert first["post"]["tags"] == ["playback"]
    assert first["post"]["excerpt"] == "Why does my playlist stop?"
    await make_post(user, board)  # a moderator approved an earlier one
    second = (await client.query(CREATE, {"input": {"board": board.slug, "title": "Another question", "body": "b"}}, token=token))["createPost"]
    assert second["post"]["status"] == "PUBLISHED"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"title": "Hi"}, "title", "TOO_SHORT"),
        ({"title": "x" * 201}, "title", "TOO_LONG"),
        ({"body": "   "}, "body", "BLANK"),
        ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags", "TOO_MANY"),
        ({"tags": ["no spaces"]}, "tags", "INVALID"),
        ({"board": "no-such-board"}, "board", "NOT_FOUND"),
    ],
)
async def test_create_post_refuses_bad_input_and_writes_nothing(
    client: GraphQLClient, changes: dict, field: str, code: str
) -> None:
    _, token = await writer()
    board = await make_board("act")
    before = (await Post.all().count(), await PostTag.all().count())
    payload = (await client.query(CREATE, {"input": {"board": board.slug, "title": "A fine title", "body": "b", **changes}}, token=token))["createPost"]
    assert payload["post"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", field], code)]
    assert (await Post.all().count(), await PostTag.all().count()) == before


async def test_failure_half_way_leaves_nothing_behind(client: GraphQLClient, monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = await writer()
    board = await make_board("act")

    async def broken_tag_insert(**_: object) -> None:
        raise RuntimeError("disk on fire")

    # The post row is written first; the tag insert then fails: the whole mutation must vanish.
    monkeypatch.setattr(post_rules.PostTag, "create", broken_tag_insert)
    before = await Post.all().count()
    response = await client.post(CREATE, {"input": {"board": board.slug, "title": "Doomed post", "body": "b", "tags": ["x"]}}, token=token)
    payload = response.json()
    assert payload["errors"][0]["message"] != "disk on fire"
    assert "disk" not in response.text and "Traceback" not in response.text
    assert await Post.all().count() == before


async def test_replies_count_and_locked_threads_refuse(client: GraphQLClient) -> None:
    author, _ = await writer()
    _, token = await writer()
    board = await make_board("act")
    post = await make_post(author, board)
    ok = (await client.query(REPLY, {"input": {"postId": gid(post), "body": "Try logging out and in."}}, token=token))["replyToPost"]
    assert ok["post"]["replyCount"] == 1 and ok["reply"]["body"] == "Try logging out and in."
    blank = (await client.query(REPLY, {"input": {"postId": gid(post), "body": " "}}, token=token))["replyToPost"]
    assert blank["userErrors"][0]["code"] == "BLANK"
    locked = await make_post(author, board, locked=True)
    refused = (await client.query(REPLY, {"input": {"postId": gid(locked), "body": "hello"}}, token=token))["replyToPost"]
    assert refused["userErrors"][0]["code"] == "LOCKED"
    hidden = await make_post(author, board, status=PostStatus.HIDDEN)
    missing = (await client.query(REPLY, {"input": {"postId": gid(hidden), "body": "hello"}}, token=token))["replyToPost"]
    assert missing["userErrors"][0]["code"] == "NOT_FOUND"
    assert await Reply.filter(post_id__in=[locked.pk, hidden.pk]).count() == 0
    assert (await Post.get(id=locked.pk)).reply_count == 0


async def test_kudos_once_never_own_and_removable(client: GraphQLClient) -> None:
    author, author_token = await writer()
    _, token = await writer()
    post = await make_post(author, await make_board("act"))
    variables = {"input": {"postId": gid(post)}}
    assert (await client.query(GIVE, variables, token=token))["giveKudo"]["post"]["kudosCount"] == 1
    assert (await client.query(GIVE, variables, token=token))["giveKudo"]["userErrors"][0]["code"] == "ALREADY_GIVEN"
    assert (await client.query(GIVE, variables, token=author_token))["giveKudo"]["userErrors"][0]["code"] == "OWN_POST"
    assert (await client.query(REMOVE, variables, token=token))["removeKudo"]["post"]["kudosCount"] == 0
    assert (await client.query(REMOVE, variables, token=token))["removeKudo"]["userErrors"][0]["code"] == "NOT_GIVEN"
    assert await Kudo.filter(post_id=post.pk).count() == 0


async def test_same_user_giving_kudos_twice_at_once_counts_once(client: GraphQLClient) -> None:
    author, _ = await writer()
    _, token = await writer()
    post = await make_post(author, await make_board("act"))
    results = await asyncio.gather(*(client.query(GIVE, {"input": {"postId": gid(post)}}, token=token) for _ in range(5)))
    successes = [r for r in results if not r["giveKudo"]["userErrors"]]
    assert len(successes) == 1
    stored = await Post.get(id=post.pk)
    assert stored.kudos_count == await Kudo.filter(post_id=post.pk).count() == 1


async def test_many_users_at_once_keep_the_count_exact(client: GraphQLClient) -> None:
    author, _ = await writer()
    post = await make_post(author, await make_board("act"))
    tokens = [(await writer("crowd"))[1] for _ in range(20)]
    await asyncio.gather(*(client.query(GIVE, {"input": {"postId": gid(post)}}, token=t) for t in tokens))
    await asyncio.gather(*(client.query(REMOVE, {"input": {"postId": gid(post)}}, token=t) for t in tokens[:7]))
    stored = await Post.get(id=post.pk)
    assert stored.kudos_count == await Kudo.filter(post_id=post.pk).count() == 13


async def _faq(status: FaqStatus = FaqStatus.PUBLISHED) -> Faq:
    category, _ = await FaqCategory.get_or_create(slug="act-cat", defaults={"name": "Act"})
    now = utcnow()
    return await Faq.create(slug=f"act-faq-{now.timestamp()}-{status.value}", title="How do I?", body="Like this.",
                            category=category, status=status, created_at=now, updated_at=now)


async def test_rating_a_faq_counts_once_per_reader_and_can_change(client: GraphQLClient) -> None:
    faq = await _faq()
    _, token = await writer()
    variables = lambda helpful: {"input": {"faqId": gid(faq), "helpful": helpful}}  # noqa: E731
    assert (await client.query(RATE, variables(True), token=token))["rateFaq"]["faq"] == {"helpfulCount": 1, "notHelpfulCount": 0}
    assert (await client.query(RATE, variables(True), token=token))["rateFaq"]["faq"] == {"helpfulCount": 1, "notHelpfulCount": 0}
    assert (await client.query(RATE, variables(False), token=token))["rateFaq"]["faq"] == {"helpfulCount": 0, "notHelpfulCount": 1}
    draft = await _faq(FaqStatus.DRAFT)
    refused = (await client.query(RATE, {"input": {"faqId": gid(draft), "helpful": True}}, token=token))["rateFaq"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    assert not await FaqRating.filter(faq_id=draft.pk).exists()


async def test_concurrent_ratings_keep_counters_equal_to_rows(client: GraphQLClient) -> None:
    faq = await _faq()
    tokens = [(await writer("rater"))[1] for _ in range(12)]
    await asyncio.gather(*(client.query(RATE, {"input": {"faqId": gid(faq), "helpful": i % 3 != 0}}, token=t)
                           for i, t in enumerate(tokens)))
    stored = await Faq.get(id=faq.pk)
    assert stored.helpful_count == await FaqRating.filter(faq_id=faq.pk, helpful=True).count() == 8
    assert stored.not_helpful_count == await FaqRating.filter(faq_id=faq.pk, helpful=False).count() == 4


async def _issue(status: IssueStatus = IssueStatus.INVESTIGATING) -> Issue:
    now = utcnow()
    number = 70_000 + await Issue.all().count()
    return await Issue.create(number=number, title="Songs skip", description="d", status=status, created_at=now, updated_at=now)


async def test_affected_marks_once_and_not_on_resolved_issues(client: GraphQLClient) -> None:
    issue = await _issue()
    _, token = await writer()
    variables = {"input": {"issueId": gid(issue)}}
    assert (await client.query(MARK, variables, token=token))["markIssueAffected"]["issue"]["affectedCount"] == 1
    assert (await client.query(MARK, variables, token=token))["markIssueAffected"]["userErrors"][0]["code"] == "ALREADY_MARKED"
    assert (await client.query(UNMARK, variables, token=token))["unmarkIssueAffected"]["issue"]["affectedCount"] == 0
    assert (await client.query(UNMARK, variables, token=token))["unmarkIssueAffected"]["userErrors"][0]["code"] == "NOT_MARKED"
    resolved = await _issue(IssueStatus.RESOLVED)
    refused = (await client.query(MARK, {"input": {"issueId": gid(resolved)}}, token=token))["markIssueAffected"]
    assert refused["userErrors"][0]["code"] == "RESOLVED"


async def test_concurrent_affected_marks_are_exact(client: GraphQLClient) -> None:
    issue = await _issue()
    tokens = [(await writer("affected"))[1] for _ in range(15)]
    await asyncio.gather(*(client.query(MARK, {"input": {"issueId": gid(issue)}}, token=t) for t in tokens + tokens[:5]))
    stored = await Issue.get(id=issue.pk)
    assert stored.affected_count == await IssueAffected.filter(issue_id=issue.pk).count() == 15


async def test_subscribing_is_idempotent(client: GraphQLClient) -> None:
    issue = await _issue()
    user, token = await writer()
    for _ in range(2):
        assert (await client.query(SUBSCRIBE, {"input": {"issueId": gid(issue)}}, token=token))["subscribeToIssue"]["userErrors"] == []
    assert await IssueSubscription.filter(issue_id=issue.pk, user_id=user.pk).count() == 1


async def test_reporting_content_once(client: GraphQLClient) -> None:
    author, _ = await writer()
    _, token = await writer()
    post = await make_post(author, await make_board("act"))
    variables = {"input": {"contentId": gid(post), "reason": "SPAM", "note": "Links to a shop"}}
    first = (await client.query(REPORT, variables, token=token))["reportContent"]
    assert first["report"]["status"] == "OPEN"
    again = (await client.query(REPORT, variables, token=token))["reportContent"]
    assert again["userErrors"][0]["code"] == "ALREADY_REPORTED"
    assert await Report.filter(target_id=post.pk).count() == 1
    errors = await client.errors(REPORT, {"input": {"contentId": to_global_id("Faq", 1), "reason": "SPAM"}}, token=token)
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("status", [PostStatus.PENDING, PostStatus.HIDDEN])
async def test_content_one_cannot_see_cannot_be_reported(client: GraphQLClient, status: PostStatus) -> None:
    author, _ = await writer()
    _, token = await writer()
    post = await make_post(author, await make_board("act"), status=status)
    result = (await client.query(REPORT, {"input": {"contentId": gid(post), "reason": "SPAM"}}, token=token))["reportContent"]
    # The same answer as for an ID that names nothing: a report must not confirm the post exists.
    assert result == {"report": None, "userErrors": [{"code": "NOT_FOUND"}]}
    assert not await Report.filter(target_id=post.pk).exists()
