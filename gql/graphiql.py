"""GraphiQL for development, served entirely from this server.

Strawberry's own page loads React and GraphiQL from a CDN; our users (and CI) may have no internet,
so the assets come from the `graphene-django-graphiql-static` wheel (GraphiQL 2 and React 17 UMD
builds, plain files: nothing of Django is imported) and are served under /graphiql/static/.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_PACKAGE = "graphene_django_graphiql_static"
ASSETS_DIR = f"static/{ASSETS_PACKAGE}"
STATIC_PATH = "/graphiql/static"

DEFAULT_QUERY = (Path(__file__).parent / "landing_page.graphql").read_text()

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Community Help API · GraphiQL</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; overflow: hidden; width: 100%; }}</style>
  <link rel="stylesheet" href="{static}/graphiql.min.css">
  <script src="{static}/react.production.min.js"></script>
  <script src="{static}/react-dom.production.min.js"></script>
  <script src="{static}/graphql-ws.min.js"></script>
  <script src="{static}/graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>
    const endpoint = new URL("/graphql", window.location.href);
    const socket = new URL("/graphql", window.location.href);
    socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
    const fetcher = GraphiQL.createFetcher({{
      url: endpoint.href,
      wsClient: graphqlWs.createClient({{ url: socket.href, lazy: true }}),
    }});
    ReactDOM.render(
      React.createElement(GraphiQL, {{
        fetcher: fetcher,
        defaultQuery: {default_query},
        headerEditorEnabled: true,
        shouldPersistHeaders: false,
      }}),
      document.getElementById("graphiql"),
    );
  </script>
</body>
</html>
"""


def graphiql_assets() -> Mount:
    return Mount(STATIC_PATH, app=StaticFiles(packages=[(ASSETS_PACKAGE, ASSETS_DIR)]), name="graphiql-static")


async def graphiql_page(_request: Request) -> Response:
    # json.dumps makes the query a JS string literal; escaping "</" keeps it inside the script tag.
    default_query = json.dumps(DEFAULT_QUERY).replace("</", "<\\/")
    return HTMLResponse(_PAGE.format(static=html.escape(STATIC_PATH), default_query=default_query))
