"""`GET /schema.graphql`: the published SDL, in both profiles, with a strong ETag and 304s."""

from __future__ import annotations

import hashlib

import pytest

from gql.schema import export_sdl
from tests.test_graphiql import http_on


@pytest.fixture(scope="module")
def exported() -> bytes:
    """What `community-api export-schema` writes (building a schema costs: once per module)."""
    return export_sdl().encode()


@pytest.mark.parametrize("app_env", ["development", "production"])
async def test_serves_the_exported_sdl_in_both_profiles(db: str, exported: bytes, app_env: str) -> None:
    """The bytes are `community-api export-schema`'s (which test_contracts keeps equal to the
    repository's schema.graphql); the ETag is their sha256, so it follows every schema change."""
    async with http_on(app_env=app_env) as http:
        response = await http.get("/schema.graphql")
    assert response.status_code == 200
    assert response.content == exported
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_if_none_match_answers_304_only_for_the_current_bytes(db: str, exported: bytes) -> None:
    async with http_on() as http:
        etag = (await http.get("/schema.graphql")).headers["etag"]
        for held in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
            response = await http.get("/schema.graphql", headers={"if-none-match": held})
            assert response.status_code == 304 and response.content == b"", held
            assert response.headers["etag"] == etag and response.headers["cache-control"] == "public, no-cache"
        for stale in ('"0000"', etag.strip('"'), ""):
            response = await http.get("/schema.graphql", headers={"if-none-match": stale})
            assert response.status_code == 200 and response.content == exported, stale


async def test_head_answers_headers_only_and_writes_are_refused(db: str, exported: bytes) -> None:
    async with http_on() as http:
        head = await http.head("/schema.graphql")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(exported))
        for method in ("POST", "PUT", "DELETE"):
            refused = await http.request(method, "/schema.graphql", content=b"type Query { x: Int }")
            assert refused.status_code == 405, method
            assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD"}


# Served from memory, the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
