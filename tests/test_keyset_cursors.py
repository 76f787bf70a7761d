"""Keyset cursors: pages stay right while the list changes between them, and any cursor not made by
this connection and order (malformed, truncated, foreign, of another version) is refused before SQL.

What is guaranteed: paging through a list (forward with first/after, or backward with last/before),
every item that existed throughout and whose sort keys did not change is shown exactly once, in
the list's order, whatever was inserted, deleted or moved meanwhile. An item whose keys changed
(a counter: affectedCount, views) is shown where it stands when the page covering that place is
read: it may be shown twice (before and after it moved) or not at all. The oracle here is the
ORM, reading the same order straight from the database.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from tortoise.queryset import QuerySet

from gql.core.relay import from_global_id
from models.accounts import Role, User
from models.base import utcnow
from models.faqs import Faq, FaqStatus
from models.issues import OPEN_STATUSES, Issue, IssueUpdate
from models.posts import Board, Post, PostStatus, Reply
from models.stars import star_members
from tests.conftest import client_for, settings_with
from tests.factories import gid, make_board, make_faq, make_issue, make_post, make_user, token_for
from tests.support import GraphQLClient, count_sql

Fetch = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Step = Callable[[], Awaitable[None]]

PAGE_ARGUMENTS = "first: $first, after: $after, last: $last, before: $before"
VARIABLES = "$first: Int, $after: String, $last: Int, $before: String"
SELECTION = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { ... on Node { id } }"


# What the module creates, deleted when it ends (children first), so that later modules find the
# lists' first pages as the seed left them. Only rows made here are ever changed or deleted.
MADE_HERE = (Reply, Post, IssueUpdate, Issue, Faq, Board, User)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: str) -> AsyncIterator[GraphQLClient]:
    highest = {model: max(await model.all().order_by("-id").limit(1).values_list("id", flat=True), default=0)
               for model in MADE_HERE}
    # Rows change behind the API's back (through the ORM): no response may come from the cache.
    async with client_for(settings_with(rate_limit_enabled=False, response_cache_enabled=False)) as client:
        yield client
    for model in MADE_HERE:
        await model.filter(id__gt=highest[model]).delete()


def top_level(client: GraphQLClient, field: str, arguments: str = "", token: str | None = None) -> Fetch:
    """Pages of the root field `field(arguments…)`."""
    extra = f", {arguments}" if arguments else ""
    query = f"query({VARIABLES}) {{ {field}({PAGE_ARGUMENTS}{extra}) {{ {SELECTION} }} }}"

    async def fetch(variables: dict[str, Any]) -> dict[str, Any]:
        return (await client.query(query, variables, token=token))[field]

    return fetch


def issue_updates(client: GraphQLClient, number: int) -> Fetch:
    query = f"query($n: Int!, {VARIABLES}) {{ issue(number: $n) {{ updates({PAGE_ARGUMENTS}) {{ {SELECTION} }} }} }}"

    async def fetch(variables: dict[str, Any]) -> dict[str, Any]:
        return (await client.query(query, {"n": number, **variables}))["issue"]["updates"]

    return fetch


def replies(client: GraphQLClient, slug: str) -> Fetch:
    query = f"query($s: String!, {VARIABLES}) {{ post(slug: $s) {{ replies({PAGE_ARGUMENTS}) {{ {SELECTION} }} }} }}"

    async def fetch(variables: dict[str, Any]) -> dict[str, Any]:
        return (await client.query(query, {"s": slug, **variables}))["post"]["replies"]

    return fetch


async def walk(fetch: Fetch, size: int, between: list[Step] = (), backward: bool = False) -> list[str]:  # type: ignore[assignment]
    """Every page of a list, from its start (or its end, `backward`), running `between[n]` after
    page n; the IDs shown, in list order."""
    shown: list[str] = []
    cursor = None
    for page_number in range(1000):
        page = await fetch({"last": size, "before": cursor} if backward else {"first": size, "after": cursor})
        ids = [node["id"] for node in page["nodes"]]
        assert len(ids) <= size
        shown = ids + shown if backward else shown + ids
        if page_number < len(between):
            await between[page_number]()
        info = page["pageInfo"]
        if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
            return shown
        cursor = info["startCursor"] if backward else info["endCursor"]
    raise AssertionError("the pages never ended")


async def listed(queryset: QuerySet[Any]) -> list[str]:
    """The list as the database orders it now: the oracle."""
    return [gid(row) for row in await queryset]


def assert_unmoved_items_shown_once(shown: list[str], before: list[str], after: list[str], moved: set[str]) -> None:
    """Every item listed before and after the walk whose keys did not change is shown exactly once,
    in list order; nothing is shown more than twice."""
    unmoved = set(before) & set(after) - moved
    assert len(unmoved) >= 6, "the walk must cover items on both sides of the changes"
    assert [item for item in shown if item in unmoved] == [item for item in after if item in unmoved]
    assert all(shown.count(item) <= 2 for item in shown)
    if not moved:
        assert len(shown) == len(set(shown)), "nothing moved: nothing may be shown twice"


def pk(global_id: str) -> int:
    return from_global_id(global_id)[1]


def open_issues(order: tuple[str, ...]) -> QuerySet[Issue]:
    return Issue.filter(status__in=OPEN_STATUSES).order_by(*order)


async def new_issue(**columns: Any) -> Issue:
    issue = await make_issue()
    if columns:
        await Issue.filter(pk=issue.pk).update(**columns)
    return issue


# 1. Forward and backward through lists that change between pages.

async def test_newest_issues_neither_repeat_nor_skip_while_issues_come_and_go(api: GraphQLClient) -> None:
    # The issue's report: page 1 of NEWEST, a moderator creates an issue, page 2 repeated #1002.
    # Issues of this test's own at both ends of the list, the only ones it deletes.
    order = ("-created_at", "-id")
    soon, long_ago = utcnow() + timedelta(hours=1), utcnow() - timedelta(days=20000)
    for n in range(6):
        await new_issue(created_at=soon + timedelta(minutes=n))
        await new_issue(created_at=long_ago - timedelta(minutes=n))
    before = await listed(open_issues(order))
    made: list[Issue] = []

    async def insert_on_both_sides() -> None:
        made.append(await new_issue(created_at=soon + timedelta(days=1)))  # the newest: before the cursor
        made.append(await new_issue(created_at=long_ago - timedelta(days=1)))  # the oldest: after it

    async def delete_on_both_sides() -> None:
        await Issue.filter(pk__in=[pk(before[1]), pk(before[-2])]).delete()

    shown = await walk(top_level(api, "ongoingIssues", "orderBy: NEWEST"), 3,
                       [insert_on_both_sides, delete_on_both_sides])
    after = await listed(open_issues(order))
    assert_unmoved_items_shown_once(shown, before, after, moved=set())
    assert gid(made[1]) in shown and gid(made[0]) not in shown
    assert before[1] in shown and before[-2] not in shown


async def test_most_affected_issues_skip_and_repeat_only_what_moved(api: GraphQLClient) -> None:
    order = ("-affected_count", "-id")
    for count in range(6):
        await new_issue(affected_count=10**7 + count)  # the top of the list: this test's own
    before = await listed(open_issues(order))
    moved: set[str] = set()

    async def change_counters() -> None:
        # One item already shown drops toward the end; one not yet shown jumps to the top.
        seen, unseen = before[0], before[4]
        await Issue.filter(pk=pk(seen)).update(affected_count=0)
        await Issue.filter(pk=pk(unseen)).update(affected_count=10**8)
        moved.update({seen, unseen})
        await new_issue(affected_count=10**8 + 1)
        await new_issue(affected_count=0)

    shown = await walk(top_level(api, "ongoingIssues", "orderBy: MOST_AFFECTED"), 3, [change_counters])
    after = await listed(open_issues(order))
    assert_unmoved_items_shown_once(shown, before, after, moved)
    assert shown.count(before[0]) == 2 and before[4] not in shown


async def test_faqs_by_views_mixed_directions_under_changing_counters(api: GraphQLClient) -> None:
    # POPULAR is views descending, then id ascending: a row-value comparison in two directions.
    order = ("-views", "id")
    for views in (9, 9, 9, 8, 8, 7, 7):
        faq = await make_faq()
        await Faq.filter(pk=faq.pk).update(views=10**8 + views)  # the top of the list: this test's own
    published = Faq.filter(status=FaqStatus.PUBLISHED)
    before = await listed(published.order_by(*order))
    moved: set[str] = set()

    async def change_views_and_delete() -> None:
        seen, unseen = before[1], before[3]
        await Faq.filter(pk=pk(seen)).update(views=0)
        await Faq.filter(pk=pk(unseen)).update(views=10**9)
        moved.update({seen, unseen})
        await Faq.filter(pk__in=[pk(before[0]), pk(before[5])]).delete()
        extra = await make_faq()
        await Faq.filter(pk=extra.pk).update(views=10**8 + 8)

    shown = await walk(top_level(api, "faqs", "orderBy: POPULAR"), 2, [change_views_and_delete])
    after = await listed(published.order_by(*order))
    assert_unmoved_items_shown_once(shown, before, after, moved)
    assert before[5] not in shown and before[3] not in shown and shown.count(before[1]) == 2


async def test_posts_newest_first_forward_and_backward(api: GraphQLClient) -> None:
    author, board = await make_user("keyset"), await make_board("keyset")
    # Posts of this test's own at both ends of the list, the only ones it deletes.
    soon, long_ago = utcnow() + timedelta(hours=1), utcnow() - timedelta(days=20000)
    for n in range(10):
        for when in (soon + timedelta(minutes=n), long_ago - timedelta(minutes=n)):
            await make_post(author, board, created_at=when, published_at=when)
    order = ("-published_at", "-id")
    published = Post.filter(status=PostStatus.PUBLISHED)
    for backward in (False, True):
        before = await listed(published.order_by(*order))

        async def insert_on_both_sides() -> None:
            for when in (soon + timedelta(days=1), long_ago - timedelta(days=1)):
                await make_post(author, board, created_at=when, published_at=when)

        async def delete_on_both_sides() -> None:
            await Post.filter(pk__in=[pk(before[2]), pk(before[-3])]).delete()

        shown = await walk(top_level(api, "posts"), 5, [insert_on_both_sides, delete_on_both_sides], backward)
        after = await listed(published.order_by(*order))
        assert_unmoved_items_shown_once(shown, before, after, moved=set())


async def test_an_issue_timeline_pages_by_keys_both_ways(api: GraphQLClient) -> None:
    issue = await make_issue()
    start = utcnow() - timedelta(days=1)
    await IssueUpdate.bulk_create([IssueUpdate(issue=issue, status=issue.status, body=f"u{i}",
                                               posted_at=start + timedelta(minutes=i)) for i in range(12)])
    timeline = IssueUpdate.filter(issue_id=issue.pk).order_by("-posted_at", "-id")
    for backward in (False, True):
        before = await listed(timeline)

        async def insert_and_delete() -> None:
            await IssueUpdate.create(issue=issue, status=issue.status, body="new", posted_at=utcnow())
            await IssueUpdate.create(issue=issue, status=issue.status, body="old", posted_at=start - timedelta(days=9))
            await IssueUpdate.filter(pk__in=[pk(before[4]), pk(before[-5])]).delete()

        shown = await walk(issue_updates(api, issue.number), 3, [insert_and_delete], backward)
        assert_unmoved_items_shown_once(shown, before, await listed(timeline), moved=set())


async def test_a_thread_pages_backward_as_forward(api: GraphQLClient) -> None:
    author, board = await make_user("keyset"), await make_board("keyset")
    thread = await make_post(author, board)
    start = utcnow() - timedelta(hours=1)
    # Equal times: the id alone orders them, the tie-break every order ends with.
    await Reply.bulk_create([Reply(post=thread, author=author, body=f"r{i}", created_at=start + timedelta(minutes=i // 3))
                             for i in range(10)])
    expected = await listed(Reply.filter(post_id=thread.pk).order_by("created_at", "id"))
    assert await walk(replies(api, thread.slug), 3) == expected
    assert await walk(replies(api, thread.slug), 3, backward=True) == expected


async def test_stars_page_by_a_joined_key(api: GraphQLClient) -> None:
    # Ordered by their profile's star_since (a LEFT JOIN) then id; several join at the same moment.
    for _ in range(5):
        await make_user("keyset", Role.STAR)
    expected = await listed(star_members())
    assert await walk(top_level(api, "stars"), 2) == expected
    assert await walk(top_level(api, "stars"), 2, backward=True) == expected


async def test_null_sort_keys_sit_where_the_database_puts_them(api: GraphQLClient) -> None:
    # Staff see drafts, whose published_at is NULL: PostgreSQL lists them first (newest first),
    # SQLite last; the pages follow the database either way.
    moderator = await make_user("keyset", Role.MODERATOR)
    token = await token_for(moderator)
    author, board = await make_user("keyset"), await make_board("keyset")
    for _ in range(4):
        await make_post(author, board, status=PostStatus.PENDING)
    expected = await listed(Post.all().order_by("-published_at", "-id"))
    assert await walk(top_level(api, "posts", token=token), 7) == expected
    assert await walk(top_level(api, "posts", token=token), 7, backward=True) == expected


async def test_search_pages_by_date_id_and_kind(api: GraphQLClient) -> None:
    fetch = top_level(api, "search", 'query: "Test"')
    everything = await walk(fetch, 100)
    assert len(everything) > 10
    assert await walk(fetch, 4) == everything
    assert await walk(fetch, 4, backward=True) == everything


# 2. A deep page costs what the first does.

async def test_a_deep_page_reads_no_offset_and_costs_the_same_statements(api: GraphQLClient) -> None:
    fetch = top_level(api, "posts")
    deep = None
    for _ in range(3):
        deep = (await fetch({"first": 5, "after": deep}))["pageInfo"]["endCursor"]
    with count_sql() as first_page:
        await fetch({"first": 5})
    with count_sql() as deep_page:
        await fetch({"first": 5, "after": deep})
    assert deep_page.count == first_page.count
    assert not any("OFFSET" in statement.upper() for statement in deep_page.statements + first_page.statements)
    # The deep page starts an index range at the cursor: a bound on the leading key, or (where the
    # key's NULLs lie past the cursor, as on SQLite) the values' range and the NULLs' in one UNION.
    [deep_select] = [statement for statement in deep_page.statements if 'FROM "posts"' in statement]
    assert '"published_at"<=' in deep_select or "UNION ALL" in deep_select, deep_select


# 3. Cursors that are not this connection's are refused, before any SQL.

def _decoded(cursor: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _encoded(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def _end_cursor(client: GraphQLClient, field: str, arguments: str = "") -> str:
    page = await top_level(client, field, arguments)({"first": 2})
    return page["pageInfo"]["endCursor"]  # type: ignore[no-any-return]


async def _refused_without_sql(client: GraphQLClient, field: str, arguments: str, argument: str, cursor: str) -> str:
    query = "{ %s(%s%s: %s) { totalCount nodes { ... on Node { id } } } }" % (
        field, f"{arguments}, " if arguments else "", argument, json.dumps(cursor))
    with count_sql() as sql:
        errors = await client.errors(query)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
    assert errors[0]["extensions"]["argument"] == argument
    assert sql.count == 0, sql.statements
    return errors[0]["message"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("argument", ["after", "before"])
async def test_malformed_truncated_forged_and_old_cursors_are_refused(api: GraphQLClient, argument: str) -> None:
    good = await _end_cursor(api, "ongoingIssues", "orderBy: NEWEST")
    content = _decoded(good)
    wrong = [
        "%%%",
        "not-a-cursor",
        good[: len(good) // 2],  # truncated
        good + "x",
        base64.urlsafe_b64encode(b"offset:3").decode(),  # an offset cursor of old
        _encoded([1, content["o"], content["k"]]),
        _encoded({**content, "k": content["k"][:1]}),  # too few keys
        _encoded({**content, "k": ["yesterday", content["k"][1]]}),  # a key of the wrong type
        _encoded({**content, "k": [content["k"][0], 2**70]}),
        _encoded({**content, "k": [content["k"][0], 2**40]}),  # past the id column's 32 bits
        _encoded({**content, "k": [content["k"][0], True]}),
        _encoded({**content, "k": [None, content["k"][1]]}),  # NULL where the key cannot be
        _encoded({**content, "extra": 1}),
        "A" * 5000,
    ]
    for cursor in wrong:
        await _refused_without_sql(api, "ongoingIssues", "orderBy: NEWEST", argument, cursor)
    message = await _refused_without_sql(api, "ongoingIssues", "orderBy: NEWEST", argument,
                                         _encoded({**content, "v": 0}))
    assert "another version" in message


async def test_a_text_key_no_database_can_hold_is_refused_before_sql(api: GraphQLClient) -> None:
    """JSON can carry a lone surrogate or a NUL in a text key; no driver takes either, so such a
    cursor is forged: BAD_USER_INPUT like any other, not a failed statement and a traceback."""
    good = await _end_cursor(api, "faqs", "orderBy: TITLE")
    content = _decoded(good)
    assert isinstance(content["k"][0], str)
    for text in ("\ud800x", "a\u0000b"):
        cursor = _encoded({**content, "k": [text, *content["k"][1:]]})
        await _refused_without_sql(api, "faqs", "orderBy: TITLE", "after", cursor)


@pytest.mark.parametrize("argument", ["after", "before"])
async def test_foreign_cursors_are_refused(api: GraphQLClient, argument: str) -> None:
    newest = await _end_cursor(api, "ongoingIssues", "orderBy: NEWEST")
    posts = await _end_cursor(api, "posts")
    # Another order of the same list, and another list ordered alike (posts by date, newest first).
    for field, arguments, cursor in (("ongoingIssues", "orderBy: MOST_AFFECTED", newest),
                                     ("ongoingIssues", "orderBy: RECENTLY_UPDATED", newest),
                                     ("ongoingIssues", "", newest),
                                     ("faqs", "", newest),
                                     ("search", 'query: "e"', posts),
                                     ("announcements", "", posts)):
        message = await _refused_without_sql(api, field, arguments, argument, cursor)
        assert "another list or another order" in message
    # The cursor still works where it came from.
    await top_level(api, "ongoingIssues", "orderBy: NEWEST")({"first": 1, argument: newest})


async def test_a_nested_connection_refuses_another_connections_cursor_before_reading(api: GraphQLClient) -> None:
    issue = await make_issue()
    posts = await _end_cursor(api, "posts")
    query = "query($n: Int!, $c: String) { issue(number: $n) { updates(first: 2, after: $c) { nodes { id } } } }"
    with count_sql() as sql:
        errors = await api.errors(query, {"n": issue.number, "c": posts})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    assert not any("issue_updates" in statement for statement in sql.statements), sql.statements
