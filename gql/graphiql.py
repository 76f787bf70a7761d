"""What explorers of the API read: the published SDL, and GraphiQL served from this server.

`GET /schema.graphql` is the SDL printed from the running schema object (the repository's
`schema.graphql`, which a test keeps equal to the code), in both profiles: it is public.

GraphiQL is served in development, and in production only with GRAPHIQL_IN_PRODUCTION. Its
assets are the official npm packages' published files (GraphiQL's UMD build, React 18, graphql-ws),
vendored in gql/static/graphiql/ by scripts/vendor_graphiql.py with a manifest of each file's
package, version, tarball integrity and sha256; only the manifest's files are served, and a file
whose bytes differ from its record stops the app from starting. The page never introspects: it
fetches /schema.graphql and builds the schema with the graphql-js that GraphiQL's bundle exposes
(`GraphiQL.GraphQL.buildSchema`); GraphiQL given a GraphQLSchema object sends no introspection
query (given an introspection result, GraphiQL 4 still sends one), so introspection can stay off
in production while the docs explorer and completion work.
"""

from __future__ import annotations

import base64
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

DEFAULT_QUERY = (Path(__file__).parent / "landing_page.graphql").read_text()

# text/plain, not application/graphql: that type is registered nowhere (the GraphQL-over-HTTP
# draft dropped it), and a browser shows text/plain where it would download anything else.
SDL_MEDIA_TYPE = "text/plain; charset=utf-8"
# Changes with a deploy only: caches may keep it but must ask again each time (a 304 is cheap).
REVALIDATE = "public, no-cache"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    """Bytes served as they are, with a strong ETag: the quoted sha256 of those bytes."""

    body: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str, sha256: str | None = None) -> "Asset":
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
            raise VendoredAssetError(f"{directory / name} is not the file {record['package']}@{record['version']} "
                                     "published (sha256 differs from manifest.json); run scripts/vendor_graphiql.py")
        assets[name] = Asset.of(body, _MEDIA_TYPES.get(Path(name).suffix, "text/plain; charset=utf-8"), sha256)
    return assets


# The page's one executable script: constant, so the CSP allows it by hash and nothing else inline.
# It builds the schema from the published SDL first: GraphiQL given a GraphQLSchema never introspects.
_BOOT_SCRIPT = """
(async function () {
  const config = JSON.parse(document.getElementById("graphiql-config").textContent);
  const root = document.getElementById("graphiql");
  let schema;
  try {
    const response = await fetch(config.schemaUrl, { headers: { accept: "text/plain" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    schema = GraphiQL.GraphQL.buildSchema(await response.text());
  } catch (error) {
    root.textContent = "Could not load the schema from " + config.schemaUrl + ": " + error.message;
    return;
  }
  const endpoint = new URL(config.endpoint, window.location.href);
  const socket = new URL(endpoint.href);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    wsClient: graphqlWs.createClient({ url: socket.href, lazy: true }),
  });
  // GraphiQL 4's history stores each run's headers in localStorage even with shouldPersistHeaders
  // off, so a bearer token typed in the Headers tab would outlive the tab: history is stored
  // without its headers (the tabs are already stored without theirs).
  const ours = (key) => key.startsWith("graphiql:");
  const storage = {
    getItem: (key) => localStorage.getItem(key),
    setItem(key, value) {
      if (/:(queries|favorites)$/.test(key)) {
        const stored = JSON.parse(value);
        for (const item of stored.queries || []) delete item.headers;
        value = JSON.stringify(stored);
      }
      localStorage.setItem(key, value);
    },
    removeItem: (key) => localStorage.removeItem(key),
    clear: () => Object.keys(localStorage).filter(ours).forEach((key) => localStorage.removeItem(key)),
    get length() { return Object.keys(localStorage).filter(ours).length; },
  };
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    schema: schema,
    storage: storage,
    defaultQuery: config.defaultQuery,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }));
})();
"""

# GraphiQL sets inline styles (hence 'unsafe-inline' for styles only) and inlines its fonts as
# data: URIs; everything else comes from this origin, and no other site may frame the page.
_CSP = ("default-src 'none'; script-src 'self' 'sha256-{script}'; style-src 'self' 'unsafe-inline'; "
        "font-src data:; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Community Help API · GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{static}/graphiql.min.css">
  <script src="{static}/react.production.min.js"></script>
  <script src="{static}/react-dom.production.min.js"></script>
  <script src="{static}/graphql-ws.min.js"></script>
  <script src="{static}/graphiql.min.js"></script>
</head>
<body style="height: 100vh; margin: 0">
  <div id="graphiql" style="height: 100vh">Loading GraphiQL…</div>
  <script type="application/json" id="graphiql-config">{config}</script>
  <script>{script}</script>
</body>
</html>
"""


class GraphiQLIde:
    """The page and its vendored assets (the schema it shows is /schema.graphql)."""

    def __init__(self) -> None:
        self.assets = load_vendored_assets()
        config = {"endpoint": "/graphql", "schemaUrl": SDL_PATH, "defaultQuery": DEFAULT_QUERY}
        # A JSON data block: escaping "<" keeps any "</script>" in the default query inside it.
        self.html = _PAGE.format(static=STATIC_PATH, config=json.dumps(config).replace("<", "\\u003c"),
                                 script=_BOOT_SCRIPT).encode()
        self.csp = _CSP.format(script=base64.b64encode(hashlib.sha256(_BOOT_SCRIPT.encode()).digest()).decode())

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
