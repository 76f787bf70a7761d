"""search: full-text matching (stems, prefixes, phrases, accents), ranking, snippets, paging,
visibility and the index kept in sync, over HTTP on both databases (work item #13).

The rows this module adds use made-up words ("quokka", "flummox") that the seed never holds, so
what each search finds is known exactly; they are deleted when the module ends.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import json
from types import SimpleNamespace
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from gql.search.queries import each_kind
from models import search as models
from models.accounts import Role, User
from models.faqs import Faq
from models.posts import Board, Post, PostStatus
from tests.conftest import BACKEND, client_for, settings_with
from tests.factories import gid, make_board, make_post, make_user, token_for
from tests.support import GraphQLClient, count_sql

SEARCH = """query($q: String!, $types: [SearchType!], $first: Int, $after: String, $last: Int, $before: String,
                  $order: SearchOrder! = RELEVANCE) {
  search(query: $q, types: $types, first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { __typename ... on Faq { slug } ... on Issue { number } ... on Post { slug } }
  }
}"""
EDGES = """query($q: String!, $start: String! = "<mark>", $end: String! = "</mark>", $order: SearchOrder! = RELEVANCE) {
  search(query: $q, first: 50, orderBy: $order) {
    edges { rank snippet(start: $start, end: $end)
            node { __typename ... on Faq { slug updatedAt } ... on Issue { number updatedAt } ... on Post { slug createdAt } } }
  }
}"""
CREATE_POST = "mutation($input: CreatePostInput!) { createPost(input: $input) { post { id slug } userErrors { code } } }"
MODERATE = "mutation($input: ModeratePostInput!) { moderatePost(input: $input) { post { status } userErrors { code } } }"
UPDATE_FAQ = "mutation($input: UpdateFaqInput!) { updateFaq(input: $input) { faq { slug } userErrors { code } } }"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: str) -> AsyncIterator[GraphQLClient]:
    """One app for the module, without the response cache: these tests search again after writes."""
    async with client_for(settings_with(rate_limit_enabled=False, response_cache_enabled=False)) as client:
        yield client


class Corpus:
    """Posts of the module's own, and who wrote them."""

    author: User
    author_token: str
    staff_token: str
    board: Board
    main: Post  # published: the words most tests look for
    pending: Post  # the author's, not yet approved


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def corpus(db: str) -> AsyncIterator[Corpus]:
    made = Corpus()
    made.author = await make_user("searcher")
    made.author_token = await token_for(made.author)
    made.staff_token = await token_for(await make_user("search_mod", Role.MODERATOR))
    made.board = await make_board("search")
    made.main = await make_post(
        made.author, made.board, title="Flummoxing quokka playlists",
        body="Résumé of the CAFÉ crème: quokkas were resetting their playlists <script>alert(1)</script> "
             "not near the fence, and or whatever the title.")
    made.pending = await make_post(made.author, made.board, status=PostStatus.PENDING,
                                   title="Secret quokka wombat draft", body="Only the author and staff see this wombat.")
    others = [
        await make_post(made.author, made.board, title="再生が止まる", body="アプリで音楽の再生が止まる問題 🎵"),
        await make_post(made.author, made.board, title="مشكلة تشغيل الموسيقى", body="التطبيق يتوقف عن تشغيل الموسيقى"),
    ]
    yield made
    await Post.filter(id__in=[made.main.pk, made.pending.pk, *(post.pk for post in others)]).delete()
    await Post.filter(board_id=made.board.pk).delete()
    await made.board.delete()


async def find(api: GraphQLClient, text: str, token: str | None = None, **variables: Any) -> list[Any]:
    found = await api.query(SEARCH, {"q": text, "first": 100, **variables}, token=token)
    return [node.get("slug") or node.get("number") for node in found["search"]["nodes"]]


# --- What matches -------------------------------------------------------------------------------

async def test_the_work_items_examples_come_first(api: GraphQLClient) -> None:
    assert (await find(api, "resetting passwords"))[0] == "reset-your-password"
    assert (await find(api, "songs skipping android"))[0] == 1001


@pytest.mark.parametrize("text", [
    "flummoxed quokka",       # stems: flummoxing / flummoxed, quokkas / quokka
    "PLAYLIST Quokkas",       # any order, any case
    "quokka flummo",          # the last word as a prefix (search as you type)
    "cafe creme resume",      # accents folded, in the text and in the query
    "CAFÉ crème résumé",
    '"quokka playlists"',     # a phrase, in its order
])
async def test_words_in_any_form_and_order_find_the_post(api: GraphQLClient, corpus: Corpus, text: str) -> None:
    assert corpus.main.slug in await find(api, text)


@pytest.mark.parametrize("text", [
    '"playlists quokka"',     # the phrase in another order
    "quokka zebra",           # every word must match
    "flummo quokka",          # only the last word is a prefix
])
async def test_what_does_not_match_is_not_found(api: GraphQLClient, corpus: Corpus, text: str) -> None:
    assert corpus.main.slug not in await find(api, text)


@pytest.mark.parametrize("text", [
    "quokka AND", "quokka OR", "NOT quokka", "quokka NEAR", "NEAR(quokka fence)", "quokka*", '"quokka', 'quokka"',
    'quokka "', "title:quokka", "quokka:*", "-quokka", "(quokka", "quokka)", "^quokka", "+quokka", "quokka & | ! <->",
    "quokka' OR fence --", "quokka\\", "quokka %_", "{quokka}", "quokka;",
])
async def test_operators_typed_by_a_user_are_text(api: GraphQLClient, corpus: Corpus, text: str) -> None:
    # Each is words and punctuation: the words are searched for (these all occur in the post:
    # "and", "or", "not", "near", "fence", "title"; PostgreSQL leaves out the first three as stop words).
    assert corpus.main.slug in await find(api, text)


@pytest.mark.only_on("sqlite")
def test_the_database_query_is_written_from_words_alone() -> None:
    terms = models.parse_query('NOT "quokka (near" AND -x* title:y ^Zé')
    assert terms is not None
    assert terms.fts5() == '"NOT" "quokka near" "AND" "x" "title" "y" "Zé"*'
    assert terms.postgres() == ("('NOT') & ('quokka' <-> 'near') & ('AND') & ('x') & ('title') & ('y')", "'Zé':*", "'Ze':*")
    assert models.parse_query('"sleep timer"') == models.Terms((("sleep", "timer"),), prefix=False)
    assert models.parse_query('"unclosed phrase') == models.Terms((("unclosed", "phrase"),), prefix=False)
    assert models.parse_query("«»…🎵") is None
    # Each word or phrase once, case and accents aside, the last kept last (it may be a prefix);
    # typed again last, the whole word typed before stands (not a prefix of it).
    assert models.parse_query('Song sóng "A B" x "a b" y') == models.Terms((("Song",), ("A", "B"), ("x",), ("y",)), prefix=True)
    assert models.parse_query("play play") == models.parse_query('"play" play') == models.Terms((("play",),), prefix=False)
    assert models.parse_query("song " * 30) == models.Terms((("song",),), prefix=False)


@pytest.mark.parametrize("text", ["%", "_", "!!!", '""', "🎵🎵", "* : - ( ) ^ +", "\u200b"])
async def test_a_query_without_a_word_finds_nothing(api: GraphQLClient, text: str) -> None:
    found = (await api.query(SEARCH, {"q": text}))["search"]
    assert found["nodes"] == [] and found["totalCount"] == 0


async def test_non_latin_text(api: GraphQLClient, corpus: Corpus) -> None:
    # Japanese has no spaces: both databases index a run of it as one word, found whole or by its
    # beginning (the last word is a prefix). Arabic is words between spaces.
    japanese, arabic = (await Post.filter(board_id=corpus.board.pk, title__in=["再生が止まる", "مشكلة تشغيل الموسيقى"])
                        .order_by("id").values_list("slug", flat=True))
    assert japanese in await find(api, "再生が止まる")
    assert japanese in await find(api, "再生")
    assert arabic in await find(api, "الموسيقى تشغيل")
    assert await find(api, "🎵 再生") == await find(api, "再生")  # the emoji is no word: left out


# --- Order, rank, snippets -----------------------------------------------------------------------

async def test_relevance_orders_by_rank_and_newest_by_date(api: GraphQLClient) -> None:
    relevant = (await api.query(EDGES, {"q": "app"}))["search"]["edges"]
    ranks = [edge["rank"] for edge in relevant]
    assert len(ranks) > 3 and ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[-1] > 0
    newest = (await api.query(EDGES, {"q": "app", "order": "NEWEST"}))["search"]["edges"]
    dates = [edge["node"].get("updatedAt") or edge["node"]["createdAt"] for edge in newest]
    assert dates == sorted(dates, reverse=True)
    assert {str(edge["node"]) for edge in newest} == {str(edge["node"]) for edge in relevant}


async def test_a_title_match_ranks_above_a_passing_mention(api: GraphQLClient, corpus: Corpus) -> None:
    mention = await make_post(corpus.author, corpus.board, title="Something else entirely",
                              body="A long post that mentions a quokka once. " + "Filler words here. " * 40)
    try:
        found = await find(api, "quokka", types=["POST"])
        assert found.index(corpus.main.slug) < found.index(mention.slug)
    finally:
        await mention.delete()


async def test_an_faq_ranks_above_a_post_that_matches_as_well(api: GraphQLClient, corpus: Corpus) -> None:
    faq = await Faq.get(slug="reset-your-password")
    copy = await make_post(corpus.author, corpus.board, title=faq.title, body=faq.body)
    try:
        found = await find(api, "reset password")
        assert found.index("reset-your-password") < found.index(copy.slug)
    finally:
        await copy.delete()


async def test_snippets_mark_the_words_and_escape_the_text(api: GraphQLClient, corpus: Corpus) -> None:
    edges = (await api.query(EDGES, {"q": "quokkas resetting"}))["search"]["edges"]
    [snippet] = [edge["snippet"] for edge in edges if edge["node"].get("slug") == corpus.main.slug]
    assert "<mark>quokkas</mark>" in snippet and "<mark>resetting</mark>" in snippet
    # The stored tag is text: escaped (SQLite), or left out of the passage (PostgreSQL's parser
    # knows tags); either way the only markup is the markers'.
    assert "<" not in snippet.replace("<mark>", "").replace("</mark>", "")
    custom = (await api.query(EDGES, {"q": "quokkas", "start": "[[", "end": "]]"}))["search"]["edges"]
    assert any("[[quokkas]]" in edge["snippet"] for edge in custom)


@pytest.mark.only_on("sqlite")
async def test_markers_are_bounded(api: GraphQLClient) -> None:
    errors = await api.errors(EDGES, {"q": "password", "start": "x" * 33})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- Paging -------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["RELEVANCE", "NEWEST"])
async def test_pages_cover_everything_once_both_ways(api: GraphQLClient, order: str) -> None:
    everything = (await api.query(SEARCH, {"q": "s", "first": 100, "order": order}))["search"]
    assert 20 < everything["totalCount"] <= 100  # several pages of 7 (words starting with "s")
    seen, after = [], None
    while True:
        page = (await api.query(SEARCH, {"q": "s", "first": 7, "after": after, "order": order}))["search"]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything["nodes"] and len(seen) == everything["totalCount"]
    backward, before = [], None
    while True:
        page = (await api.query(SEARCH, {"q": "s", "last": 9, "before": before, "order": order}))["search"]
        backward = page["nodes"] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == everything["nodes"]


async def test_a_cursor_of_one_order_is_refused_by_the_other(api: GraphQLClient) -> None:
    cursor = (await api.query(SEARCH, {"q": "password", "first": 1}))["search"]["pageInfo"]["endCursor"]
    errors = await api.errors(SEARCH, {"q": "password", "after": cursor, "order": "NEWEST"})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"



@pytest.mark.parametrize("order", ["RELEVANCE", "NEWEST"])
@pytest.mark.parametrize("forged_id", [2**31, -(2**31) - 1, 2**63])
async def test_a_cursor_with_an_id_no_table_holds_is_refused_before_sql(api: GraphQLClient, order: str,
                                                                        forged_id: int) -> None:
    # ids are 32-bit columns: a forged 2**31 once reached asyncpg and failed there (a 500).
    cursor = (await api.query(SEARCH, {"q": "password", "first": 1, "order": order}))["search"]["pageInfo"]["endCursor"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    decoded["k"][-2] = forged_id
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
    for direction in ("after", "before"):
        with count_sql() as statements:
            errors = await api.errors(SEARCH, {"q": "password", direction: forged, "order": order})
        assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
        assert statements.count == 0


async def test_a_search_reads_at_most_the_newest_matches_of_each_kind(
        api: GraphQLClient, corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ranking reads every match it is given: bounded, a broad query's work is known before it runs.
    posts = [await make_post(corpus.author, corpus.board, title=f"Numbat {n}", body="numbat numbat") for n in range(4)]
    try:
        monkeypatch.setattr(models, "MAX_MATCHES_PER_KIND", 2)
        for order in ("RELEVANCE", "NEWEST"):
            found = (await api.query(SEARCH, {"q": "numbat", "first": 10, "order": order}))["search"]
            assert found["totalCount"] == 2
            assert sorted(node["slug"] for node in found["nodes"]) == sorted(post.slug for post in posts[-2:])
        monkeypatch.setattr(models, "MAX_MATCHES_PER_KIND", 1000)
        assert (await api.query(SEARCH, {"q": "numbat", "first": 10}))["search"]["totalCount"] == 4
    finally:
        await Post.filter(id__in=[post.pk for post in posts]).delete()


# --- PostgreSQL's three plans and SQLite's prefix indexes ----------------------------------------

# What forces each of PostgreSQL's plans (models.search._postgres_hits) on the rows of the test
# below, whose newest rows hold the prefix `numb` but do not match: the sample and the probe's
# window hold every row (the probe finds the bound), or the sample only two of those newest rows
# (no match: the GIN index).
PLANS: dict[str, dict[str, int]] = {
    "probe": {"PROBE_SAMPLE": 10_000, "PROBED_ROWS_PER_MATCH": 10_000},
    "GIN index": {"PROBE_SAMPLE": 2, "PROBED_ROWS_PER_MATCH": 10_000},
}
# A word quoted; a phrase of two (positions checked); a prefix alone; other words and a prefix the
# newest rows hold (the GIN index looks up "numbat" alone) or do not hold (it looks up the whole
# query).
PLANNED_QUERIES = ['"numbat"', '"numbat numbat"', "numbat", "numbat numb", "numbat numba"]


async def plan_run(search: models.Search) -> str:
    """Which plan found the posts of `search` (PostgreSQL): the branch of the UNION whose rows
    were read, by EXPLAIN ANALYZE."""
    statement, values = search.statement(models.SearchType.POST, models.Page(None, None, 10, False), snippets=False)
    _, rows = await Tortoise.get_connection("default").execute_query("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, values)
    plan = rows[0][0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def branches(node: dict[str, Any]) -> list[dict[str, Any]] | None:
        children = node.get("Plans", [])
        if node["Node Type"] == "Append" and all("One-Time Filter" in child for child in children):
            return children
        return next((found for child in children if (found := branches(child)) is not None), None)

    gated = branches(plan[0]["Plan"])
    assert gated is not None
    ran = [index for index, branch in enumerate(gated)
           if any(child["Parent Relationship"] == "Outer" and child["Actual Loops"] > 0 for child in branch["Plans"])]
    assert len(ran) == 1  # one branch is read, whatever the gates of the others
    return list(PLANS)[min(ran[0], 1)]


@pytest.mark.only_on("postgres")
async def test_every_postgres_plan_finds_the_same_newest_matches(
        api: GraphQLClient, corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    matching = [await make_post(corpus.author, corpus.board, title=f"Numbat {n}", body="numbat numbat") for n in range(4)]
    pending = await make_post(corpus.author, corpus.board, status=PostStatus.PENDING, title="Numbat draft", body="numbat numbat")
    newer = [await make_post(corpus.author, corpus.board, title=f"Numbskull {n}", body="numbskull") for n in range(3)]
    monkeypatch.setattr(models, "MAX_MATCHES_PER_KIND", 2)
    try:
        answers: dict[tuple[str, str, str | None, str], Any] = {}
        for plan, settings in PLANS.items():
            for name, value in settings.items():
                monkeypatch.setattr(models, name, value)
            for text in PLANNED_QUERIES:
                for viewer, token in ((None, None), (corpus.author, corpus.author_token)):
                    assert await plan_run(models.Search(text, [], viewer, models.SearchOrder.RELEVANCE)) == plan
                    for order in ("RELEVANCE", "NEWEST"):
                        found = (await api.query(EDGES.replace("first: 50", "first: 10, types: [POST]"),
                                                 {"q": text, "order": order}, token=token))["search"]
                        answers[(plan, text, token, order)] = found
        # The newest two visible matches, ranked alike, whatever the plan (the author sees the draft).
        for (plan, text, token, order), found in answers.items():
            assert found == answers[("probe", text, token, order)], (plan, text, order)
            newest = [pending, matching[-1]] if token else matching[-2:]
            assert sorted(edge["node"]["slug"] for edge in found["edges"]) == sorted(post.slug for post in newest)
    finally:
        await Post.filter(id__in=[post.pk for post in [*matching, pending, *newer]]).delete()


@pytest.mark.only_on("postgres")
async def test_postgres_plans_are_chosen_by_one_time_filters() -> None:
    # Each plan is a branch of a UNION gated by a condition without row variables (an InitPlan):
    # PostgreSQL runs only the one whose gate holds. The probe reads the id index backwards (as
    # staff: no status condition, so the planner has no other index to pick on a small table).
    search = models.Search("numbat numb", [], User(role=Role.MODERATOR), models.SearchOrder.RELEVANCE)
    statement, values = search.statement(models.SearchType.POST, models.Page(None, None, 21, False), snippets=True)
    async with in_transaction() as connection:
        # The test table is small: forbid the sequential scan a planner would rightly prefer.
        await connection.execute_script("SET LOCAL enable_seqscan = off")
        _, rows = await connection.execute_query("EXPLAIN " + statement, values)
    plan = "\n".join(row[0] for row in rows)
    # The probe, the wide probe (the query ends in a prefix), the GIN index looking up the other
    # words alone or the whole query.
    assert plan.count("One-Time Filter") == 4
    assert "Index Scan Backward using posts_pkey" in plan


FTS_PREFIXES = "prefix='1 2 3 4 5 6 7 8 9 10'"


async def fts_definitions() -> list[str]:
    _, rows = await Tortoise.get_connection("default").execute_query(
        "SELECT sql FROM sqlite_master WHERE name IN ('faqs_search', 'issues_search', 'posts_search') ORDER BY name")
    return [row[0] for row in rows]


@pytest.mark.only_on("sqlite")
async def test_sqlite_prefixes_have_indexes_of_their_own_both_ways_of_migration_0010(
        api: GraphQLClient, corpus: Corpus) -> None:
    # Migration 0010 remakes the FTS5 tables with prefix indexes, and its backward step without:
    # each time rebuilt from the rows already there, found as before.
    migration = importlib.import_module("models.migrations.0010_search_prefix_indexes")
    editor = SimpleNamespace(client=Tortoise.get_connection("default"))
    assert all(FTS_PREFIXES in definition for definition in await fts_definitions())
    try:
        await migration.drop_prefix_indexes(None, editor)
        assert not any("prefix=" in definition for definition in await fts_definitions())
        await index_in_sync()
        assert corpus.main.slug in await find(api, "playlists flummo")
        assert (await find(api, "resetting passw"))[0] == "reset-your-password"
    finally:
        await migration.add_prefix_indexes(None, editor)
    assert all(FTS_PREFIXES in definition for definition in await fts_definitions())
    await index_in_sync()
    assert corpus.main.slug in await find(api, "playlists flummo")
    assert (await find(api, "resetting passw"))[0] == "reset-your-password"


# --- Visibility and the index kept in sync --------------------------------------------------------

async def test_hidden_drafts_and_pending_posts_stay_hidden(api: GraphQLClient, corpus: Corpus) -> None:
    assert corpus.pending.slug not in await find(api, "wombat")
    assert corpus.pending.slug in await find(api, "wombat", corpus.author_token)
    assert corpus.pending.slug in await find(api, "wombat", corpus.staff_token)
    slugs = await find(api, "premium")
    assert "free-premium-generator" not in slugs and "draft-new-billing-portal" not in slugs
    assert "draft-new-billing-portal" in await find(api, "billing portal", corpus.staff_token)


INDEXED = {"faqs": ("title", "body"), "issues": ("title", "description"), "posts": ("title", "body")}


async def index_in_sync(connection: BaseDBAsyncClient | None = None) -> None:
    """Every indexed row's entry is exactly what its text makes (and no entry is left over)."""
    connection = connection or Tortoise.get_connection("default")
    for table, (title, body) in INDEXED.items():
        if BACKEND == "sqlite":
            # FTS5 compares its index with the table and raises on any difference.
            # (execute_query: sqlite3's executescript would COMMIT an open transaction first.)
            await connection.execute_query(f"INSERT INTO \"{table}_search\"(\"{table}_search\") VALUES ('integrity-check')")
        else:
            stale = await connection.execute_query_dict(
                f"SELECT COUNT(*) AS n FROM \"{table}\" WHERE search_vector IS DISTINCT FROM "
                f"setweight(to_tsvector('search_english', coalesce({title}, '')), 'A') || "
                f"setweight(to_tsvector('search_english', coalesce({body}, '')), 'B')")
            assert stale[0]["n"] == 0


async def test_every_write_keeps_the_index_exact(api: GraphQLClient, corpus: Corpus) -> None:
    # Create (a member's first post waits for approval), approve, hide, restore, delete.
    created = (await api.query(CREATE_POST, {"input": {"board": corpus.board.slug, "title": "Zygomorphic xylophone",
                                                      "body": "A brand new vibraphone question."}},
                               token=await token_for(await make_user("search_new"))))["createPost"]["post"]
    await index_in_sync()
    assert created["slug"] in await find(api, "zygomorphic vibraphone", corpus.staff_token)
    assert created["slug"] not in await find(api, "zygomorphic vibraphone")
    for action, public in (("APPROVE", True), ("HIDE", False), ("RESTORE", True)):
        moderated = (await api.query(MODERATE, {"input": {"postId": created["id"], "action": action}},
                                     token=corpus.staff_token))["moderatePost"]
        assert moderated["userErrors"] == []
        assert (created["slug"] in await find(api, "xylophone")) is public
    await Post.filter(slug=created["slug"]).delete()
    await index_in_sync()
    assert await find(api, "xylophone", corpus.staff_token) == []
    # Edit: an FAQ's new text is found, its old text no longer.
    faq = await Faq.get(slug="reset-your-password")
    before = faq.title
    edited = await api.query(UPDATE_FAQ, {"input": {"faqId": gid(faq), "title": "How do I change a forgotten marmalade?"}},
                             token=corpus.staff_token)
    try:
        assert edited["updateFaq"]["userErrors"] == []
        await index_in_sync()
        assert "reset-your-password" in await find(api, "marmalade")
    finally:
        await Faq.filter(id=faq.pk).update(title=before, updated_at=faq.updated_at)  # as the seed left it
    assert "reset-your-password" not in await find(api, "marmalade")
    await index_in_sync()


class Undo(Exception):
    """Raised to roll a transaction back."""


async def test_the_index_follows_the_tests_truncation() -> None:
    # reset_database() empties every table with truncate_all_models(): DELETE on SQLite (the
    # triggers fire for every row), TRUNCATE on PostgreSQL (a generated column has nothing to
    # keep). Done here inside a transaction rolled back, so other modules keep their rows.
    before = [await Faq.all().count(), await Post.all().count()]
    with pytest.raises(Undo):
        async with in_transaction() as connection:
            for table in INDEXED:
                await connection.execute_query(f'DELETE FROM "{table}"' if BACKEND == "sqlite" else f'TRUNCATE "{table}" CASCADE')
            assert (await connection.execute_query_dict('SELECT COUNT(*) AS n FROM "posts"'))[0]["n"] == 0
            await index_in_sync(connection)
            raise Undo
    assert [await Faq.all().count(), await Post.all().count()] == before  # rolled back
    await index_in_sync()


# --- Cost ---------------------------------------------------------------------------------------

async def test_search_costs_one_statement_per_kind(api: GraphQLClient) -> None:
    with count_sql() as small:
        await api.query(EDGES.replace("first: 50", "first: 2"), {"q": "password"})
    with count_sql() as large:
        first = (await api.query(SEARCH, {"q": "s", "first": 50}))["search"]
    # Rows (with snippets) of FAQs, issues, posts; each kind counted as its matches are ranked.
    assert small.count == large.count == 3
    with count_sql() as past_the_end:
        last = (await api.query(SEARCH, {"q": "s", "first": 50, "after": first["pageInfo"]["endCursor"]}))["search"]
    # A kind with no row left on the page has nothing to count with: one COUNT for it.
    assert last["totalCount"] == first["totalCount"] and past_the_end.count <= 3 + 3
    with count_sql() as count_only:
        assert (await api.query(SEARCH, {"q": "s", "first": 0}))["search"]["totalCount"] == first["totalCount"]
    assert count_only.count == 3


@pytest.mark.only_on("sqlite")  # no database: the same on both
async def test_the_kinds_run_at_once_in_the_order_asked() -> None:
    # Each kind's statement starts before any ends (PostgreSQL runs them on three connections);
    # the answers come in the order of the kinds, whichever ends first.
    started: list[models.SearchType] = []
    everyone_started = asyncio.Event()

    async def statement(kind: models.SearchType) -> str:
        started.append(kind)
        if len(started) == len(models.SearchType):
            everyone_started.set()
        await everyone_started.wait()
        await asyncio.sleep(0.01 * (len(models.SearchType) - list(models.SearchType).index(kind)))  # the last ends first
        return kind.value

    answers = await asyncio.wait_for(each_kind(list(models.SearchType), statement), timeout=5)
    assert answers == [kind.value for kind in models.SearchType]


@pytest.mark.only_on("sqlite")  # no database: the same on both
async def test_a_kind_that_fails_stops_the_others_and_its_error_is_raised_as_it_is() -> None:
    running: set[models.SearchType] = set()
    stopped: list[models.SearchType] = []

    async def statement(kind: models.SearchType) -> None:
        running.add(kind)
        try:
            if kind is models.SearchType.ISSUE:
                await asyncio.sleep(0.01)
                raise LookupError("the issues' statement failed")
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            stopped.append(kind)
            raise
        finally:
            running.discard(kind)

    with pytest.raises(LookupError, match="the issues' statement failed"):
        await asyncio.wait_for(each_kind(list(models.SearchType), statement), timeout=2)
    # Not an ExceptionGroup, and nothing left running once it is raised.
    assert sorted(stopped) == [models.SearchType.FAQ, models.SearchType.POST] and not running


@pytest.mark.only_on("postgres")
async def test_postgres_searches_through_the_gin_index() -> None:
    # As staff: no status condition, so the planner has no other index to pick on a small table.
    search = models.Search("password", [], User(role=Role.MODERATOR), models.SearchOrder.RELEVANCE)
    statement, values = search.statement(models.SearchType.POST, models.Page(None, None, 21, False), snippets=True)
    async with in_transaction() as connection:
        # The test table is small: forbid the sequential scan a planner would rightly prefer.
        await connection.execute_script("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        _, plan = await connection.execute_query("EXPLAIN " + statement, values)
    assert "posts_search_vector" in "\n".join(row[0] for row in plan)


SEVENTEEN_WORDS = " ".join(f"w{n}" for n in range(17))


@pytest.mark.parametrize("text", ["", "   ", "x" * 201, SEVENTEEN_WORDS, f'"{SEVENTEEN_WORDS}"', f"a b c {SEVENTEEN_WORDS[9:]}"])
async def test_blank_or_long_search_is_refused(api: GraphQLClient, text: str) -> None:
    # Every word is checked on every row read, ranked and marked: their number bounds the work.
    with count_sql() as statements:
        errors = await api.errors(SEARCH, {"q": text})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and statements.count == 0


WORDS_QUERY = "query($q: String!) { search(query: $q) { totalCount } }"


def _refused_as_too_many(payload: Any) -> bool:
    return [error["extensions"]["code"] for error in payload["errors"]] == ["BAD_USER_INPUT"] and not payload.get("data")


async def test_the_word_limit_holds_over_get_batches_and_persisted_queries(db: str) -> None:
    # The limit is the resolver's own: every path that reaches it is refused, before any SQL.
    variables = {"q": SEVENTEEN_WORDS}
    async with client_for(settings_with(rate_limit_enabled=False, batch_max_operations=3)) as client:
        with count_sql() as statements:
            over_get = await client.http.get("/graphql", params={"query": WORDS_QUERY, "variables": json.dumps(variables)})
            batch = await client.http.post("/graphql", json=[{"query": "{ __typename }"},
                                                             {"query": WORDS_QUERY, "variables": variables}])
        assert _refused_as_too_many(over_get.json()) and statements.count == 0
        assert batch.json()[0]["data"] == {"__typename": "Query"} and _refused_as_too_many(batch.json()[1])
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(WORDS_QUERY.encode()).hexdigest()}}
        registered = await client.http.post("/graphql", json={"query": WORDS_QUERY, "variables": {"q": "password"},
                                                              "extensions": persisted})
        assert registered.json()["data"]["search"]["totalCount"] >= 0
        with count_sql() as statements:
            by_hash = await client.http.get("/graphql", params={"extensions": json.dumps(persisted),
                                                                "variables": json.dumps(variables)})
        assert _refused_as_too_many(by_hash.json()) and statements.count == 0


@pytest.mark.only_on("sqlite")  # the transport's path, the same on both databases
async def test_the_word_limit_holds_over_the_websocket(db: str, db_url: str) -> None:
    from tests.live_server import live_server
    from tests.ws_client import acknowledged, next_message, send_subscribe

    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, None) as socket:
            await send_subscribe(socket, "w", WORDS_QUERY, {"q": SEVENTEEN_WORDS})
            refused = await next_message(socket)
    payload = refused["payload"]
    assert _refused_as_too_many(payload if isinstance(payload, dict) else {"errors": payload}), refused


@pytest.mark.parametrize("text, same_as", [(SEVENTEEN_WORDS.rsplit(" ", 1)[0], SEVENTEEN_WORDS.rsplit(" ", 1)[0]),
                                           (" ".join(["password", "Password", "pássword", "PASSWÒRD"] * 5), "password ")])
async def test_sixteen_words_or_one_repeated_are_searched(api: GraphQLClient, text: str, same_as: str) -> None:
    found = (await api.query(SEARCH, {"q": text}))["search"]
    assert found == (await api.query(SEARCH, {"q": same_as}))["search"]
    assert found["totalCount"] > 0 or same_as == text
