"""What explorers of the API read: the published SDL, and GraphiQL served from this server.

`GET /schema.graphql` is the SDL printed from the running schema object (the repository's
`schema.graphql`, which a test keeps equal to the code), in both profiles: it is public.

GraphiQL is served in development, and in production only with GRAPHIQL_IN_PRODUCTION. Its
assets are GraphiQL 5 (React 19, Monaco and its web workers, graphql-ws) bundled by esbuild from
npm packages pinned by integrity in scripts/graphiql-bundle/package-lock.json: scripts/vendor_graphiql.py
builds them into gql/http/static/graphiql/ with a manifest of each bundled package's version and
integrity and each built file's sha256 (`--check` rebuilds and compares); only the manifest's
files are served, and a file whose bytes differ from its record stops the app from starting. The
page never introspects: its script (scripts/graphiql-bundle/src/graphiql.js) fetches
/schema.graphql and builds the schema with graphql-js's buildSchema; GraphiQL given a
GraphQLSchema object sends no introspection query, so introspection can stay off in production
while the docs explorer and completion work.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry import Schema

ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
MANIFEST_PATH = ASSETS_DIR / "manifest.json"
STATIC_PATH = "/graphiql/static"
SDL_PATH = "/schema.graphql"

DEFAULT_QUERY = (Path(__file__).parent.parent / "landing_page.graphql").read_text()

# text/plain, not application/graphql: that type is registered nowhere (the GraphQL-over-HTTP
# draft dropped it), and a browser shows text/plain where it would download anything else.
SDL_MEDIA_TYPE = "text/plain; charset=utf-8"
# Changes with a deploy only: caches may keep it but must ask again each time (a 304 is cheap).
REVALIDATE = "public, no-cache"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".txt": "text/plain; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    """Bytes served as they are, with a strong ETag: the quoted sha256 of those bytes."""

    body: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str, sha256: str | None = None) -> Asset:
        return cls(body, media_type, f'"{sha256 or hashlib.sha256(body).hexdigest()}"')


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal to ours by weak comparison."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


def serve_asset(request: Request, asset: Asset) -> Response:
    """200 with the bytes, or 304 when the client holds them already (If-None-Match)."""
    headers = {"ETag": asset.etag, "Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"}
    if _matches(request.headers.get("if-none-match", ""), asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


class PublishedSchema:
    """`GET /schema.graphql`: the running schema's SDL. Bytes and ETag are computed once per
    process, on first use (printing takes 40 ms, too much for every app a test suite builds)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    @cached_property
    def sdl(self) -> Asset:
        return Asset.of((self.schema.as_str() + "\n").encode(), SDL_MEDIA_TYPE)

    async def endpoint(self, request: Request) -> Response:
        return serve_asset(request, self.sdl)

    def route(self) -> Route:
        return Route(SDL_PATH, self.endpoint, methods=["GET", "HEAD"])


class VendoredAssetError(RuntimeError):
    """A vendored file is missing or differs from the manifest: re-run scripts/vendor_graphiql.py."""


@cache
def load_vendored_assets(directory: Path = ASSETS_DIR) -> dict[str, Asset]:
    """The manifest's files, each checked against its recorded sha256 (nothing else is served).
    Read once per process: every app built in it serves the same bytes."""
    manifest = json.loads((directory / "manifest.json").read_text())
    assets: dict[str, Asset] = {}
    for name, record in manifest["files"].items():
        try:
            body = (directory / name).read_bytes()
        except OSError as exc:
            raise VendoredAssetError(f"{directory / name}: {exc.strerror}; run scripts/vendor_graphiql.py") from None
        sha256 = hashlib.sha256(body).hexdigest()
        if sha256 != record["sha256"]:
            raise VendoredAssetError(f"{directory / name} is not the file built from the pinned packages "
                                     "(sha256 differs from manifest.json); run scripts/vendor_graphiql.py")
        assets[name] = Asset.of(body, _MEDIA_TYPES.get(Path(name).suffix, "text/plain; charset=utf-8"), sha256)
    return assets


# The page runs no inline script: its code is graphiql.js, which reads the JSON data block. Monaco's
# language services run in web workers loaded from this origin. GraphiQL and Monaco set inline
# styles (hence 'unsafe-inline' for styles only) and inline their fonts as data: URIs; everything
# else comes from this origin, and no other site may frame the page.
_CSP = ("default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self' 'unsafe-inline'; "
        "font-src data:; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Community Help API · GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{static}/graphiql.css">
</head>
<body style="height: 100vh; margin: 0">
  <div id="graphiql" style="height: 100vh">Loading GraphiQL…</div>
  <script type="application/json" id="graphiql-config">{config}</script>
  <script src="{static}/graphiql.js"></script>
</body>
</html>
"""


class GraphiQLIde:
    """The page and its vendored assets (the schema it shows is /schema.graphql)."""

    def __init__(self) -> None:
        self.assets = load_vendored_assets()
        config = {"endpoint": "/graphql", "schemaUrl": SDL_PATH, "defaultQuery": DEFAULT_QUERY}
        # A JSON data block: escaping "<" keeps any "</script>" in the default query inside it.
        self.html = _PAGE.format(static=STATIC_PATH, config=json.dumps(config).replace("<", "\\u003c")).encode()
        self.csp = _CSP

    async def page(self, _request: Request) -> Response:
        return Response(self.html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": self.csp, "X-Content-Type-Options": "nosniff"})

    async def asset(self, request: Request) -> Response:
        asset = self.assets.get(request.path_params["name"])
        if asset is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return serve_asset(request, asset)

    def routes(self) -> list[Route]:
        return [Route(f"{STATIC_PATH}/{{name}}", self.asset, methods=["GET", "HEAD"])]
