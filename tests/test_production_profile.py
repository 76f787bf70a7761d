"""APP_ENV=production: no introspection, no suggestions, no IDE, masked errors with request ids."""

from __future__ import annotations

import logging

import pytest

from models.accounts import User
from models.posts import Post
from tests.conftest import client_for, settings_with
from tests.support import GraphQLClient

INTROSPECTION = "{ __schema { queryType { name } } }"


class FailingLookup:
    """Stands in for `Post.visible_to(viewer)` so that `post(slug:)` fails, or hangs, inside a resolver."""

    model = Post

    def __init__(self, behaviour):
        self.behaviour = behaviour

    async def get_or_none(self, **_: object) -> None:
        await self.behaviour()


@pytest.fixture
def production():
    return settings_with(app_env="production", rate_limit_enabled=False)


async def test_introspection_is_off_in_production_and_on_in_development(db: str, production, client: GraphQLClient) -> None:
    async with client_for(production) as prod:
        refused = await prod.post(INTROSPECTION)
        assert refused.status_code == 400 and "introspection" in refused.json()["errors"][0]["message"].lower()
        typename = await prod.post("{ __typename }")
        assert typename.status_code == 200
    assert (await client.post(INTROSPECTION)).json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_no_field_suggestions_in_production(db: str, production, client: GraphQLClient) -> None:
    async with client_for(production) as prod:
        message = (await prod.post("{ viewr { isAuthenticated } }")).json()["errors"][0]["message"]
    assert "Did you mean" not in message and "viewr" in message  # still says what is wrong
    assert "Did you mean" in (await client.post("{ viewr { isAuthenticated } }")).json()["errors"][0]["message"]


async def test_unexpected_errors_are_masked_with_a_request_id_that_is_logged(
    db: str, production, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError('SELECT secret FROM "users" -- boom')

    monkeypatch.setattr(Post, "visible_to", classmethod(lambda cls, viewer: FailingLookup(explode)))
    async with client_for(production) as prod:
        with caplog.at_level(logging.ERROR, logger="gql.errors"):
            response = await prod.post('{ post(slug: "x") { id } }', operation_name=None)
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert response.headers["x-request-id"] == request_id
    assert "SELECT" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and "boom" in str(logged[0].exc_info[1])


async def test_operation_name_cannot_forge_log_lines(db: str, production, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Post, "visible_to", classmethod(lambda cls, viewer: FailingLookup(explode)))
    forged = "A\nINFO forged: admin logged in"
    async with client_for(production) as prod:
        with caplog.at_level(logging.DEBUG):
            # No operation can be named with a newline: refused before execution, nothing logged raw.
            refused = await prod.post('query A { post(slug: "x") { id } }', operation_name=forged)
            # A real failure logs the name it ran under, escaped.
            failed = await prod.post('query A { post(slug: "x") { id } }', operation_name="A")
    assert refused.status_code == 400 and failed.status_code == 200
    messages = [record.getMessage() for record in caplog.records]
    assert any("operation 'A' failed" in message for message in messages)
    assert not any("INFO forged" in line for message in messages for line in message.splitlines()[1:])


async def test_authorization_never_trusts_the_operation_name(db: str, production) -> None:
    async with client_for(production) as prod:
        for name in ("IntrospectionQuery", "login", "admin"):
            response = await prod.post(f"query {name} {{ moderationLog {{ totalCount }} }}", operation_name=name)
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_get_queries_run_in_production_under_the_same_profile(db: str, production) -> None:
    """GraphQL-over-HTTP clients send queries as GET: production runs them, and a GET gets no
    more than a POST does (introspection, suggestions and limits as the profile says)."""
    async with client_for(production) as prod:
        def get(query: str):
            return prod.http.get("/graphql", params={"query": query})

        answered = await get("{ viewer { isAuthenticated } }")
        introspection = await get(INTROSPECTION)
        misspelt = await get("{ viewr { isAuthenticated } }")
        aliased = await get("{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }")
    assert answered.status_code == 200 and answered.json()["data"] == {"viewer": {"isAuthenticated": False}}
    assert introspection.status_code == 400 and "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert misspelt.status_code == 400 and "Did you mean" not in misspelt.text
    assert aliased.status_code == 400 and aliased.json()["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"


async def test_mutations_over_get_are_refused_in_production(db: str, production) -> None:
    async with client_for(production) as prod:
        response = await prod.http.get("/graphql", params={"query": 'mutation { register(input: {handle: "prod_get", password: "long enough pw"}) { token } }'})
    assert response.status_code == 405
    assert not await User.filter(handle="prod_get").exists()


async def test_no_tracing_or_timings_in_extensions(db: str, production) -> None:
    async with client_for(production) as prod:
        extensions = (await prod.post("{ viewer { isAuthenticated } }")).json().get("extensions", {})
    assert set(extensions) <= {"cost"}


async def test_cross_site_form_posts_never_run(db: str, production) -> None:
    async with client_for(production) as prod:
        response = await prod.http.post(
            "/graphql", content=b'query=mutation { register(input: {handle: "csrf_victim", password: "long enough pw"}) { token } }',
            headers={"content-type": "application/x-www-form-urlencoded", "origin": "https://evil.example"})
    assert response.status_code == 415
    assert "access-control-allow-origin" not in response.headers
    assert not await User.filter(handle="csrf_victim").exists()


async def test_cors_only_for_listed_origins_and_never_with_credentials(db: str) -> None:
    async with client_for(settings_with(cors_origins="https://help.example.com", rate_limit_enabled=False)) as client:
        allowed = await client.http.options("/graphql", headers={
            "origin": "https://help.example.com", "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
        assert allowed.headers["access-control-allow-origin"] == "https://help.example.com"
        assert "access-control-allow-credentials" not in allowed.headers
        other = await client.http.options("/graphql", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in other.headers


async def test_slow_requests_time_out_and_are_cancelled(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    monkeypatch.setattr(Post, "visible_to", classmethod(lambda cls, viewer: FailingLookup(slow)))
    async with client_for(settings_with(request_timeout_seconds=1, rate_limit_enabled=False)) as client:
        response = await client.post('{ post(slug: "x") { id } }')
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert cancelled.is_set()
