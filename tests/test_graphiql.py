"""GraphiQL in development: served from local assets only; absent in production."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import httpx
import pytest

from gql.app import create_app
from gql.settings import Settings
from tests.live_server import live_server
from tests.support import GraphQLClient

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


async def test_graphiql_page_uses_only_local_assets(client: GraphQLClient) -> None:
    page = await client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "the page must not load anything from another host"
    assets = re.findall(r"(?:src|href)=\"(/graphiql/static/[^\"]+)\"", page.text)
    assert len(assets) == 5
    for asset in assets:
        response = await client.http.get(asset)
        assert response.status_code == 200, asset
        expected = "text/css" if asset.endswith(".css") else "javascript"
        assert expected in response.headers["content-type"], asset


async def test_production_serves_no_ide(db: str) -> None:
    app = create_app(Settings.from_env({}, app_env="production"), manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 406 and "GraphiQL" not in page.text
        assert (await http.get("/graphiql/static/graphiql.min.js")).status_code == 404


@pytest.mark.skipif(BROWSER is None, reason="Browser test skipped: no chromium on this machine (apt-get install chromium)")
def test_graphiql_renders_in_a_real_browser(db: str, db_url: str) -> None:
    with live_server(db_url) as base, tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--virtual-time-budget=15000", "--dump-dom", f"{base}/graphql"],
            capture_output=True, text=True, timeout=120,
        )
    dom = result.stdout
    assert "graphiql-container" in dom, dom[:2000]
    assert "Loading GraphiQL" not in dom
    assert "LandingPage" in dom  # the default query is in the editor


# The HTTP layer behaves the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
