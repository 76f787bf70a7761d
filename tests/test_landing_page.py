"""The landing-page query: the seed's content, in a fixed number of SQL statements."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.factories import make_post, make_user
from models.accounts import Role
from models.posts import Board
from tests.support import GraphQLClient, count_sql

ROOT = Path(__file__).parent.parent
LANDING_PAGE = (ROOT / "gql" / "landing_page.graphql").read_text()


async def test_landing_page_shows_the_page_content(client: GraphQLClient) -> None:
    data = await client.query(LANDING_PAGE, {"n": 5})
    program = data["starsProgram"]
    assert program["name"] == "Spotify Stars Program"
    assert [perk["title"] for perk in program["perks"]] == [
        "Special Community permissions and access",
        "Product research, feedback, and early testing opportunities",
        "Calls with Spotify teams",
        "Star only events",
        "Chance to get branded swag",
        "Tweeting from AskSpotifyStars",
    ]
    assert [(v["name"], v["icon"]) for v in program["values"]] == [
        ("Respect", "RESPECT"), ("Inclusion", "INCLUSION"), ("Support", "SUPPORT"),
        ("Teamwork", "TEAMWORK"), ("Fun", "FUN"), ("Responsibility", "RESPONSIBILITY"),
    ]
    assert [(p["title"], p["publishedAt"][:10]) for p in program["blogPosts"]["nodes"]] == [
        ("Backstage intro - Meet Vincent", "2024-10-07"),
        ("Backstage Intro: Meet Leticia", "2024-06-17"),
        ("Backstage Intro - Meet Susana!", "2024-04-26"),
    ]
    assert "18 years of age or older" in program["becomeAStar"]
    assert {"vincent", "ribezaz", "susana"} <= {star["handle"] for star in data["stars"]["nodes"]}
    assert data["helpWizard"]["firstStep"]["prompt"] == "What do you need help with?"
    assert len(data["helpWizard"]["firstStep"]["options"]) == 4
    views = [faq["views"] for faq in data["faqs"]["nodes"]]
    assert views == sorted(views, reverse=True) and len(views) == 5
    affected = [issue["affectedCount"] for issue in data["ongoingIssues"]["nodes"]]
    assert affected == sorted(affected, reverse=True)
    assert all(issue["status"] != "RESOLVED" for issue in data["ongoingIssues"]["nodes"])
    assert data["announcements"]["nodes"][0]["pinned"] is True
    assert "Scheduled maintenance on 5 March" not in [a["title"] for a in data["announcements"]["nodes"]]


async def test_statement_count_does_not_grow_with_page_size(client: GraphQLClient) -> None:
    # Enough rows that 50 really means more items than 5 in every list that can grow.
    board = await Board.get(slug="chat")
    for n in range(12):
        star = await make_user("landing_star", Role.STAR)
        await make_post(star, board)
    with count_sql() as small:
        small_data = await client.query(LANDING_PAGE, {"n": 5})
    with count_sql() as large:
        large_data = await client.query(LANDING_PAGE, {"n": 50})
    assert len(large_data["posts"]["nodes"]) > len(small_data["posts"]["nodes"])
    assert len(large_data["stars"]["nodes"]) > len(small_data["stars"]["nodes"])
    # Not more for more items. It can be one fewer: a relation's batch is skipped when an earlier
    # list of the page already loaded every row it needs (here, the posts' authors among the 50
    # Stars, which are users too), as loaders cache by key.
    assert large.count <= small.count, (small.statements, large.statements)
    assert small.count - large.count <= 1, (small.statements, large.statements)
    # One statement per list and per relation batch; see the README for the breakdown.
    assert large.count <= 25, large.statements


# Runs in its own process, on its own SQLite file: the session's database must stay small.
_COUNT_LANDING_STATEMENTS = """
import asyncio, json, sys
import httpx
from tortoise import Tortoise
from gql.app import create_app
from gql.settings import Settings
from models.db import tortoise_config
from tests.support import count_sql

async def main(url, query):
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    settings = Settings.from_env({}, database_url=url, rate_limit_enabled=False, response_cache_enabled=False)
    app = create_app(settings, manage_orm=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            with count_sql() as sql:
                response = await http.post("/graphql", json={"query": query, "variables": {"n": 5}})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    await Tortoise.close_connections()
    print(sql.count)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_statement_count_does_not_change_with_the_community_size(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'scaled.sqlite3'}"
    environment = {**os.environ, "DATABASE_URL": url}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, *args], env=environment, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def statements() -> int:
        return int(run("-c", _COUNT_LANDING_STATEMENTS, url, LANDING_PAGE).split()[-1])

    run("-m", "gql.cli", "migrate")
    run("-m", "gql.cli", "seed")
    at_seed = statements()
    run("-m", "gql.cli", "seed", "--scale", "300")  # 300 members with their posts, kudos, replies
    assert statements() == at_seed
