"""The response cache (gql/cache, models/touched.py) over real HTTP and a real database.

Every mutation family: read (MISS), read again (HIT, no SQL), write, read: the write shows. Once
in process, once with Redis and two server processes (the write through one, the read through
the other). And what is never cached: signed-in viewers, answers with errors, mutations,
subscriptions, `rateLimit`; the settings; TTL and size limits; hits still charged to the budget.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx
import orjson
import pytest
import pytest_asyncio
from tortoise import Tortoise

from gql.app import create_app
from gql.cache import responses
from gql.core.relay import global_id_of
from gql.http.transport import GraphQLHTTPEndpoint
from models.accounts import Role
from models.faqs import Faq
from models.issues import Issue, IssueStatus
from models.touched import ALL, changed_by, parse
from tests.conftest import client_for, settings_with
from tests.factories import gid, make_application, make_board, make_faq, make_issue, make_post, make_user, token_for
from tests.live_server import live_server
from tests.support import GraphQLClient, count_sql
from tests.ws_client import acknowledged, next_message, send_subscribe

Write = Callable[[GraphQLClient], Awaitable[None]]


@pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
async def leave_lists_as_found(leave_queues_as_found: None) -> AsyncIterator[None]:
    """Delete, when the module ends, the FAQs and issues it made (the posts and applications go
    with `leave_queues_as_found`): later modules page through every FAQ, issue and post."""
    made = (Faq, Issue)
    last_ids = [await model.all().order_by("-id").limit(1).values_list("id", flat=True) for model in made]
    yield
    for model, ids in zip(made, last_ids):
        await model.filter(id__gt=ids[0] if ids else 0).delete()


@dataclass
class Case:
    """One family's read (anonymous), the write that changes its answer, and how it shows."""

    read: str
    variables: dict[str, Any]
    write: Write
    shows: Callable[[dict[str, Any], dict[str, Any]], bool]


async def mutate(client: GraphQLClient, mutation: str, input: dict[str, Any], token: str) -> None:
    data = await client.query(mutation, {"input": input}, token=token)
    (payload,) = data.values()
    assert payload["userErrors"] == [], payload


def mutation(name: str, input_type: str, selection: str = "clientMutationId") -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} userErrors {{ code message }} }} }}"


POST_BY_SLUG = "query($slug: String!) { post(slug: $slug) { title kudosCount replyCount replies(first: 10) { nodes { body } } } }"
FAQ_BY_SLUG = "query($slug: String!) { faq(slug: $slug) { title helpfulCount notHelpfulCount } }"
ISSUE_BY_NUMBER = "query($n: Int!) { issue(number: $n) { status affectedCount updates(first: 1) { nodes { body } } } }"
USER_BY_ID = "query($id: ID!) { node(id: $id) { ... on User { role starSince } } }"


async def staff(role: Role = Role.MODERATOR) -> str:
    return await token_for(await make_user(f"cache_{role.value.lower()}", role))


async def someones_post() -> Any:
    return await make_post(await make_user("cache_author"), await make_board("cache"))


async def kudos() -> Case:
    post, giver = await someones_post(), await token_for(await make_user("cache_giver"))

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("giveKudo", "KudoInput"), {"postId": gid(post)}, giver)

    return Case(POST_BY_SLUG, {"slug": post.slug}, write,
                lambda before, after: after["post"]["kudosCount"] == before["post"]["kudosCount"] + 1)


async def replies() -> Case:
    post, writer, body = await someones_post(), await staff(), f"Reply {uuid.uuid4().hex}"

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("replyToPost", "ReplyToPostInput"), {"postId": gid(post), "body": body}, writer)

    return Case(POST_BY_SLUG, {"slug": post.slug}, write,
                lambda before, after: after["post"]["replyCount"] == before["post"]["replyCount"] + 1
                and body in [reply["body"] for reply in after["post"]["replies"]["nodes"]])


async def ratings() -> Case:
    faq, rater = await make_faq(), await token_for(await make_user("cache_rater"))

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("rateFaq", "RateFaqInput"), {"faqId": gid(faq), "helpful": True}, rater)

    return Case(FAQ_BY_SLUG, {"slug": faq.slug}, write,
                lambda before, after: after["faq"]["helpfulCount"] == before["faq"]["helpfulCount"] + 1)


async def affected_marks() -> Case:
    issue, member = await make_issue(), await token_for(await make_user("cache_affected"))

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("markIssueAffected", "IssueInput"), {"issueId": gid(issue)}, member)

    return Case(ISSUE_BY_NUMBER, {"n": issue.number}, write,
                lambda before, after: after["issue"]["affectedCount"] == before["issue"]["affectedCount"] + 1)


async def issue_updates() -> Case:
    issue, writer, body = await make_issue(IssueStatus.INVESTIGATING), await staff(), f"Found it {uuid.uuid4().hex}"

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("postIssueUpdate", "PostIssueUpdateInput"),
                     {"issueId": gid(issue), "status": "IDENTIFIED", "body": body}, writer)

    return Case(ISSUE_BY_NUMBER, {"n": issue.number}, write,
                lambda _, after: after["issue"]["status"] == "IDENTIFIED"
                and after["issue"]["updates"]["nodes"][0]["body"] == body)


async def faq_edits() -> Case:
    faq, editor, title = await make_faq(), await staff(), f"Edited {uuid.uuid4().hex[:8]}"

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("updateFaq", "UpdateFaqInput"), {"faqId": gid(faq), "title": title}, editor)

    return Case(FAQ_BY_SLUG, {"slug": faq.slug}, write, lambda _, after: after["faq"]["title"] == title)


async def moderation() -> Case:
    post, moderator = await someones_post(), await staff()

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("moderatePost", "ModeratePostInput"),
                     {"postId": gid(post), "action": "HIDE", "reason": "off topic"}, moderator)

    return Case(POST_BY_SLUG, {"slug": post.slug}, write,
                lambda before, after: before["post"] is not None and after["post"] is None)


async def applications() -> Case:
    applicant, reviewer = await make_user("cache_applicant"), await staff()
    application = await make_application(applicant)

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("reviewStarApplication", "ReviewStarApplicationInput"),
                     {"applicationId": global_id_of(application), "decision": "APPROVE"}, reviewer)

    return Case(USER_BY_ID, {"id": gid(applicant)}, write,
                lambda before, after: before["node"]["starSince"] is None and after["node"]["role"] == "STAR"
                and after["node"]["starSince"] is not None)


async def roles() -> Case:
    member, admin = await make_user("cache_promoted"), await staff(Role.ADMIN)

    async def write(client: GraphQLClient) -> None:
        await mutate(client, mutation("setUserRole", "SetUserRoleInput"),
                     {"userId": gid(member), "role": "MODERATOR", "reason": "helps a lot"}, admin)

    return Case(USER_BY_ID, {"id": gid(member)}, write,
                lambda before, after: before["node"]["role"] == "MEMBER" and after["node"]["role"] == "MODERATOR")


FAMILIES: dict[str, Callable[[], Awaitable[Case]]] = {
    "kudos": kudos,
    "replies": replies,
    "ratings": ratings,
    "affected marks": affected_marks,
    "issue updates": issue_updates,
    "FAQ edits": faq_edits,
    "moderation": moderation,
    "applications": applications,
    "roles": roles,
}


async def read(client: GraphQLClient, query: str, variables: dict[str, Any] | None = None,
               **options: Any) -> tuple[httpx.Response, int]:
    """An anonymous read that must succeed, and the SQL statements it cost this process."""
    with count_sql() as sql:
        response = await client.post(query, variables, **options)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response, sql.count


async def read_write_read(reader: GraphQLClient, writer: GraphQLClient, case: Case, *, in_process: bool) -> None:
    first, _ = await read(reader, case.read, case.variables)
    second, statements = await read(reader, case.read, case.variables)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert second.json()["data"] == first.json()["data"]
    if in_process:
        assert statements == 0
    await case.write(writer)
    after, _ = await read(reader, case.read, case.variables)
    assert after.headers["X-Cache"] == "MISS"
    assert case.shows(first.json()["data"], after.json()["data"]), (first.json()["data"], after.json()["data"])
    again, _ = await read(reader, case.read, case.variables)
    assert again.headers["X-Cache"] == "HIT" and again.json()["data"] == after.json()["data"]


@pytest.mark.parametrize("family", FAMILIES)
async def test_a_write_shows_in_the_next_read(client: GraphQLClient, family: str) -> None:
    case = await FAMILIES[family]()
    await read_write_read(client, client, case, in_process=True)


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    return url


@pytest.mark.slow
async def test_with_redis_a_write_through_one_server_shows_in_the_next_read_through_another(db: str, db_url: str) -> None:
    url = redis_url()
    cases = {family: await build() for family, build in FAMILIES.items()}
    env = {"REDIS_URL": url, "RATE_LIMIT_ENABLED": "false"}
    with live_server(db_url, **env) as one, live_server(db_url, **env) as other:
        async with httpx.AsyncClient(base_url=one) as to_one, httpx.AsyncClient(base_url=other) as to_other:
            for family, case in cases.items():
                await read_write_read(GraphQLClient(to_other), GraphQLClient(to_one), case, in_process=False)

            # A write over the WebSocket (through the other server) invalidates as well.
            post, giver = await someones_post(), await token_for(await make_user("cache_ws_giver"))
            before, _ = await read(GraphQLClient(to_one), POST_BY_SLUG, {"slug": post.slug})
            hit, _ = await read(GraphQLClient(to_one), POST_BY_SLUG, {"slug": post.slug})
            assert hit.headers["X-Cache"] == "HIT"
            async with acknowledged(other, giver) as socket:
                await send_subscribe(socket, "k", mutation("giveKudo", "KudoInput", "post { kudosCount }"),
                                     {"input": {"postId": gid(post)}})
                assert (await next_message(socket, "next"))["payload"]["data"]["giveKudo"]["post"]["kudosCount"] == 1
            after, _ = await read(GraphQLClient(to_one), POST_BY_SLUG, {"slug": post.slug})
            assert after.headers["X-Cache"] == "MISS"
            assert after.json()["data"]["post"]["kudosCount"] == before.json()["data"]["post"]["kudosCount"] + 1


@pytest.mark.slow
async def test_with_redis_a_cli_write_invalidates_the_servers(db: str, db_url: str) -> None:
    url = redis_url()
    query = "{ stars(last: 1) { totalCount nodes { handle } } }"
    with live_server(db_url, REDIS_URL=url, RATE_LIMIT_ENABLED="false") as base:
        async with httpx.AsyncClient(base_url=base) as http:
            server = GraphQLClient(http)
            before, _ = await read(server, query)
            hit, _ = await read(server, query)
            assert hit.headers["X-Cache"] == "HIT"
            handle = f"cli_star_{uuid.uuid4().hex[:8]}"
            await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "gql.cli", "user", "add", handle, "--role", "star",
                                 "--password", "a long enough password"],
                check=True, capture_output=True, env={**os.environ, "DATABASE_URL": db_url, "REDIS_URL": url})
            after, _ = await read(server, query)
    assert after.headers["X-Cache"] == "MISS"
    stars = after.json()["data"]["stars"]
    assert stars["nodes"] == [{"handle": handle}]
    assert stars["totalCount"] == before.json()["data"]["stars"]["totalCount"] + 1


LANDING = "{ viewer { isAuthenticated role } posts(first: 3) { nodes { slug viewerHasGivenKudo } } }"


async def test_a_signed_in_viewer_never_gets_a_cached_answer(client: GraphQLClient) -> None:
    anonymous, _ = await read(client, LANDING)
    hit, _ = await read(client, LANDING)
    assert (anonymous.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
    assert hit.json()["data"]["viewer"] == {"isAuthenticated": False, "role": None}
    newest = anonymous.json()["data"]["posts"]["nodes"][0]["slug"]
    token = await token_for(await make_user("cache_viewer"))
    await mutate(client, mutation("giveKudo", "KudoInput"), {"postId": await _post_gid(newest)}, token)
    for _ in range(2):
        signed_in, statements = await read(client, LANDING, token=token)
        assert "X-Cache" not in signed_in.headers and statements > 0
        data = signed_in.json()["data"]
        assert data["viewer"] == {"isAuthenticated": True, "role": "MEMBER"}
        assert data["posts"]["nodes"][0] == {"slug": newest, "viewerHasGivenKudo": True}
    # The anonymous answer was not touched by the signed-in reads (a kudo was written, though).
    anonymous_again, _ = await read(client, LANDING)
    assert anonymous_again.json()["data"]["posts"]["nodes"][0]["viewerHasGivenKudo"] is False


async def _post_gid(slug: str) -> str:
    from models.posts import Post

    return gid(await Post.get(slug=slug))


async def test_answers_with_errors_are_not_kept(client: GraphQLClient) -> None:
    query = '{ boards { slug } node(id: "not-a-global-id") { id } }'
    for _ in range(2):
        with count_sql() as sql:
            response = await client.post(query)
        assert response.status_code == 200 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert response.headers["X-Cache"] == "MISS" and sql.count > 0


async def test_mutations_subscriptions_and_rate_limit_are_never_cached(client: GraphQLClient) -> None:
    login = 'mutation { login(input: {handle: "nobody_here", password: "not the password"}) { token } }'
    for _ in range(2):
        response = await client.post(login)
        assert response.status_code == 200 and "X-Cache" not in response.headers
    subscription = await client.post("subscription { issueUpdated(number: 1001) { status } }")
    assert subscription.status_code == 400 and "X-Cache" not in subscription.headers
    for _ in range(2):
        budget, statements = await read(client, "{ rateLimit { cost } boards { slug } }")
        assert "X-Cache" not in budget.headers and statements > 0


async def test_websocket_queries_always_execute(db: str, db_url: str) -> None:
    from models.posts import Post

    post = await someones_post()
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with httpx.AsyncClient(base_url=base) as http:
            statuses = [(await read(GraphQLClient(http), POST_BY_SLUG, {"slug": post.slug}))[0].headers["X-Cache"]
                        for _ in range(2)]
            assert statuses == ["MISS", "HIT"]
            # Written by this process, which that server's in-process cache cannot hear of.
            await Post.filter(id=post.pk).update(title="Changed behind its back")
            async with acknowledged(base, None) as socket:
                await send_subscribe(socket, "q", POST_BY_SLUG, {"slug": post.slug})
                assert (await next_message(socket, "next"))["payload"]["data"]["post"]["title"] == "Changed behind its back"


@pytest.mark.uncached
async def test_response_cache_enabled_false_turns_it_off(client: GraphQLClient) -> None:
    for _ in range(2):
        response, statements = await read(client, "{ boards { slug } }")
        assert "X-Cache" not in response.headers and statements > 0


async def test_no_answer_is_kept_unless_the_app_listens_to_commits(db: str) -> None:
    # An app whose start-up never ran (mounted in another app, lifespan off) would hear of no
    # write: its cache stays out of the way rather than serve what nothing invalidates.
    app = create_app(settings_with(rate_limit_enabled=False), manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        for _ in range(2):
            with count_sql() as sql:
                response = await http.post("/graphql", json={"query": "{ boards { slug } }"})
            assert response.status_code == 200 and "X-Cache" not in response.headers and sql.count > 0


async def test_an_answer_expires_after_the_ttl(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(responses, "monotonic", lambda: now[0])
    async with client_for(settings_with(rate_limit_enabled=False, response_cache_ttl_seconds=30)) as client:
        statuses = []
        for advance in (0, 29, 1.5):
            now[0] += advance
            response, _ = await read(client, "{ boards { slug } }")
            statuses.append(response.headers["X-Cache"])
    assert statuses == ["MISS", "HIT", "MISS"]


async def test_least_recently_used_answers_go_first_and_big_ones_are_not_kept(db: str) -> None:
    queries = [f"{{ q{n}: boards {{ slug }} }}" for n in range(10)]
    async with client_for(settings_with(rate_limit_enabled=False)) as sizing:
        data = (await read(sizing, queries[0]))[0].json()["data"]
    # The answer, the key's query text (the same length for every q<n>) and the bookkeeping.
    size = len(orjson.dumps(data)) + len(queries[0]) + len(b"{}") + responses.ENTRY_OVERHEAD
    # Room for exactly 8 answers, and each is no more than an eighth of it.
    async with client_for(settings_with(rate_limit_enabled=False, response_cache_max_bytes=8 * size)) as client:

        async def status(query: str) -> str:
            return (await read(client, query))[0].headers["X-Cache"]

        assert [await status(query) for query in queries[:8]] == ["MISS"] * 8
        assert await status(queries[0]) == "HIT"  # now the most recently used
        assert await status(queries[8]) == "MISS"  # kept; q1, the least recently used, goes
        assert [await status(queries[n]) for n in (0, 2, 8)] == ["HIT"] * 3
        assert await status(queries[1]) == "MISS"
        big = "{ boards { slug name description } }"
        assert [await status(big) for _ in range(2)] == ["MISS", "MISS"]


async def test_a_hit_is_charged_to_the_rate_budget_like_an_execution(db: str) -> None:
    query = "{ boards { slug } faqs(first: 5) { nodes { slug } } }"
    cost = 7  # boards: 1; faqs: 1 + 5 nodes
    settings = settings_with(rate_limit_anonymous_points=3 * cost, rate_limit_window_seconds=3600)
    async with client_for(settings) as client:
        responses_ = [await client.post(query) for _ in range(4)]
    miss, hit, last_hit, refused = responses_
    assert miss.json()["extensions"]["cost"]["requested"] == cost
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"], last_hit.headers["X-Cache"]) == ("MISS", "HIT", "HIT")
    assert [int(r.headers["X-RateLimit-Used"]) for r in (miss, hit, last_hit)] == [cost, 2 * cost, 3 * cost]
    reset_at = miss.json()["extensions"]["cost"]["resetAt"]
    assert hit.json()["extensions"]["cost"] == {"requested": cost, "limit": 3 * cost, "remaining": cost,
                                                 "resetAt": reset_at}
    assert refused.status_code == 429 and "X-Cache" not in refused.headers


async def test_public_get_answers_stay_public_and_hits_carry_no_budget(db: str) -> None:
    async with client_for(settings_with(rate_limit_anonymous_points=1000)) as client:
        gets = [await client.http.get("/graphql", params={"query": "{ boards { slug } }"}) for _ in range(2)]
    for response, status in zip(gets, ("MISS", "HIT")):
        assert response.headers["X-Cache"] == status
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert not [name for name in response.headers if name.lower().startswith("x-ratelimit")]
        assert response.json()["extensions"]["cost"] == {"requested": 1}
    assert gets[1].json()["data"] == gets[0].json()["data"]


async def test_persisted_queries_and_batch_items_share_entries(db: str) -> None:
    from gql.http.persisted import sha256

    query = "{ faqCategories { slug } } # %s" % uuid.uuid4().hex
    other = "{ boards { name } } # %s" % uuid.uuid4().hex
    hashed = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    async with client_for(settings_with(rate_limit_enabled=False, batch_max_operations=2)) as client:
        registered = await client.http.post("/graphql", json={"query": query, "extensions": hashed})
        by_hash = await client.http.get("/graphql", params={"extensions": orjson.dumps(hashed).decode()})
        with count_sql() as sql:
            batch = await client.http.post("/graphql", json=[{"query": query}, {"query": other}])
        single = await client.http.post("/graphql", json={"query": other})
    assert (registered.headers["X-Cache"], by_hash.headers["X-Cache"]) == ("MISS", "HIT")
    assert batch.headers["X-Cache"] == "MISS" and sql.count == 1  # only `other` executed
    assert [item["data"] for item in batch.json()] == [registered.json()["data"], single.json()["data"]]
    assert single.headers["X-Cache"] == "HIT"


async def test_a_write_committing_while_an_answer_is_built_leaves_no_stale_entry(
        client: GraphQLClient, monkeypatch: pytest.MonkeyPatch) -> None:
    faq = await make_faq()
    execute = GraphQLHTTPEndpoint._execute

    async def execute_then_write(self: GraphQLHTTPEndpoint, operation: Any) -> Any:
        answer = await execute(self, operation)
        # The answer has read the old title; another request's write commits before it is kept.
        async def write() -> None:
            await Faq.filter(id=faq.pk).update(title="Changed meanwhile")

        await asyncio.get_running_loop().create_task(write(), context=contextvars.Context())  # another request's
        return answer

    monkeypatch.setattr(GraphQLHTTPEndpoint, "_execute", execute_then_write)
    first, _ = await read(client, FAQ_BY_SLUG, {"slug": faq.slug})
    monkeypatch.setattr(GraphQLHTTPEndpoint, "_execute", execute)
    assert first.json()["data"]["faq"]["title"] == faq.title
    after, _ = await read(client, FAQ_BY_SLUG, {"slug": faq.slug})
    assert after.headers["X-Cache"] == "MISS" and after.json()["data"]["faq"]["title"] == "Changed meanwhile"


async def test_redis_unreachable_means_no_cache_not_errors(db: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_with(rate_limit_enabled=False, redis_url="redis://127.0.0.1:1/0")
    async with client_for(settings) as client:
        for _ in range(2):
            response, statements = await read(client, "{ boards { slug } }")
            assert "X-Cache" not in response.headers and statements > 0
    assert len([r for r in caplog.records if "Redis unreachable" in r.getMessage()]) == 1


def test_tables_are_read_off_tortoises_sql() -> None:
    read_ = parse('SELECT "posts"."id" FROM "posts" LEFT OUTER JOIN "users" "posts__author" ON "posts__author"."id"='
                  '"posts"."author_id" WHERE "posts"."id" IN (SELECT "post_id" FROM "kudos" WHERE "user_id"=?)')
    assert (read_.read, read_.written, read_.opaque) == ({"posts", "users", "kudos"}, frozenset(), False)
    assert parse('UPDATE "posts" SET "kudos_count"="kudos_count"+1 WHERE "id"=$1').written == {"posts"}
    assert parse('INSERT INTO "kudos" ("post_id","user_id") VALUES (?,?)').written == {"kudos"}
    assert parse('DELETE FROM "kudos" WHERE "post_id"=? AND "user_id"=?').written == {"kudos"}
    assert parse('SELECT "id" FROM "posts" WHERE "id"=$1 FOR UPDATE').written == frozenset()
    # What is not Tortoise's quoted SQL is never trusted: unknown reads are opaque, unknown writes ALL.
    assert parse("SELECT COUNT(*) FROM posts").opaque
    assert parse("UPDATE tallies SET n = n + 1").written == {ALL}
    assert parse('CREATE INDEX "i" ON "posts" ("id")').written == {ALL}


async def test_a_write_counts_what_triggers_and_cascades_change(db: str) -> None:
    deleting_posts = changed_by(parse('DELETE FROM "posts" WHERE "id"=?'))
    assert {"posts", "replies", "kudos", "post_tags"} <= deleting_posts
    new_reply = changed_by(parse('INSERT INTO "replies" ("post_id","body") VALUES (?,?)'))
    assert "replies" in new_reply and "kudos" not in new_reply  # an insert cascades nothing
    # Every trigger in the database is one the cache knows (models.counted.COUNTED and
    # COUNTED_LINKS, which `trigger_writes` reads).
    try:
        from models.counted import COUNTED, COUNTED_LINKS, trigger_writes
    except ImportError:
        COUNTED, COUNTED_LINKS, trigger_writes = (), (), dict
    known = {spec.table for spec in COUNTED} | {table for link in COUNTED_LINKS for table in (link.table, link.target)}
    assert set(trigger_writes()) == known
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "postgres":
        rows = await connection.execute_query_dict(
            "SELECT event_object_table AS tbl FROM information_schema.triggers WHERE trigger_schema = current_schema()")
    else:
        rows = await connection.execute_query_dict("SELECT tbl_name AS tbl FROM sqlite_master WHERE type = 'trigger'")
    assert {row["tbl"] for row in rows} <= known
    for spec in COUNTED:
        changed = changed_by(parse(f'UPDATE "{spec.table}" SET "x"=1'))
        assert {counter.parent for counter in spec.counters} | ({"tallies"} if spec.split else set()) <= changed
    for link in COUNTED_LINKS:
        # A link coming or going, a target's status change or deletion: the parents' counters move.
        for table in (link.table, link.target):
            for sql in (f'INSERT INTO "{table}" ("x") VALUES (?)', f'UPDATE "{table}" SET "x"=1',
                        f'DELETE FROM "{table}" WHERE "id"=?'):
                assert link.parent in changed_by(parse(sql)), sql
    if COUNTED_LINKS:
        assert "tags" in changed_by(parse('UPDATE "posts" SET "status"=? WHERE "id"=?'))
        assert "tags" in changed_by(parse('INSERT INTO "post_tags" ("post_id","tag_id") VALUES (?,?)'))


async def test_in_production_get_queries_are_kept_and_mutations_over_get_never_reach_the_cache(db: str) -> None:
    """Production runs GET queries with their text (as GraphQL-over-HTTP clients send them): their
    answers are kept like any other, and a mutation over GET is still refused before a lookup."""
    query = "{ faqCategories { name } }"
    async with client_for(settings_with(rate_limit_enabled=False, app_env="production")) as client:
        first = await client.http.get("/graphql", params={"query": query})
        second = await client.http.get("/graphql", params={"query": query})
        refused = await client.http.get("/graphql", params={"query": "mutation { __typename }"})
    assert first.status_code == second.status_code == 200 and second.json()["data"] == first.json()["data"]
    assert second.headers["X-Cache"] == "HIT" and second.headers["Cache-Control"].startswith("public")
    assert refused.status_code == 405 and "X-Cache" not in refused.headers
