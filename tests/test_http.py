"""GraphQL-over-HTTP behaviour: methods, media types, request errors, body limits, CSRF."""

from __future__ import annotations

import json

import pytest

from models.accounts import User
from tests.support import GraphQLClient

QUERY = "{ viewer { isAuthenticated } }"
MUTATION = 'mutation { register(input: {handle: "http_csrf", password: "long enough pw"}) { token } }'


async def _no_user_created() -> bool:
    return not await User.filter(handle="http_csrf").exists()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_get_405_with_allow(client: GraphQLClient, method: str) -> None:
    response = await client.http.request(method, "/graphql", json={"query": QUERY})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_get_runs_queries(client: GraphQLClient) -> None:
    response = await client.http.get("/graphql", params={"query": "query($n: Int) { announcements(first: $n) { totalCount } }",
                                                          "variables": json.dumps({"n": 1})})
    assert response.status_code == 200
    assert "totalCount" in response.json()["data"]["announcements"]


async def test_get_refuses_mutations_with_405_allow_post_and_runs_nothing(client: GraphQLClient) -> None:
    response = await client.http.get("/graphql", params={"query": MUTATION})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert await _no_user_created()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        ("application/json", "application/json"),
        ("application/json;q=0.9, application/graphql-response+json", "application/graphql-response+json"),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
        # Only a wildcard (curl, most HTTP libraries): a client older than the draft, so its JSON.
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/html, */*;q=0.8", "application/json"),
        ("*/*, application/graphql-response+json", "application/graphql-response+json"),
        ("application/graphql-response+json, application/json;q=0.9", "application/graphql-response+json"),
    ],
)
async def test_accept_negotiation(client: GraphQLClient, accept: str, expected: str) -> None:
    response = await client.post(QUERY, headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == expected


@pytest.mark.parametrize("operation_name", [0, False, 1, True, ["q"]])
async def test_an_operation_name_that_is_not_a_string_is_400(client: GraphQLClient, operation_name: object) -> None:
    # Falsy ones too: `false` must not quietly mean "no name".
    response = await client.http.post("/graphql", json={"query": QUERY, "operationName": operation_name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_nothing_acceptable_is_406(client: GraphQLClient) -> None:
    response = await client.post(QUERY, headers={"accept": "text/xml"})
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps({"query": MUTATION})),
        ("application/x-www-form-urlencoded", "query=" + MUTATION),
        ("multipart/form-data; boundary=x", f'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{MUTATION}\r\n--x--\r\n'),
        (None, json.dumps({"query": MUTATION})),
    ],
)
async def test_non_json_posts_are_415_and_not_executed(client: GraphQLClient, content_type: str | None, body: str) -> None:
    # A browser form (or a "simple" fetch) can send these cross-site without a CORS preflight.
    headers = {"content-type": content_type} if content_type else {}
    response = await client.http.post("/graphql", content=body.encode(), headers=headers)
    assert response.status_code == 415
    assert await _no_user_created()


async def test_body_that_is_not_json_is_400(client: GraphQLClient) -> None:
    response = await client.http.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The body is not valid JSON"


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_parse_error_is_400_without_data(client: GraphQLClient, accept: str) -> None:
    response = await client.post("{ viewer { ", headers={"accept": accept})
    assert response.status_code == 400
    assert "data" not in response.json()
    assert "Syntax Error" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_validation_error_is_400_without_data(client: GraphQLClient, accept: str) -> None:
    response = await client.post("{ viewer { noSuchField } }", headers={"accept": accept})
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_execution_errors_keep_200_and_data(client: GraphQLClient) -> None:
    response = await client.post("{ announcements(first: 500) { totalCount } viewer { isAuthenticated } }")
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None or "viewer" in payload["data"]
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("body", [b"[]", b'"query"', b"42"])
async def test_body_must_be_one_json_object(client: GraphQLClient, body: bytes) -> None:
    response = await client.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_batched_arrays_are_refused(client: GraphQLClient) -> None:
    response = await client.http.post("/graphql", json=[{"query": QUERY}, {"query": QUERY}])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BATCHING_DISABLED"


async def test_oversized_body_is_413_by_declared_length(client: GraphQLClient) -> None:
    response = await client.http.post("/graphql", json={"query": QUERY, "pad": "x" * 200_000})
    assert response.status_code == 413


async def test_oversized_streamed_body_is_413_before_it_is_read_whole(client: GraphQLClient) -> None:
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(100):
            sent += 10_000
            yield b" " * 10_000

    response = await client.http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert sent < 1_000_000


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"query": "{ viewer { isAuthenticated } }", "variables": "{bad"}, 400),
        ({"query": "{ viewer { isAuthenticated } }", "variables": "[1]"}, 400),
        ({}, 400),
    ],
)
async def test_bad_get_parameters_are_400(client: GraphQLClient, params: dict, status: int) -> None:
    response = await client.http.get("/graphql", params=params)
    assert response.status_code == status


async def test_unknown_operation_name_is_400(client: GraphQLClient) -> None:
    response = await client.post("query A { viewer { isAuthenticated } }", operation_name="B")
    assert response.status_code == 400


# The HTTP layer behaves the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
