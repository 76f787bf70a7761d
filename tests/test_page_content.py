"""What the landing page's content needed (work item #12), over HTTP: FAQ views that move "most
popular", avatars, the values' icons, the Star a "Meet the Stars" post introduces, and the
announcements' calls to action."""

from __future__ import annotations

import asyncio
import importlib
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio
from tortoise import Tortoise

import models.faqs
from gql.core.relay import global_id_of
from models.accounts import Role, User
from models.announcements import LINK_URL_MAX, Announcement
from models.faqs import Faq, FaqCategory, FaqStatus, FaqView
from models.posts import Board, Post
from models.stars import ProgramValue, StarProfile
from tests.conftest import client_for, settings_with
from tests.factories import make_board, make_faq, make_post, make_user, token_for
from tests.support import GraphQLClient, count_sql, database_state

pytestmark = pytest.mark.usefixtures("leave_queues_as_found")

WINDOW = 86_400
RECORD = "mutation($slug: String!) { recordFaqView(input: {slug: $slug}) { faq { slug views } userErrors { code field } } }"


def from_address(address: str) -> dict[str, str]:
    """Headers of a request from `address`, through the trusted proxy the test clients sit behind."""
    return {"X-Forwarded-For": address}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def page_client(db: str) -> AsyncIterator[GraphQLClient]:
    # The in-process client's peer is 127.0.0.1: trusted, so each test names its anonymous
    # visitors' addresses in X-Forwarded-For. The response cache stays on, as in production.
    async with client_for(settings_with(rate_limit_enabled=False, trusted_proxies="127.0.0.1",
                                        faq_view_window_seconds=WINDOW)) as client:
        yield client


class Clock:
    """The time `recordFaqView` reads (models/faqs.py `utcnow`), moved by the test."""

    def __init__(self) -> None:
        # Mid-window, so that a few seconds either way stay in it.
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def next_window(self) -> None:
        self.now += timedelta(seconds=WINDOW)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(models.faqs, "utcnow", fake)
    yield fake


async def record(client: GraphQLClient, slug: str, *, token: str | None = None, address: str = "198.51.100.1") -> dict[str, Any]:
    data = await client.query(RECORD, {"slug": slug}, token=token, headers=from_address(address))
    return data["recordFaqView"]


async def views_of(faq: Faq) -> int:
    return (await Faq.get(id=faq.pk)).views


# --- recordFaqView -----------------------------------------------------------------------------------


async def test_a_signed_in_viewer_counts_once_a_window_from_any_address(page_client: GraphQLClient, clock: Clock) -> None:
    faq, reader = await make_faq(), await make_user("viewer")
    token = await token_for(reader)
    first = await record(page_client, faq.slug, token=token, address="198.51.100.7")
    assert first == {"faq": {"slug": faq.slug, "views": 1}, "userErrors": []}
    # The same person on another device (address) and again: still one view this window.
    for address in ("198.51.100.7", "203.0.113.9"):
        assert (await record(page_client, faq.slug, token=token, address=address))["faq"]["views"] == 1
    clock.next_window()
    assert (await record(page_client, faq.slug, token=token))["faq"]["views"] == 2
    assert await views_of(faq) == 2


async def test_anonymous_visitors_count_once_a_window_per_address(page_client: GraphQLClient, clock: Clock) -> None:
    faq = await make_faq()
    assert (await record(page_client, faq.slug, address="192.0.2.1"))["faq"]["views"] == 1
    assert (await record(page_client, faq.slug, address="192.0.2.1"))["faq"]["views"] == 1
    assert (await record(page_client, faq.slug, address="192.0.2.2"))["faq"]["views"] == 2
    # A signed-in reader behind an address already counted is another visitor.
    token = await token_for(await make_user("viewer"))
    assert (await record(page_client, faq.slug, token=token, address="192.0.2.1"))["faq"]["views"] == 3
    clock.now += timedelta(hours=11)  # still the same window (it ends at midnight UTC)
    assert (await record(page_client, faq.slug, address="192.0.2.1"))["faq"]["views"] == 3
    clock.next_window()
    assert (await record(page_client, faq.slug, address="192.0.2.1"))["faq"]["views"] == 4


async def test_racing_views_count_once_per_visitor_exactly(page_client: GraphQLClient, clock: Clock) -> None:
    faq = await make_faq()
    same = await asyncio.gather(*(record(page_client, faq.slug, address="192.0.2.50") for _ in range(4)))
    assert all(result["userErrors"] == [] for result in same)
    assert await views_of(faq) == 1
    others = await asyncio.gather(*(record(page_client, faq.slug, address=f"192.0.2.{60 + n}") for n in range(4)))
    assert all(result["userErrors"] == [] for result in others)
    assert await views_of(faq) == 5
    assert await FaqView.filter(faq_id=faq.pk).count() == 5


@pytest.mark.parametrize("slug", ["no-such-faq", "draft", "x" * 500])
async def test_an_unknown_or_unpublished_faq_is_not_found_and_nothing_changes(
    page_client: GraphQLClient, clock: Clock, slug: str
) -> None:
    draft = await make_faq(FaqStatus.DRAFT)
    slug = draft.slug if slug == "draft" else slug
    staff = await token_for(await make_user("viewer_staff", Role.ADMIN))  # staff read drafts; views are readers'
    before = await database_state(draft)
    for token in (None, staff):
        result = await record(page_client, slug, token=token)
        assert result == {"faq": None, "userErrors": [{"code": "NOT_FOUND", "field": ["input", "slug"]}]}
    assert await database_state(draft) == before


async def test_rows_of_past_windows_are_pruned(page_client: GraphQLClient, clock: Clock) -> None:
    faq, other = await make_faq(), await make_faq()
    await record(page_client, faq.slug, address="192.0.2.80")
    await record(page_client, faq.slug, address="192.0.2.81")
    clock.next_window()
    await record(page_client, other.slug, address="192.0.2.80")
    # The first view of the new window deleted every row of the windows before: they can refuse nothing now.
    assert await FaqView.filter(faq_id=faq.pk).count() == 0
    assert await FaqView.filter(window_start__lt=models.faqs.view_window_start(clock.now, WINDOW)).count() == 0
    assert await FaqView.filter(faq_id=other.pk).count() == 1
    assert await views_of(faq) == 2  # the views counted stay


async def test_record_faq_view_is_charged_as_a_mutation_and_refused_when_spent(db: str, clock: Clock) -> None:
    faq = await make_faq()
    settings = settings_with(rate_limit_anonymous_points=25, mutation_cost=10)
    async with client_for(settings) as client:
        first = await client.post(RECORD, {"slug": faq.slug})
        assert first.status_code == 200 and first.json()["data"]["recordFaqView"]["faq"]["views"] == 1
        requested = first.json()["extensions"]["cost"]["requested"]
        assert int(first.headers["X-RateLimit-Used"]) == max(requested, 1) + 10
        await client.post(RECORD, {"slug": faq.slug})  # a repeat: counted nothing, still charged
        before = await database_state(faq)
        refused = await client.post(RECORD, {"slug": faq.slug}, headers={"X-Forwarded-For": "192.0.2.99"})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert await database_state(faq) == before


FAQS_BY_VIEWS = "query($category: String) { faqs(category: $category, orderBy: POPULAR) { nodes { slug views } } }"


async def test_most_popular_moves_as_views_are_counted(page_client: GraphQLClient, clock: Clock) -> None:
    first, second = await make_faq(), await make_faq()
    own = await FaqCategory.create(slug=f"page-content-{first.pk}", name="Page content")  # just these two
    await Faq.filter(id__in=[first.pk, second.pk]).update(category_id=own.pk)

    async def order() -> list[tuple[str, int]]:  # anonymous: the response cache answers when it may
        nodes = (await page_client.query(FAQS_BY_VIEWS, {"category": own.slug}))["faqs"]["nodes"]
        return [(node["slug"], node["views"]) for node in nodes]

    assert await order() == [(first.slug, 0), (second.slug, 0)]
    for address in ("192.0.2.20", "192.0.2.21"):
        await record(page_client, second.slug, address=address)
    assert await order() == [(second.slug, 2), (first.slug, 0)]
    for address in ("192.0.2.22", "192.0.2.23", "192.0.2.24"):
        await record(page_client, first.slug, address=address)
    assert await order() == [(first.slug, 3), (second.slug, 2)]


# --- Avatars and icons -------------------------------------------------------------------------------

STARS = "{ stars(first: 20) { nodes { handle displayName avatarUrl avatar { url initials color } } } }"


async def test_every_seeded_star_has_an_avatar_served_over_http(page_client: GraphQLClient) -> None:
    stars = {star["handle"]: star for star in (await page_client.query(STARS))["stars"]["nodes"]}
    assert {"vincent", "ribezaz", "susana"} <= set(stars)
    assert stars["ribezaz"]["avatar"]["initials"] == "L"  # from the display name, Leticia
    for star in stars.values():
        avatar = star["avatar"]
        assert star["avatarUrl"] == avatar["url"]  # none stored: the drawn default
        assert re.fullmatch(r"#[0-9a-f]{6}", avatar["color"])
        response = await page_client.http.get(avatar["url"])
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
        assert "immutable" in response.headers["cache-control"] and response.headers["x-content-type-options"] == "nosniff"
        assert f'fill="{avatar["color"]}"' in response.text and f">{avatar['initials']}</text>" in response.text
    colours = {star["avatar"]["color"] for star in stars.values()}
    assert len(colours) > 1  # derived from the handle, not one colour for all


async def test_a_stored_avatar_wins_and_odd_names_still_get_one(page_client: GraphQLClient) -> None:
    pictured = await make_user("pictured")
    await User.filter(id=pictured.pk).update(avatar_url="https://cdn.example.com/a.png")
    symbols = await make_user("symbols")
    await User.filter(id=symbols.pk).update(display_name="🎧 ✨", handle="___")
    query = "query($id: ID!) { node(id: $id) { ... on User { avatarUrl avatar { url initials } } } }"
    assert (await page_client.query(query, {"id": global_id_of(pictured)}))["node"]["avatarUrl"] == "https://cdn.example.com/a.png"
    drawn = (await page_client.query(query, {"id": global_id_of(symbols)}))["node"]
    assert drawn["avatar"]["initials"] == "" and drawn["avatarUrl"] == drawn["avatar"]["url"]
    assert (await page_client.http.get(drawn["avatarUrl"])).status_code == 200


@pytest.mark.parametrize("display_name", ["ǰohn ΐota", "éva ßchmidt", "Ann Lee", "ﬁona ǅemal", "١٢ عمر"])
async def test_every_default_avatar_url_is_served(page_client: GraphQLClient, display_name: str) -> None:
    # Upper-casing may split a letter into a letter and a combining mark ("ǰ" is "J" + U+030C):
    # the initials keep what the route draws, so the URL a user is given always answers.
    from models.avatars import default_avatar

    avatar = default_avatar(display_name, "someone")
    response = await page_client.http.get(avatar.url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("path", ["/avatars/vi-1e6b3a.svg", "/avatars/VIN-1e6b3a.svg", "/avatars/VI-000000.svg",
                                  "/avatars/%3Cb%3E-1e6b3a.svg", "/avatars/VI-1e6b3a.png", "/avatars/"])
async def test_the_avatar_route_draws_nothing_else(page_client: GraphQLClient, path: str) -> None:
    assert (await page_client.http.get(path)).status_code == 404


VALUES = "{ starsProgram { values { name icon } } }"


async def test_the_values_icons_are_the_documented_set(page_client: GraphQLClient) -> None:
    values = (await page_client.query(VALUES))["starsProgram"]["values"]
    assert [(value["name"], value["icon"]) for value in values] == [
        ("Respect", "RESPECT"), ("Inclusion", "INCLUSION"), ("Support", "SUPPORT"),
        ("Teamwork", "TEAMWORK"), ("Fun", "FUN"), ("Responsibility", "RESPONSIBILITY"),
    ]
    icon_type = (await page_client.query('{ __type(name: "Icon") { description enumValues { name } } }'))["__type"]
    names = [value["name"] for value in icon_type["enumValues"]]
    assert names == [value["icon"] for value in values]
    assert all(name in icon_type["description"] for name in names)  # the set is written down
    assert await ProgramValue.all().count() == len(names)


# --- featuredStar --------------------------------------------------------------------------------------

BLOG = "query($n: Int) { starsProgram { blogPosts(first: $n) { nodes { slug featuredStar { handle displayName } } } } }"


async def test_the_meet_the_stars_posts_link_their_stars(page_client: GraphQLClient) -> None:
    nodes = (await page_client.query(BLOG, {"n": 10}))["starsProgram"]["blogPosts"]["nodes"]
    assert [(node["slug"], node["featuredStar"]) for node in nodes] == [
        ("backstage-intro-meet-vincent", {"handle": "vincent", "displayName": "Vincent"}),
        ("backstage-intro-meet-leticia", {"handle": "ribezaz", "displayName": "Leticia"}),
        ("backstage-intro-meet-susana", {"handle": "susana", "displayName": "Susana"}),
    ]
    other = (await page_client.query('{ posts(board: "help", first: 1) { nodes { featuredStar { handle } } } }'))
    assert other["posts"]["nodes"][0]["featuredStar"] is None


@pytest.mark.uncached
async def test_featured_stars_of_a_page_of_posts_load_in_one_statement(client: GraphQLClient) -> None:
    # Two more featured posts (with stars of their own), so the page has five different stars.
    blog, author = await Board.get(slug="stars-blog"), await make_user("blogger", Role.MODERATOR)
    for _ in range(2):
        await make_post(author, blog, featured_star_id=(await make_user("featured", Role.STAR)).pk)
    counts = {}
    for size in (1, 5):
        with count_sql() as counter:
            nodes = (await client.query(BLOG, {"n": size}))["starsProgram"]["blogPosts"]["nodes"]
        assert len(nodes) == size and all(node["featuredStar"] for node in nodes)
        counts[size] = counter.count
    assert counts[5] == counts[1]


SET_FEATURED = "mutation($input: SetPostFeaturedStarInput!) { setPostFeaturedStar(input: $input) { post { featuredStar { handle } } userErrors { code field } } }"


async def test_staff_set_and_clear_a_posts_featured_star(page_client: GraphQLClient) -> None:
    admin = await token_for(await make_user("editor", Role.ADMIN))
    blog, help_board = await Board.get(slug="stars-blog"), await make_board("help-like")
    author, star, member = await make_user("writer"), await make_user("shining", Role.STAR), await make_user("plain")
    assert await StarProfile.filter(user_id=star.pk).exists()  # what makes a Star featurable
    post, elsewhere = await make_post(author, blog), await make_post(author, help_board)

    async def set_star(target: Post, user: User | None) -> dict[str, Any]:
        variables = {"input": {"postId": global_id_of(target), "starId": global_id_of(user) if user else None}}
        return (await page_client.query(SET_FEATURED, variables, token=admin))["setPostFeaturedStar"]

    before = await database_state(post, elsewhere)
    assert (await set_star(post, member))["userErrors"] == [{"code": "NOT_A_STAR", "field": ["input", "starId"]}]
    assert (await set_star(elsewhere, star))["userErrors"] == [{"code": "NOT_STARS_BLOG", "field": ["input", "postId"]}]
    assert await database_state(post, elsewhere) == before
    assert await set_star(post, star) == {"post": {"featuredStar": {"handle": star.handle}}, "userErrors": []}
    assert await set_star(post, None) == {"post": {"featuredStar": None}, "userErrors": []}


# --- Announcement links ---------------------------------------------------------------------------------

ANNOUNCEMENTS = "{ announcements(first: 20, includeExpired: true) { nodes { title link { url label } } } }"
CREATE = ("mutation($input: CreateAnnouncementInput!) { createAnnouncement(input: $input) "
          "{ announcement { title link { url label } } userErrors { code field } } }")


async def test_the_seeded_announcements_carry_their_calls_to_action(page_client: GraphQLClient) -> None:
    links = {node["title"]: node["link"] for node in (await page_client.query(ANNOUNCEMENTS))["announcements"]["nodes"]}
    assert links["Meet the Stars: Backstage intros are back"] == {
        "url": "https://community.spotify.com/t5/Spotify-Stars-Blog/bg-p/stars-blog", "label": "Read the latest intro"}
    assert links["Wrapped questions? Start here"]["label"] == "Read the Wrapped FAQ"
    assert links["Welcome to the new Community Help"] is None  # no call to action on the page: none made up


@pytest.mark.parametrize(("link", "code", "field"), [
    ({"url": "javascript:alert(1)", "label": "Go"}, "INVALID", "url"),
    ({"url": "JAVASCRIPT://example.com/%0aalert(1)", "label": "Go"}, "INVALID", "url"),
    ({"url": "data:text/html,<script>alert(1)</script>", "label": "Go"}, "INVALID", "url"),
    ({"url": "https://bank.example@evil.example/", "label": "Go"}, "INVALID", "url"),
    ({"url": "https:///no-host", "label": "Go"}, "INVALID", "url"),
    ({"url": "https://example.com/a b", "label": "Go"}, "INVALID", "url"),
    ({"url": "https://[::1/", "label": "Go"}, "INVALID", "url"),
    ({"url": "https://example.com:99999/", "label": "Go"}, "INVALID", "url"),  # a port out of range
    ({"url": "https://example.com/" + "a" * LINK_URL_MAX, "label": "Go"}, "TOO_LONG", "url"),
    ({"url": "https://example.com/", "label": "  "}, "BLANK", "label"),
    ({"url": "https://example.com/", "label": "x" * 61}, "TOO_LONG", "label"),
])
async def test_a_bad_link_is_refused_and_changes_nothing(
    page_client: GraphQLClient, link: dict[str, str], code: str, field: str
) -> None:
    admin = await token_for(await make_user("announcer", Role.ADMIN))
    before = await database_state()
    result = (await page_client.query(CREATE, {"input": {"title": "With a link", "body": "b", "link": link}}, token=admin))
    assert result["createAnnouncement"] == {"announcement": None, "userErrors": [{"code": code, "field": ["input", "link", field]}]}
    assert await database_state() == before


async def test_a_link_is_stored_and_shown(page_client: GraphQLClient) -> None:
    admin = await token_for(await make_user("announcer", Role.ADMIN))
    link = {"url": "https://community.spotify.com/t5/FAQs/wrapped-questions", "label": "Read the FAQ"}
    result = await page_client.query(CREATE, {"input": {"title": "Linked", "body": "b", "link": link}}, token=admin)
    assert result["createAnnouncement"] == {"announcement": {"title": "Linked", "link": link}, "userErrors": []}
    await Announcement.filter(title="Linked").delete()


# --- Migration 0006 on a database seeded before it ---------------------------------------------------

page_content_migration = importlib.import_module("models.migrations.0006_page_content")


async def test_the_migration_fills_in_a_database_seeded_before_it(db: str) -> None:
    # What a database seeded before 0006 holds once its columns are added: nothing in them.
    intros = Post.filter(slug__in=list(page_content_migration.INTRODUCED_STARS))
    announcements = Announcement.filter(title__in=list(page_content_migration.ANNOUNCEMENT_LINKS))
    seeded = {post.slug: post.featured_star_id for post in await intros}
    links = {row.title: (row.link_url, row.link_label) for row in await announcements}
    await intros.update(featured_star_id=None)
    await announcements.update(link_url=None, link_label=None)
    editor = SimpleNamespace(client=Tortoise.get_connection("default"))
    await page_content_migration.fill_seeded_content(None, editor)
    assert {post.slug: post.featured_star_id for post in await intros} == seeded and None not in seeded.values()
    assert {row.title: (row.link_url, row.link_label) for row in await announcements} == links and len(links) == 2
    # Once filled (or set by staff since), a column is left alone.
    await page_content_migration.fill_seeded_content(None, editor)
    assert {post.slug: post.featured_star_id for post in await intros} == seeded
