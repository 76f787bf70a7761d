"""Counters instead of COUNT(*) (models/counted.py): every list size the API answers from a
counter (`totalCount`, `postCount`, `faqCount`, `replyCount`, `updates.totalCount`, the
community figures) equals COUNT(*) of the rows the viewer may see, after any mix of writes over
HTTP, concurrent ones included; reading them issues no COUNT over the big tables; migrations 0003
and 0004 (the posts per tag) compute them for the rows already there, and `recount` repairs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import pytest
import pytest_asyncio
from tortoise.functions import Count

from gql.core.relay import to_global_id
from models import counted
from models.accounts import Role, User
from models.counted import COUNTED, COUNTED_LINKS, Tally, recount_all
from models.faqs import Faq, FaqCategory, FaqStatus
from models.issues import OPEN_STATUSES, Issue, IssueStatus, IssueUpdate
from models.posts import Board, Post, PostStatus, PostTag, Reply, Tag
from tests.conftest import BACKEND
from tests.factories import gid, make_board, make_post, make_user, token_for
from tests.support import GraphQLClient, count_sql

ROOT = Path(__file__).resolve().parent.parent


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def leave_content_as_found(db: str) -> AsyncIterator[None]:
    """Delete, when the module ends, the FAQs and issues it made (the posts go with
    `leave_queues_as_found`): later modules read the seed's lists. The counters follow."""
    last = {model: await model.all().order_by("-id").first().values_list("id", flat=True) for model in (Faq, Issue)}
    yield
    for model, pk in last.items():
        await model.filter(id__gt=pk or 0).delete()


pytestmark = pytest.mark.usefixtures("leave_queues_as_found", "leave_content_as_found")
LANDING_PAGE = (ROOT / "gql" / "landing_page.graphql").read_text()

CREATE_POST = """mutation($input: CreatePostInput!) {
  createPost(input: $input) { post { id slug status } userErrors { code message } } }"""
MODERATE = """mutation($id: ID!, $action: PostAction!) {
  moderatePost(input: {postId: $id, action: $action}) { post { status } userErrors { code message } } }"""
REPLY = """mutation($id: ID!, $body: String!) {
  replyToPost(input: {postId: $id, body: $body}) { reply { id } userErrors { code message } } }"""
MODERATE_REPLY = """mutation($id: ID!, $action: ReplyAction!) {
  moderateReply(input: {replyId: $id, action: $action}) { reply { status } userErrors { code message } } }"""
REGISTER = """mutation($handle: String!) {
  register(input: {handle: $handle, password: "counter-password"}) { token user { id } userErrors { code } } }"""
CREATE_FAQ = """mutation($slug: String!, $category: String!) {
  createFaq(input: {slug: $slug, title: "Counted question", body: "An answer.", category: $category}) {
    faq { id status } userErrors { code message } } }"""
PUBLISH_FAQ = "mutation($id: ID!) { publishFaq(input: {faqId: $id}) { faq { status } userErrors { code } } }"
MOVE_FAQ = """mutation($id: ID!, $category: String!) {
  updateFaq(input: {faqId: $id, category: $category}) { faq { id } userErrors { code } } }"""
SET_ROLE = """mutation($id: ID!, $role: Role!) {
  setUserRole(input: {userId: $id, role: $role, reason: "counting"}) { user { role } userErrors { code } } }"""
SUSPEND = """mutation($id: ID!) {
  suspendUser(input: {userId: $id, reason: "counting"}) { user { id } userErrors { code } } }"""
CREATE_ISSUE = """mutation { createIssue(input: {title: "Counted issue", description: "It counts.", platforms: [WEB]}) {
  issue { id number } userErrors { code } } }"""
ISSUE_UPDATE = """mutation($id: ID!, $status: IssueStatus!) {
  postIssueUpdate(input: {issueId: $id, status: $status, body: "Moved on."}) { issue { status } userErrors { code } } }"""


async def ok(client: GraphQLClient, query: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    """Run a mutation that must succeed; its payload."""
    data = await client.query(query, variables, token=token)
    payload = next(iter(data.values()))
    assert payload["userErrors"] == [], payload
    return payload


# --- What the API answers, and what COUNT(*) says -------------------------------------------------


async def answered(client: GraphQLClient, token: str | None, boards: list[str], categories: list[str],
                   posts: list[str], authors: list[int], issues: list[int], tags: Sequence[str] = ()) -> dict[str, Any]:
    """Every counted figure the API answers this viewer, in one request."""
    parts = [
        "posts { totalCount }",
        "faqs { totalCount }",
        "stars { totalCount }",
        "ongoingIssues { totalCount }",
        "allIssues: issues { totalCount }",
        "starsProgram { blogPosts { totalCount } }",
        "faqCategories { slug faqCount }",
        "boards { slug postCount }",
        "communityStats { memberCount starCount publishedPostCount replyCount membersByRole { role count }"
        " issuesByStatus { status count } }",
    ]
    parts += [f'board{n}: posts(board: "{slug}") {{ totalCount }}' for n, slug in enumerate(boards)]
    parts += [f'tag{n}: posts(tag: "{name}") {{ totalCount }}' for n, name in enumerate(tags)]
    parts += [f'category{n}: faqs(category: "{slug}") {{ totalCount }}' for n, slug in enumerate(categories)]
    parts += [f'post{n}: post(slug: "{slug}") {{ replyCount replies {{ totalCount }} }}' for n, slug in enumerate(posts)]
    parts += [f'author{n}: node(id: "{to_global_id("User", pk)}") {{ ... on User {{ postCount }} }}'
              for n, pk in enumerate(authors)]
    parts += [f"issue{n}: issue(number: {number}) {{ updates {{ totalCount }} }}" for n, number in enumerate(issues)]
    return await client.query("{ " + "\n".join(parts) + " }", token=token)


async def counted_rows(viewer: User | None, boards: list[str], categories: list[str],
                       posts: list[str], authors: list[int], issues: list[int], tags: Sequence[str] = ()) -> dict[str, Any]:
    """The same figures by COUNT(*) through the ORM, over what `visible_to(viewer)` selects."""
    visible_posts, visible_faqs = Post.visible_to(viewer), Faq.visible_to(viewer)
    published = Post.filter(status=PostStatus.PUBLISHED)
    by_board = dict(await published.annotate(n=Count("id")).group_by("board_id").values_list("board_id", "n"))
    by_category = dict(await Faq.filter(status=FaqStatus.PUBLISHED).annotate(n=Count("id"))
                       .group_by("category_id").values_list("category_id", "n"))
    roles = {role: await User.filter(role=role).count() for role in Role}
    expected: dict[str, Any] = {
        "posts": {"totalCount": await visible_posts.count()},
        "faqs": {"totalCount": await visible_faqs.count()},
        "stars": {"totalCount": roles[Role.STAR]},
        "ongoingIssues": {"totalCount": await Issue.filter(status__in=OPEN_STATUSES).count()},
        "allIssues": {"totalCount": await Issue.all().count()},
        "starsProgram": {"blogPosts": {"totalCount": await visible_posts.filter(board__slug="stars-blog").count()}},
        "faqCategories": [{"slug": slug, "faqCount": by_category.get(pk, 0)}
                          for pk, slug in await FaqCategory.all().values_list("id", "slug")],
        "boards": [{"slug": slug, "postCount": by_board.get(pk, 0)} for pk, slug in await Board.all().values_list("id", "slug")],
        "communityStats": {
            "memberCount": sum(roles.values()), "starCount": roles[Role.STAR],
            "publishedPostCount": await published.count(),
            "replyCount": await Reply.filter(status=PostStatus.PUBLISHED).count(),
            "membersByRole": [{"role": role.value, "count": n} for role, n in roles.items()],
            "issuesByStatus": [{"status": s.value, "count": await Issue.filter(status=s).count()} for s in IssueStatus],
        },
    }
    for n, slug in enumerate(boards):
        expected[f"board{n}"] = {"totalCount": await visible_posts.filter(board__slug=slug).count()}
    for n, name in enumerate(tags):
        expected[f"tag{n}"] = {"totalCount": await visible_posts.filter(tag_rows__tag__name=name).count()}
    for n, slug in enumerate(categories):
        expected[f"category{n}"] = {"totalCount": await visible_faqs.filter(category__slug=slug).count()}
    for n, slug in enumerate(posts):
        post = await visible_posts.get_or_none(slug=slug)
        replies = await Reply.filter(post__slug=slug, status=PostStatus.PUBLISHED).count()
        expected[f"post{n}"] = None if post is None else {"replyCount": replies, "replies": {"totalCount": replies}}
    for n, pk in enumerate(authors):
        expected[f"author{n}"] = {"postCount": await published.filter(author_id=pk).count()}
    for n, number in enumerate(issues):
        expected[f"issue{n}"] = {"updates": {"totalCount": await IssueUpdate.filter(issue__number=number).count()}}
    return expected


async def assert_exact(client: GraphQLClient, viewers: dict[str, tuple[User | None, str | None]],
                       **lists: list[Any]) -> None:
    """Every viewer's answers equal COUNT(*) of what they may see, and every counter in the
    database (those no answer shows included) equals its rows."""
    for name, (viewer, token) in viewers.items():
        got = await answered(client, token, **lists)
        want = await counted_rows(viewer, **lists)
        mismatched = {key: (got[key], want[key]) for key in want if got[key] != want[key]}
        assert not mismatched, (name, mismatched)
    assert not any((await recount_all(fix=False)).values()), await recount_all(fix=False)


# --- A mixed series of writes over HTTP ---------------------------------------------------------


async def test_every_count_equals_its_rows_for_every_viewer_after_mixed_writes(client: GraphQLClient) -> None:
    moderator, admin, star = (await make_user("cnt_mod", Role.MODERATOR), await make_user("cnt_admin", Role.ADMIN),
                              await make_user("cnt_star", Role.STAR))
    mod, adm, st = await token_for(moderator), await token_for(admin), await token_for(star)
    board = await make_board("cnt")
    # Two newcomers through `register`: their first posts wait for a moderator.
    member_token, newcomer_token = [
        (await ok(client, REGISTER, {"handle": f"cnt_new_{os.getpid()}_{n}"}, None))["token"] for n in range(2)]
    member = await User.get(handle=f"cnt_new_{os.getpid()}_0")
    newcomer = await User.get(handle=f"cnt_new_{os.getpid()}_1")

    # Tags of its own (and one of the seed's): the per-tag counters, moved by links and statuses.
    tag, other = f"cnt-tag-{os.getpid()}", f"cnt-other-{os.getpid()}"

    async def create(token: str, board_slug: str, title: str, tags: tuple[str, ...] = (tag,)) -> dict[str, Any]:
        return (await ok(client, CREATE_POST, {"input": {"board": board_slug, "title": title, "body": "Counted.",
                                                         "tags": list(tags)}}, token))["post"]

    async def moderate(token: str, post: dict[str, Any], action: str) -> None:
        await ok(client, MODERATE, {"id": post["id"], "action": action}, token)

    first = await create(member_token, board.slug, "A first post, pending")
    assert first["status"] == "PENDING"
    await moderate(mod, first, "APPROVE")
    second = await create(member_token, board.slug, "Trusted now, published", (tag, other, "playlists"))
    hidden = await create(member_token, "ideas", "Soon hidden by a moderator", (other, tag))
    spam = await create(member_token, board.slug, "Soon marked as spam", ())
    await moderate(mod, hidden, "HIDE")
    await moderate(st, spam, "MARK_SPAM")
    await moderate(mod, spam, "APPROVE")
    await moderate(st, spam, "MARK_SPAM")
    rejected = await create(newcomer_token, "chat", "A newcomer's post, rejected")
    await moderate(mod, rejected, "REJECT")
    pending = await create(newcomer_token, "chat", "A newcomer's post, pending")
    blog = await create(st, "stars-blog", "Meet another Star")
    await moderate(mod, blog, "HIDE")
    await moderate(mod, blog, "RESTORE")
    restored = await create(st, board.slug, "Hidden, then restored")
    await moderate(mod, restored, "HIDE")
    await moderate(mod, restored, "RESTORE")

    replies = [(await ok(client, REPLY, {"id": second["id"], "body": f"Reply {n}"}, newcomer_token))["reply"]
               for n in range(3)]
    await ok(client, MODERATE_REPLY, {"id": replies[0]["id"], "action": "HIDE"}, mod)
    await ok(client, MODERATE_REPLY, {"id": replies[1]["id"], "action": "HIDE"}, mod)
    await ok(client, MODERATE_REPLY, {"id": replies[1]["id"], "action": "RESTORE"}, mod)
    doomed = await create(st, board.slug, "A thread deleted with its replies", (tag, other, "playlists"))
    for n in range(2):
        await ok(client, REPLY, {"id": doomed["id"], "body": f"Doomed reply {n}"}, member_token)

    slug = f"cnt-faq-{os.getpid()}"
    faq = (await ok(client, CREATE_FAQ, {"slug": slug, "category": "account"}, mod))["faq"]
    await ok(client, PUBLISH_FAQ, {"id": faq["id"]}, mod)
    await ok(client, MOVE_FAQ, {"id": faq["id"], "category": "privacy"}, mod)  # published, moved
    draft = (await ok(client, CREATE_FAQ, {"slug": slug + "-draft", "category": "payment"}, mod))["faq"]
    await ok(client, MOVE_FAQ, {"id": draft["id"], "category": "account"}, mod)

    await ok(client, SET_ROLE, {"id": gid(member), "role": "STAR"}, adm)  # a Star added
    await ok(client, SET_ROLE, {"id": gid(newcomer), "role": "STAR"}, adm)
    await ok(client, SET_ROLE, {"id": gid(newcomer), "role": "MEMBER"}, adm)  # and removed
    await ok(client, SUSPEND, {"id": gid(newcomer)}, adm)
    member = await User.get(id=member.pk)
    newcomer = await User.get(id=newcomer.pk)

    issue = (await ok(client, CREATE_ISSUE, {}, mod))["issue"]
    for status in ("IDENTIFIED", "RESOLVED", "INVESTIGATING", "RESOLVED"):
        await ok(client, ISSUE_UPDATE, {"id": issue["id"], "status": status}, mod)

    # Links that come and go without a post's creation, as an operator or a fixture would add
    # them: a tag added to a published post and to a hidden one, one removed; then one more hidden
    # post whose tags all go with it.
    tag_ids = dict(await Tag.filter(name__in=[tag, other]).values_list("name", "id"))
    spam_post, blog_post = await Post.get(slug=spam["slug"]), await Post.get(slug=blog["slug"])
    await PostTag.create(post_id=spam_post.pk, tag_id=tag_ids[other])
    await PostTag.create(post_id=blog_post.pk, tag_id=tag_ids[other])
    await PostTag.filter(post__slug=hidden["slug"], tag_id=tag_ids[tag]).delete()
    await moderate(mod, spam, "APPROVE")  # its new tag's published counter follows
    await moderate(mod, second, "HIDE")
    await moderate(mod, second, "RESTORE")
    gone = await create(st, board.slug, "Hidden, then deleted with its tags", (tag, other))
    await moderate(mod, gone, "HIDE")

    # No mutation deletes a post: a direct delete, as an operator or a fixture would, cascades to
    # its replies and its tags' links, and the triggers follow that too.
    await Post.filter(slug__in=[doomed["slug"], gone["slug"]]).delete()

    lists = {
        "boards": [board.slug, "chat", "ideas", "stars-blog", "no-such-board"],
        "categories": ["account", "payment", "privacy", "no-such-category"],
        "posts": [p["slug"] for p in (first, second, hidden, spam, rejected, pending, blog, restored)],
        "authors": [member.pk, newcomer.pk, star.pk],
        "issues": [issue["number"], 1001],
        "tags": [tag, other, "playlists", "backstage-intro", "no-such-tag"],
    }
    viewers = {
        "anonymous": (None, None),
        "member": (member, member_token),  # sees their own hidden and spam posts too
        "newcomer": (newcomer, newcomer_token),  # their own rejected and pending ones
        "moderator": (moderator, mod),
    }
    await assert_exact(client, viewers, **lists)


# --- Concurrent writes ----------------------------------------------------------------------------


async def test_concurrent_writes_leave_every_counter_exact(client: GraphQLClient) -> None:
    board = await make_board("cnt_race")
    moderator = await make_user("cnt_race_mod", Role.MODERATOR)
    mod = await token_for(moderator)
    stars = [await make_user("cnt_race_star", Role.STAR) for _ in range(8)]
    newcomers = [await make_user("cnt_race_new") for _ in range(8)]
    thread = await make_post(stars[0], board)
    shown = [await make_post(stars[1], board) for _ in range(4)]
    hidden = [await make_post(stars[2], board, status=PostStatus.HIDDEN) for _ in range(4)]
    tokens = [await token_for(user) for user in stars + newcomers]
    # Two tags every new post takes (in either order), and one the moderated posts have; a third
    # is added to the moderated posts while their status changes.
    tags = [f"cnt-race-{name}-{os.getpid()}" for name in ("a", "b", "moderated", "late")]
    race_tags = [await Tag.create(name=name) for name in tags]
    for post in shown + hidden:
        await PostTag.create(post_id=post.pk, tag_id=race_tags[2].pk)

    def create(token: str, n: int) -> Any:
        names = tags[:2] if n % 2 else tags[1::-1]
        return client.query(CREATE_POST, {"input": {"board": board.slug, "title": f"Race post {n}", "body": "Go.",
                                                     "tags": names}}, token=token)

    async def link(post: Post) -> dict[str, Any]:
        await PostTag.create(post_id=post.pk, tag_id=race_tags[3].pk)
        return {"link": {"userErrors": []}}

    writes = [create(token, n) for n, token in enumerate(tokens)]
    writes += [client.query(REPLY, {"id": gid(thread), "body": f"Race reply {n}"}, token=token)
               for n, token in enumerate(tokens)]
    # Opposite transitions at once (PUBLISHED → HIDDEN and HIDDEN → PUBLISHED move the same two
    # tallies in opposite directions): no deadlock, no lost update.
    writes += [client.query(MODERATE, {"id": gid(post), "action": "HIDE"}, token=mod) for post in shown]
    writes += [client.query(MODERATE, {"id": gid(post), "action": "RESTORE"}, token=mod) for post in hidden]
    # A link added to a post while its status changes: counted with the status the post ends with.
    writes += [link(post) for post in shown + hidden]
    answers = await asyncio.gather(*writes)
    assert all(not next(iter(answer.values()))["userErrors"] for answer in answers), answers

    row = await Board.get(id=board.pk)
    assert row.post_count == await Post.filter(board_id=board.pk).count() == 1 + 4 + 4 + 16
    assert row.published_post_count == await Post.filter(board_id=board.pk, status=PostStatus.PUBLISHED).count() == 1 + 4 + 8
    assert (await Post.get(id=thread.pk)).reply_count == 16
    for tag, (total, published) in zip(race_tags, [(16, 8), (16, 8), (8, 4), (8, 4)]):
        row = await Tag.get(id=tag.pk)
        assert (row.post_count, row.published_post_count) == (total, published), tag.name
    await assert_exact(client, {"anonymous": (None, None), "moderator": (moderator, mod)},
                       boards=[board.slug], categories=[], posts=[thread.slug], authors=[u.pk for u in stars[:3]],
                       issues=[], tags=tags)


# --- What reading a count costs ---------------------------------------------------------------------


def counts_in(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "COUNT(" in statement.upper()]


async def test_counts_of_the_big_lists_issue_no_count(client: GraphQLClient) -> None:
    moderator = await make_user("cnt_sql_mod", Role.MODERATOR)
    query = """{ posts { totalCount } help: posts(board: "help") { totalCount } faqs { totalCount }
      account: faqs(category: "account") { totalCount } stars { totalCount } ongoingIssues { totalCount }
      starsProgram { blogPosts { totalCount } } boards { postCount } faqCategories { faqCount }
      post(slug: "backstage-intro-meet-vincent") { replyCount replies { totalCount } author { postCount } }
      issue(number: 1001) { updates { totalCount } } tagged: posts(tag: "playlists") { totalCount }
      communityStats { memberCount starCount publishedPostCount replyCount membersByRole { count } issuesByStatus { count } } }"""
    for token in (None, await token_for(moderator)):
        with count_sql() as sql:
            await client.query(query, token=token)
        assert counts_in(sql.statements) == [], sql.statements


async def test_a_members_count_adds_only_their_own_unpublished_posts(client: GraphQLClient) -> None:
    member = await make_user("cnt_sql_member")
    await make_post(member, await Board.get(slug="help"), status=PostStatus.PENDING)
    pending = await make_post(member, await Board.get(slug="chat"), status=PostStatus.PENDING)
    await PostTag.create(post_id=pending.pk, tag_id=(await Tag.get(name="playlists")).pk)
    with count_sql() as sql:
        data = await client.query('{ posts { totalCount } help: posts(board: "help") { totalCount }'
                                  ' tagged: posts(tag: "playlists") { totalCount } }', token=await token_for(member))
    assert data["posts"]["totalCount"] == await Post.visible_to(member).count()
    assert data["help"]["totalCount"] == await Post.visible_to(member).filter(board__slug="help").count()
    tagged = Post.visible_to(member).filter(tag_rows__tag__name="playlists")
    assert data["tagged"]["totalCount"] == await tagged.count() == (await Tag.get(name="playlists")).published_post_count + 1
    # One COUNT each, over the member's own unpublished posts: the (author, status) index bounds it.
    found = counts_in(sql.statements)
    assert len(found) == 3 and all('"author_id"=' in s and '"status" IN' in s for s in found), found


async def test_the_landing_page_counts_nothing(client: GraphQLClient) -> None:
    with count_sql() as sql:
        await client.query(LANDING_PAGE, {"n": 5})
    assert counts_in(sql.statements) == [], sql.statements


# --- Repair and migration ---------------------------------------------------------------------------


async def test_recount_finds_and_repairs_every_kind_of_counter(db: str) -> None:
    assert not any((await recount_all(fix=False)).values())
    board, category = await Board.get(slug="help"), await FaqCategory.get(slug="account")
    issue, post = await Issue.get(number=1001), await Post.get(slug="backstage-intro-meet-vincent")
    # Counters broken behind the triggers' back, as SQL that bypasses them would.
    await Board.filter(id=board.pk).update(post_count=9999, published_post_count=0)
    await FaqCategory.filter(id=category.pk).update(published_faq_count=-3)
    await Issue.filter(id=issue.pk).update(update_count=0)
    await Post.filter(id=post.pk).update(reply_count=42)
    await User.filter(id=post.author_id).update(published_post_count=0)
    await Tally.filter(name="posts.PUBLISHED").update(n=1)
    await Tally.filter(name="users.MEMBER").delete()
    await Tag.filter(name="playlists").update(post_count=0)
    await Tag.filter(name="android").update(published_post_count=77)
    found = await recount_all(fix=False)
    assert {name: n for name, n in found.items() if n} == {
        "tallies.posts": 1, "tallies.users": 1, "boards.post_count": 1, "boards.published_post_count": 1,
        "faq_categories.published_faq_count": 1, "issues.update_count": 1, "posts.reply_count": 1,
        "users.published_post_count": 1, "tags.post_count": 1, "tags.published_post_count": 1,
    }
    assert await recount_all() == found
    assert not any((await recount_all(fix=False)).values())
    assert (await Board.get(id=board.pk)).post_count == await Post.filter(board_id=board.pk).count()
    assert (await Tally.get(name="users.MEMBER")).n == await User.filter(role=Role.MEMBER).count()
    assert (await Tag.get(name="android")).published_post_count == await Post.filter(
        tag_rows__tag__name="android", status=PostStatus.PUBLISHED).count()


def test_the_migration_holds_the_counted_description() -> None:
    from importlib import import_module

    migration = import_module("models.migrations.0003_counters")
    # The triggers 0003 creates count what the code reads; a change to COUNTED needs a migration.
    assert migration.COUNTED == COUNTED
    # 0004 holds the link triggers' SQL itself, frozen: the generator must still produce it (a
    # change to COUNTED_LINKS or to its SQL needs a migration replacing those triggers).
    tags = import_module("models.migrations.0004_tag_counters")
    for dialect in ("sqlite", "postgres"):
        assert tags.CREATE[dialect] == counted.create_link_triggers_sql(dialect)
        assert tags.DROP[dialect] == counted.drop_link_triggers_sql(dialect)
    assert tags.RECOUNT == [sql for _, sql in counted.recount_links_sql()]


async def test_the_database_has_every_counting_trigger(db: str) -> None:
    from tortoise import Tortoise

    connection = Tortoise.get_connection("default")
    if BACKEND == "postgres":
        rows = await connection.execute_query_dict(
            "SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'")
    else:
        rows = await connection.execute_query_dict("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    expected = {f"{spec.table}_counters_{event}" for spec in COUNTED for event in ("insert", "update", "delete")}
    expected |= {name for link in COUNTED_LINKS for name in link.trigger_names().values()}
    # A later migration that rebuilds a counted table (SQLite's way to alter a column) drops its
    # triggers with it: it must create them again (counted.create_triggers_sql for that table).
    assert expected <= {row["name"] for row in rows}


# Rows of every counted kind, in the schema of migration 0002 (before any counter).
ROWS_AT_0002 = """
INSERT INTO users (id, handle, display_name, role, bio, created_at) VALUES
 (1, 'u1', 'U1', 'MEMBER', '', '2025-01-01 00:00:00+00:00'), (2, 'u2', 'U2', 'STAR', '', '2025-01-01 00:00:00+00:00'),
 (3, 'u3', 'U3', 'STAR', '', '2025-01-01 00:00:00+00:00'), (4, 'u4', 'U4', 'MODERATOR', '', '2025-01-01 00:00:00+00:00');
INSERT INTO boards (id, slug, name, description, position) VALUES (1, 'b1', 'B1', '', 0), (2, 'b2', 'B2', '', 1), (3, 'b3', 'B3', '', 2);
INSERT INTO posts (id, slug, title, excerpt, body, status, locked, pinned, created_at, kudos_count, reply_count, author_id, board_id)
VALUES (1, 'p1', 'P', '', 'b', 'PUBLISHED', FALSE, FALSE, '2025-01-01 00:00:00+00:00', 0, 0, 1, 1),
 (2, 'p2', 'P', '', 'b', 'PUBLISHED', FALSE, FALSE, '2025-01-01 00:00:00+00:00', 0, 0, 2, 1),
 (3, 'p3', 'P', '', 'b', 'HIDDEN', FALSE, FALSE, '2025-01-01 00:00:00+00:00', 0, 0, 1, 1),
 (4, 'p4', 'P', '', 'b', 'PENDING', FALSE, FALSE, '2025-01-01 00:00:00+00:00', 0, 0, 1, 2),
 (5, 'p5', 'P', '', 'b', 'PUBLISHED', FALSE, FALSE, '2025-01-01 00:00:00+00:00', 0, 0, 2, 2);
INSERT INTO tags (id, name) VALUES (1, 't1'), (2, 't2'), (3, 't3');
INSERT INTO post_tags (id, post_id, tag_id) VALUES (1, 1, 1), (2, 3, 1), (3, 4, 1), (4, 5, 2), (5, 1, 2);
INSERT INTO replies (id, body, status, created_at, author_id, post_id) VALUES
 (1, 'r', 'PUBLISHED', '2025-01-01 00:00:00+00:00', 1, 1), (2, 'r', 'PUBLISHED', '2025-01-01 00:00:00+00:00', 2, 1),
 (3, 'r', 'HIDDEN', '2025-01-01 00:00:00+00:00', 2, 1), (4, 'r', 'PUBLISHED', '2025-01-01 00:00:00+00:00', 1, 2);
INSERT INTO faq_categories (id, slug, name, description, position) VALUES (1, 'c1', 'C1', '', 0), (2, 'c2', 'C2', '', 1);
INSERT INTO faqs (id, slug, title, body, status, views, helpful_count, not_helpful_count, created_at, updated_at, category_id)
VALUES (1, 'f1', 'F', 'b', 'PUBLISHED', 0, 0, 0, '2025-01-01 00:00:00+00:00', '2025-01-01 00:00:00+00:00', 1),
 (2, 'f2', 'F', 'b', 'DRAFT', 0, 0, 0, '2025-01-01 00:00:00+00:00', '2025-01-01 00:00:00+00:00', 1),
 (3, 'f3', 'F', 'b', 'PUBLISHED', 0, 0, 0, '2025-01-01 00:00:00+00:00', '2025-01-01 00:00:00+00:00', 2);
INSERT INTO issues (id, number, title, description, status, affected_count, created_at, updated_at) VALUES
 (1, 1, 'I', 'd', 'RESOLVED', 0, '2025-01-01 00:00:00+00:00', '2025-01-01 00:00:00+00:00'),
 (2, 2, 'I', 'd', 'IDENTIFIED', 0, '2025-01-01 00:00:00+00:00', '2025-01-01 00:00:00+00:00');
INSERT INTO issue_updates (id, status, body, posted_at, issue_id) VALUES
 (1, 'INVESTIGATING', 'x', '2025-01-01 00:00:00+00:00', 1), (2, 'RESOLVED', 'x', '2025-01-01 00:00:00+00:00', 1),
 (3, 'IDENTIFIED', 'x', '2025-01-01 00:00:00+00:00', 2);
"""


# What the rows above make every counter, after 0003 and 0004 (`tags`).
EXPECTED_AFTER_0003 = {
    "tallies": {"faqs.DRAFT": 1, "faqs.PUBLISHED": 2, "issues.IDENTIFIED": 1, "issues.RESOLVED": 1, "posts.HIDDEN": 1,
                "posts.PENDING": 1, "posts.PUBLISHED": 3, "replies.HIDDEN": 1, "replies.PUBLISHED": 3,
                "users.MEMBER": 1, "users.MODERATOR": 1, "users.STAR": 2},
    "boards": [(1, 3, 2), (2, 2, 1), (3, 0, 0)],
    "users": [(1, 1), (2, 2), (3, 0), (4, 0)],
    "posts": [(1, 2), (2, 1), (3, 0), (4, 0), (5, 0)],
    "faq_categories": [(1, 2, 1), (2, 1, 1)],
    "issues": [(1, 2), (2, 1)],
    "tags": [(1, 3, 1), (2, 2, 2), (3, 0, 0)],
}
COUNTER_QUERIES = {
    "boards": "SELECT id, post_count, published_post_count FROM boards ORDER BY id",
    "users": "SELECT id, published_post_count FROM users ORDER BY id",
    "posts": "SELECT id, reply_count FROM posts ORDER BY id",
    "faq_categories": "SELECT id, faq_count, published_faq_count FROM faq_categories ORDER BY id",
    "issues": "SELECT id, update_count FROM issues ORDER BY id",
    "tags": "SELECT id, post_count, published_post_count FROM tags ORDER BY id",
}


async def test_migrations_0003_and_0004_count_the_rows_already_there(db: str, tmp_path: Path) -> None:
    """A database at 0002 with rows in it: migrating computes every counter from them, and the
    triggers count from there on (through the real commands, in processes of their own)."""
    if BACKEND == "postgres":
        import asyncpg

        from tests.conftest import _admin_dsn

        base = os.environ["TEST_POSTGRES_URL"]
        name = f"community_api_counters_{os.getpid()}"
        admin = await asyncpg.connect(_admin_dsn(base))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = base.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite://{tmp_path / 'at_0002.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}

    def run(*command: str) -> None:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    try:
        run(sys.executable, "-m", "tortoise", "-c", "models.db.TORTOISE_ORM", "migrate", "models",
            "0002_issue_subscriptions_by_user")
        await _execute_script(url, ROWS_AT_0002)
        run(sys.executable, "-m", "gql.cli", "migrate")
        assert await _counters(url) == EXPECTED_AFTER_0003
        # From here on the triggers count: a new published post on board 3 by user 3.
        await _execute_script(url, "INSERT INTO posts (id, slug, title, excerpt, body, status, locked, pinned, created_at,"
                                   " kudos_count, reply_count, author_id, board_id) VALUES (6, 'p6', 'P', '', 'b',"
                                   " 'PUBLISHED', FALSE, FALSE, '2025-01-01 00:00:00+00:00', 0, 0, 3, 3);")
        after = await _counters(url)
        assert after["tallies"]["posts.PUBLISHED"] == 4 and after["boards"][2] == (3, 1, 1) and after["users"][2] == (3, 1)
        # And the tags': a link added, a hidden post published, a published one deleted with its links.
        await _execute_script(url, "INSERT INTO post_tags (id, post_id, tag_id) VALUES (6, 6, 3);"
                                   " UPDATE posts SET status = 'PUBLISHED' WHERE id = 3; DELETE FROM posts WHERE id = 1;")
        assert (await _counters(url))["tags"] == [(1, 2, 1), (2, 1, 1), (3, 1, 1)]
        run(sys.executable, "-m", "gql.cli", "recount", "--check")
    finally:
        if BACKEND == "postgres":
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def _execute_script(url: str, script: str) -> None:
    if url.startswith("sqlite://"):
        import sqlite3

        connection = sqlite3.connect(url[len("sqlite://"):])
        try:
            connection.executescript(script)
            connection.commit()
        finally:
            connection.close()
        return
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(script)
    finally:
        await connection.close()


async def _counters(url: str) -> dict[str, Any]:
    queries = {"tallies": "SELECT name, n FROM tallies ORDER BY name", **COUNTER_QUERIES}
    if url.startswith("sqlite://"):
        import sqlite3

        connection = sqlite3.connect(url[len("sqlite://"):])
        try:
            found = {key: [tuple(row) for row in connection.execute(sql)] for key, sql in queries.items()}
        finally:
            connection.close()
    else:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            found = {key: [tuple(row) for row in await connection.fetch(sql)] for key, sql in queries.items()}
        finally:
            await connection.close()
    found["tallies"] = {name: n for name, n in found["tallies"] if n}
    return found


def test_triggers_are_generated_for_both_dialects() -> None:
    for dialect in ("sqlite", "postgres"):
        statements = counted.create_triggers_sql(dialect)
        assert sum("CREATE TRIGGER" in s for s in statements) == 3 * len(COUNTED)
        assert len(counted.drop_triggers_sql(dialect)) >= 3 * len(COUNTED)
        links = counted.create_link_triggers_sql(dialect)
        assert sum("CREATE TRIGGER" in s for s in links) == 5 * len(COUNTED_LINKS)
        assert len(counted.drop_link_triggers_sql(dialect)) >= 5 * len(COUNTED_LINKS)
