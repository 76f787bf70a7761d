"""Cheap requests that used to do a lot of work: every page reads only its own rows (keyset cursors:
however deep), a parent's long list is read a page at a time, and the time limit stops the database.

Work is measured by what was read (model instances built, SQL statements), never by seconds.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Iterator

import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.backends.base.executor import BaseExecutor

from gql.search import queries as search_queries
from gql.settings import Settings
from models import lean
from models.base import utcnow
from models.db import tortoise_config
from models.faqs import Faq
from models.issues import Issue, IssueUpdate
from models.posts import Post, Reply
from tests.conftest import client_for, settings_with
from tests.factories import make_board, make_faq, make_issue, make_post, make_user
from tests.support import GraphQLClient, count_sql

MARK = "zqxcheapslow"
REPLIES = 250  # more than the largest page (100)


def offset_cursor(offset: int) -> str:
    """A cursor as this API made them before keyset cursors."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


@contextmanager
def rows_built() -> Iterator[Counter[str]]:
    """How many model instances each SELECT built, per model: Tortoise's own executor builds
    them for awaited QuerySets, `models.lean` for the read path's."""
    built: Counter[str] = Counter()
    original_select, original_lean = BaseExecutor.execute_select, lean.build_rows

    async def counting(self: BaseExecutor, *args: Any, **kwargs: Any) -> list:
        rows = await original_select(self, *args, **kwargs)
        built[self.model.__name__] += len(rows)
        return rows

    def counting_lean(model: Any, records: list) -> list:
        built[model.__name__] += len(records)
        return original_lean(model, records)

    BaseExecutor.execute_select = counting  # type: ignore[method-assign]
    lean.build_rows = counting_lean  # type: ignore[assignment]
    try:
        yield built
    finally:
        BaseExecutor.execute_select = original_select  # type: ignore[method-assign]
        lean.build_rows = original_lean  # type: ignore[assignment]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def content(db: str) -> dict[str, Any]:
    """Searchable rows of every kind (oldest first), and a post with a thread longer than a page."""
    author = await make_user("cheap")
    board = await make_board("cheap")
    now = utcnow()
    made: list[Any] = []
    for i in range(4):
        when = now - timedelta(days=3000 - i * 3)
        made.append(await make_post(author, board, title=f"{MARK} post {i}", created_at=when, published_at=when))
        faq = await make_faq()
        await Faq.filter(pk=faq.pk).update(title=f"{MARK} faq {i}", updated_at=when + timedelta(days=1))
        issue = await make_issue()
        await Issue.filter(pk=issue.pk).update(title=f"{MARK} issue {i}", updated_at=when + timedelta(days=2))
        made += [faq, issue]
    thread = await make_post(author, board, title="A long thread", created_at=now - timedelta(days=2999))
    await Reply.bulk_create([Reply(post=thread, author=author, body=f"reply {i:03}", created_at=now - timedelta(minutes=REPLIES - i))
                             for i in range(REPLIES)])
    timeline = await make_issue()
    await IssueUpdate.bulk_create([IssueUpdate(issue=timeline, status=timeline.status, body=f"update {i:03}",
                                               posted_at=now - timedelta(minutes=REPLIES - i)) for i in range(REPLIES)])
    yield {"thread": thread, "timeline": timeline}
    await Reply.filter(post_id=thread.pk).delete()
    await IssueUpdate.filter(issue_id=timeline.pk).delete()
    await Post.filter(author_id=author.pk).delete()
    await Faq.filter(title__startswith=MARK).delete()
    await Issue.filter(title__startswith=MARK).delete()
    await Issue.filter(pk=timeline.pk).delete()


SEARCH = """query($first: Int, $after: String, $last: Int, $before: String, $types: [SearchType!]) {
  search(query: "%s", types: $types, first: $first, after: $after, last: $last, before: $before, orderBy: NEWEST) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { __typename ... on Faq { title } ... on Issue { title } ... on Post { title } }
  }
}""" % MARK


def titles(connection: dict[str, Any]) -> list[str]:
    return [node["title"] for node in connection["nodes"]]


# 1. No page needs more than its rows, whatever `last`, `after` or `before` say.

async def test_search_last_reads_the_tail_from_the_oldest_end(module_client: GraphQLClient, content: dict) -> None:
    everything = (await module_client.query(SEARCH, {"first": 100}))["search"]
    assert everything["totalCount"] == 12
    with rows_built() as built:
        tail = (await module_client.query(SEARCH, {"last": 1}))["search"]
    assert titles(tail) == titles(everything)[-1:] == [f"{MARK} post 0"]
    # At most `last` rows of each kind (and one more, for hasPreviousPage), however many match.
    assert sum(built.values()) <= 3 * 2
    assert tail["pageInfo"]["hasPreviousPage"] is True and tail["pageInfo"]["hasNextPage"] is False
    after_tail = (await module_client.query(SEARCH, {"first": 5, "after": tail["pageInfo"]["startCursor"]}))["search"]
    assert titles(after_tail) == [] and after_tail["pageInfo"]["hasNextPage"] is False
    with rows_built() as built:
        tail = (await module_client.query(SEARCH, {"last": 5}))["search"]
    assert titles(tail) == titles(everything)[-5:]
    assert sum(built.values()) <= 3 * 6


async def test_search_pages_backwards_and_forwards_agree(module_client: GraphQLClient, content: dict) -> None:
    everything = titles((await module_client.query(SEARCH, {"first": 100}))["search"])
    seen: list[str] = []
    before = None
    while True:
        page = (await module_client.query(SEARCH, {"last": 5, "before": before}))["search"]
        seen = titles(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == everything
    # A deeper forward page reads no row before it: at most its size plus one of each kind.
    seventh = (await module_client.query(SEARCH, {"first": 7}))["search"]["pageInfo"]["endCursor"]
    with rows_built() as built:
        page = (await module_client.query(SEARCH, {"first": 2, "after": seventh}))["search"]
    assert titles(page) == everything[7:9]
    assert sum(built.values()) <= 3 * 3


async def test_last_on_a_queryset_reads_the_reversed_tail(module_client: GraphQLClient, content: dict) -> None:
    query = "query($last: Int) { posts(last: $last) { totalCount pageInfo { startCursor hasPreviousPage } nodes { id } } }"
    everything = (await module_client.query("{ posts(first: 100) { totalCount nodes { id } } }"))["posts"]
    with rows_built() as built, count_sql() as sql:
        tail = (await module_client.query(query, {"last": 2}))["posts"]
    if everything["totalCount"] <= 100:
        assert tail["nodes"] == everything["nodes"][-2:]
    assert built["Post"] == 3  # the tail and the one row that says a previous page exists
    # The counter for totalCount and the tail: no more (no COUNT for offsets any longer).
    selects = [s for s in sql.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects
    assert tail["pageInfo"]["hasPreviousPage"] is (everything["totalCount"] > 2)


@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize("offset", [0, 10_001, 2**63, 2**64 + 5])
async def test_offset_cursors_of_old_are_refused_before_any_sql(module_client: GraphQLClient, content: dict,
                                                               argument: str, offset: int) -> None:
    slug = content["thread"].slug
    for field in (f'search(query: "e", first: 100, {argument}: "{offset_cursor(offset)}")',
                  f'posts(first: 100, {argument}: "{offset_cursor(offset)}")',
                  f'post(slug: "{slug}") {{ replies({argument}: "{offset_cursor(offset)}") {{ totalCount }} }}'):
        selection = field if field.startswith("post(") else field + " { totalCount }"
        with count_sql() as sql:
            errors = await module_client.errors("{ %s }" % selection)
        assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, errors
        if not field.startswith("post("):
            assert sql.count == 0, sql.statements


# 2. A parent's long list is read a page at a time, for a whole page of parents at once.

THREAD = """query($slug: String!, $first: Int, $after: String, $last: Int, $before: String) {
  post(slug: $slug) { replies(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { body } } }
}"""


async def test_a_thread_is_read_one_page_at_a_time(module_client: GraphQLClient, content: dict) -> None:
    slug = content["thread"].slug

    async def page(**args: Any) -> tuple[dict[str, Any], Counter[str]]:
        with rows_built() as built:
            found = (await module_client.query(THREAD, {"slug": slug, **args}))["post"]["replies"]
        return found, built

    first, built = await page(first=1)
    assert [n["body"] for n in first["nodes"]] == ["reply 000"]
    assert first["totalCount"] == REPLIES and first["pageInfo"]["hasNextPage"] is True
    assert built["Reply"] == 2  # the page and the one row that says a next page exists

    hundredth, _ = await page(first=100)
    two_hundredth, _ = await page(first=100, after=hundredth["pageInfo"]["endCursor"])
    deep, built = await page(first=3, after=two_hundredth["pageInfo"]["endCursor"])
    assert [n["body"] for n in deep["nodes"]] == ["reply 200", "reply 201", "reply 202"]
    assert built["Reply"] == 4  # however deep: no row before the cursor is read

    tail, built = await page(last=2)
    assert [n["body"] for n in tail["nodes"]] == ["reply 248", "reply 249"]
    assert tail["pageInfo"]["hasNextPage"] is False and tail["pageInfo"]["hasPreviousPage"] is True
    assert built["Reply"] == 3  # the tail and the one row that says a previous page exists

    eleventh, _ = await page(first=11)
    before, built = await page(last=2, before=eleventh["pageInfo"]["endCursor"])
    assert [n["body"] for n in before["nodes"]] == ["reply 008", "reply 009"]
    assert built["Reply"] <= 3

    whole: list[str] = []
    after = None
    while True:
        found, built = await page(first=100, after=after)
        assert built["Reply"] <= 101
        whole += [n["body"] for n in found["nodes"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert whole == [f"reply {i:03}" for i in range(REPLIES)]


async def test_a_page_of_posts_reads_one_window_of_replies_for_all(module_client: GraphQLClient, content: dict) -> None:
    query = "{ posts(first: 100) { nodes { title replies(first: 1) { totalCount nodes { body } } } } }"
    with rows_built() as built, count_sql() as sql:
        posts = (await module_client.query(query))["posts"]["nodes"]
    thread = next(p for p in posts if p["title"] == "A long thread")
    assert thread["replies"] == {"totalCount": REPLIES, "nodes": [{"body": "reply 000"}]}
    assert built["Reply"] <= 2 * len(posts)
    assert sum("ROW_NUMBER" in s for s in sql.statements) == 1
    # Replies in one statement, their counts in one: the page of posts does not multiply them.
    with count_sql() as without:
        await module_client.query("{ posts(first: 100) { nodes { title } } }")
    assert sql.count == without.count + 2


async def test_issue_timelines_are_read_one_page_at_a_time(module_client: GraphQLClient, content: dict) -> None:
    number = content["timeline"].number
    query = "query($n: Int!) { issue(number: $n) { updates(first: 2) { totalCount nodes { body } } } }"
    with rows_built() as built:
        updates = (await module_client.query(query, {"n": number}))["issue"]["updates"]
    assert updates == {"totalCount": REPLIES, "nodes": [{"body": "update 249"}, {"body": "update 248"}]}
    assert built["IssueUpdate"] == 3
    many = "{ ongoingIssues(first: 100) { nodes { number updates(last: 1) { nodes { body } } } } }"
    with rows_built() as built, count_sql() as sql:
        issues = (await module_client.query(many))["ongoingIssues"]["nodes"]
    mine = next(issue for issue in issues if issue["number"] == number)
    assert mine["updates"]["nodes"] == [{"body": "update 000"}]
    assert built["IssueUpdate"] <= 2 * len(issues)  # `last: 1` and the row that says more precede
    assert sum("ROW_NUMBER" in s for s in sql.statements) == 1


# 4. Search counts once per kind, each kind once.

async def test_search_types_are_searched_once_each(module_client: GraphQLClient, content: dict) -> None:
    once = "{ search(query: \"%s\", types: [POST], first: 5) { totalCount nodes { __typename } } }" % MARK
    repeated = "{ search(query: \"%s\", types: [%s], first: 5) { totalCount nodes { __typename } } }" % (
        MARK, ", ".join(["POST"] * 50))
    with count_sql() as single:
        expected = await module_client.query(once)
    with count_sql() as many:
        assert await module_client.query(repeated) == expected
    assert many.count == single.count == 1  # the rows, counted as they are ranked (models/search.py)


async def test_search_total_count_is_one_count_per_kind(module_client: GraphQLClient, content: dict) -> None:
    with count_sql() as sql:
        found = (await module_client.query('{ search(query: "%s", first: 0) { totalCount } }' % MARK))["search"]
    assert found["totalCount"] == 12
    assert sum("COUNT(" in s.upper() for s in sql.statements) == 3


# 3. The time limit stops the work, not just the answer.

HEAVY = {
    # Would run for many minutes if nothing stopped it.
    "sqlite": "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000000000) "
              "SELECT COUNT(*) FROM n",
    "postgres": "SELECT pg_sleep(600), 'cheap-and-slow-probe'",
}


async def _running_probes() -> int:
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%cheap-and-slow-probe%' "
        "AND pid <> pg_backend_pid()")
    return int(rows[0]["n"])


async def test_a_timed_out_request_stops_its_statement(db: str, content: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = Tortoise.get_connection("default")
    started = asyncio.Event()

    async def heavy_count(self: Any) -> int:
        started.set()
        await connection.execute_query(HEAVY[db])
        return 0

    monkeypatch.setattr(search_queries.SearchSource, "count", heavy_count)
    stopped_before = connection.guard.stopped_cancelled if db == "sqlite" else 0
    async with client_for(settings_with(request_timeout_seconds=1, rate_limit_enabled=False)) as client:
        response = await client.post('{ search(query: "e", first: 1) { totalCount } }')
        assert response.status_code == 504
        assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
        assert started.is_set()
        monkeypatch.undo()
        # The database is free for the next request (a bounded wait, not a measured duration).
        served = await asyncio.wait_for(client.query("{ announcements(first: 1) { totalCount } }"), timeout=30)
        assert served["announcements"]["totalCount"] >= 0
    if db == "sqlite":
        # SQLite's progress handler stopped the statement because its request was cancelled.
        assert connection.guard.stopped_cancelled > stopped_before
    else:
        # asyncpg sent PostgreSQL a cancel request when the awaiting task was cancelled.
        for _ in range(50):
            if await _running_probes() == 0:
                break
            await asyncio.sleep(0.1)
        assert await _running_probes() == 0


async def test_postgres_connections_carry_a_statement_timeout(db: str) -> None:
    if db != "postgres":
        pytest.skip("PostgreSQL's statement_timeout")
    rows = await Tortoise.get_connection("default").execute_query_dict("SHOW statement_timeout")
    # The request time limit, as the session's ORM was configured like the server's.
    assert rows[0]["statement_timeout"] == f"{Settings().request_timeout_seconds}s"


def test_the_postgres_pool_is_sized_by_the_setting_unless_the_url_says() -> None:
    # 50 concurrent requests queued for Tortoise's default pool of 5 (p99 over 4x p50 in bench/).
    def pool(url: str, size: int) -> object:
        return tortoise_config(url, pool_size=size)["connections"]["default"]["credentials"].get("maxsize")

    assert pool("postgres://u@h:5432/db", Settings().database_pool_size) == Settings().database_pool_size == 10
    assert pool("postgres://u@h:5432/db?maxsize=3", 10) == "3"  # as the URL said it
    assert pool("postgres://u@h:5432/db", 0) is None  # Tortoise's default
    assert pool("sqlite://:memory:", 10) is None  # one connection, no pool


async def test_sqlite_statements_stop_at_their_deadline(tmp_path: Any, db: str) -> None:
    if db != "sqlite":
        pytest.skip("SQLite's statement deadline (PostgreSQL has statement_timeout)")
    from tortoise.exceptions import OperationalError

    from models.sqlite_client import InterruptibleSqliteClient

    client = InterruptibleSqliteClient(str(tmp_path / "deadline.sqlite3"), connection_name="deadline",
                                       statement_timeout=0.2)
    await client.create_connection(with_db=True)
    try:
        with pytest.raises(OperationalError, match="interrupted"):
            await client.execute_query(HEAVY["sqlite"])
        assert client.guard is not None and client.guard.stopped_timed_out == 1
        # The connection serves the next statement.
        assert (await client.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]
    finally:
        await client.close()


async def test_a_connection_asked_only_for_its_total_reads_no_page(module_client: GraphQLClient) -> None:
    with count_sql() as sql:
        total = (await module_client.query("{ posts { totalCount } }"))["posts"]["totalCount"]
    assert total > 0 and sql.statements  # executed (not a cached answer): the counter was read
    assert not [statement for statement in sql.statements if 'FROM "posts"' in statement], sql.statements
    # Rows asked for through a fragment (or pageInfo) are still read.
    fragment = "{ posts { totalCount ...Page } } fragment Page on PostConnection { pageInfo { hasNextPage } }"
    with count_sql() as sql:
        await module_client.query(fragment)
    assert [statement for statement in sql.statements if 'FROM "posts"' in statement]
