"""graphql-cop's checks, made the way graphql-cop makes them, against the production profile.

Issue #4: the scanner graphql-cop (github.com/dolevf/graphql-cop) must find nothing on
APP_ENV=production; issue #12 accepts one finding, GET queries, for GraphQL-over-HTTP clients, and
`test_get_queries` pins why it is no CSRF. It cannot be installed here, so each check is redone: the same
request (method, headers, body, the `operationName: "cop"` its helper always adds) against a real
uvicorn, judged by the same rule graphql-cop uses to report a finding. Each test also pins what
we answer instead (status and code), so that no check passes because its request went nowhere;
and the development profile must still trip the information checks, which proves the rules fire.
"""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from tests.live_server import live_server

# graphql-cop's config.HEADERS; `requests` adds `Accept: */*`, as httpx does.
COP_HEADERS = {"User-Agent": "graphql-cop/1.6"}
IDE_MARKERS = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
IDE_PATHS = ("/graphiql", "/playground", "/console", "/graphql")
INTROSPECTION = "query cop { __schema { types { name fields { name } } } }"
MISSPELT = "query cop { __schema { directive } }"
TYPENAME = "query cop { __typename }"


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers=COP_HEADERS, timeout=20)


@pytest.fixture(scope="module")
def production(db: str, db_url: str) -> Iterator[httpx.Client]:
    with live_server(db_url, APP_ENV="production") as base, _client(base) as http:
        yield http


@pytest.fixture(scope="module")
def development(db: str, db_url: str) -> Iterator[httpx.Client]:
    with live_server(db_url, APP_ENV="development") as base, _client(base) as http:
        yield http


# -- graphql-cop's requests, and its rules for a finding ------------------------------------------

def cop_query(http: httpx.Client, query: str) -> httpx.Response:
    """graphql-cop's `graph_query`: a JSON POST that always names the operation `cop`."""
    return http.post("/graphql", json={"query": query, "operationName": "cop"})


def body(response: httpx.Response) -> Any:
    """The body as graphql-cop reads it: its JSON, or nothing when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return {}


def dig(value: Any, *keys: str | int) -> Any:
    """`value[k1][k2]...`, or None where graphql-cop's bare `except` would swallow the lookup."""
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def answers_typename(response: httpx.Response) -> bool:
    """The rule of the GET, GET-mutation, form-POST and field-duplication checks."""
    return bool(dig(body(response), "data", "__typename"))


def suggests(response: httpx.Response) -> bool:
    return "Did you mean" in (dig(body(response), "errors", 0, "message") or "")


def introspects(response: httpx.Response) -> bool:
    return bool(dig(body(response), "data", "__schema", "types"))


def shows_ide(response: httpx.Response) -> bool:
    return any(marker in response.text for marker in IDE_MARKERS)


def leaks(response: httpx.Response, key: str) -> bool:
    """The tracing (`key="tracing"`) and unhandled-error (`key="exception"`) rules."""
    found = body(response)
    return bool(dig(found, "errors", 0, "extensions", key)) or f"'extensions': {{'{key}':" in str(found).lower()


def error(response: httpx.Response) -> dict[str, Any]:
    return response.json()["errors"][0]


def messages(response: httpx.Response) -> list[str]:
    return [e["message"] for e in response.json()["errors"]]


# -- production: every check finds nothing --------------------------------------------------------

def test_graphql_cop_recognises_the_endpoint(production: httpx.Client) -> None:
    """graphql-cop runs no check on a URL its `is_graphql` does not recognise: were that the case,
    "found nothing" would mean nothing. It recognises us by `data.__typename == "Query"`."""
    response = cop_query(production, TYPENAME)
    assert response.status_code == 200 and body(response)["data"] == {"__typename": "Query"}


def test_introspection(production: httpx.Client) -> None:
    """Flags (HIGH) any `data.__schema.types`. Production validation refuses `__schema`."""
    response = cop_query(production, INTROSPECTION)
    assert not introspects(response)
    assert response.status_code == 400 and "data" not in response.json()
    assert "introspection has been disabled" in error(response)["message"]


def test_field_suggestions(production: httpx.Client) -> None:
    """Flags (LOW) "Did you mean" in the first error's message. That first error is the refused
    `__schema`, so we look at every message: the misspelt field is named, nothing suggested."""
    response = cop_query(production, MISSPELT)
    assert not suggests(response)
    assert response.status_code == 400
    assert "Cannot query field 'directive' on type '__Schema'." in messages(response)
    assert "Did you mean" not in response.text


@pytest.mark.parametrize(("path", "accept", "status", "code"), [
    # Newer graphql-cop asks the scanned URL for HTML; older ones GET four usual IDE paths as is.
    ("/graphql", "text/html", 406, "NOT_ACCEPTABLE"),
    ("/graphql", "*/*", 400, "BAD_REQUEST"),
    *((path, accept, 404, None) for path in IDE_PATHS[:3] for accept in ("text/html", "*/*")),
])
def test_ide_detection(production: httpx.Client, path: str, accept: str, status: int, code: str | None) -> None:
    """Flags (LOW) a page that mentions GraphiQL or Playground. Production serves no IDE at all."""
    response = production.get(path, headers={"Accept": accept})
    assert not shows_ide(response)
    assert response.status_code == status
    if code:
        assert error(response)["extensions"]["code"] == code


@pytest.mark.parametrize("path", ["/graphiql/static/graphiql.js", "/graphiql/static/graphiql.css",
                                  "/graphiql/static/graphql.worker.js"])
def test_no_ide_assets(production: httpx.Client, path: str) -> None:
    """Nor are GraphiQL's files served: GRAPHIQL_IN_PRODUCTION is off, as by default."""
    response = production.get(path)
    assert response.status_code == 404 and not shows_ide(response)


def test_get_queries(production: httpx.Client) -> None:
    """Flags (MEDIUM, possible CSRF) a query text answered over GET, which any cross-site page can
    make a browser send. Accepted since issue #12: GraphQL-over-HTTP clients send queries as GET
    (urql by default). It is no CSRF here, and this pins each reason: a GET runs queries only,
    which change nothing (a mutation is 405, `test_get_mutations`); the page that sent it cannot
    read the answer (no CORS grant to its origin); and the browser's ambient credentials count
    for nothing (identity is a bearer token a page on another site does not have, never a cookie)."""
    response = production.get("/graphql", params={"query": "query cop { __typename viewer { isAuthenticated } }"},
                              headers={"Origin": "https://evil.example", "Cookie": "session=stolen"})
    assert answers_typename(response), response.text  # graphql-cop's rule fires: the accepted finding
    assert "access-control-allow-origin" not in response.headers
    assert body(response)["data"]["viewer"] == {"isAuthenticated": False}


def test_get_mutations(production: httpx.Client) -> None:
    """Flags (MEDIUM, CSRF) a mutation run over GET. We refuse it before anything executes."""
    response = production.get("/graphql", params={"query": "mutation cop {__typename}"})
    assert not answers_typename(response)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("form", [
    {"data": {"query": "query cop {__typename}"}},  # newer: an urlencoded form body
    {"params": {"query": "query cop {__typename}"}},  # older: the query in the URL of a bodiless POST
], ids=["form-body", "query-string"])
def test_post_based_csrf(production: httpx.Client, form: dict[str, Any]) -> None:
    """Flags (MEDIUM, CSRF) a query run from a POST that is not JSON, which any HTML form can send."""
    response = production.post("/graphql", **form)
    assert not answers_typename(response)
    assert response.status_code == 415 and error(response)["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_alias_overloading(production: httpx.Client) -> None:
    """Flags (HIGH, DoS) an answer to `alias100` among 101 aliases of `__typename`."""
    response = cop_query(production, "query cop { " + "".join(f"alias{i}:__typename \n" for i in range(101)) + " }")
    assert not dig(body(response), "data", "alias100")
    assert response.status_code == 400
    # The walk stops at the first alias past the limit: `value` is what it had counted by then.
    assert error(response)["extensions"] == {"code": "MAX_ALIASES_EXCEEDED", "value": 31, "limit": 30}


def test_array_batching(production: httpx.Client) -> None:
    """Flags (HIGH, DoS) a JSON answer of 10 or more items to a batch of 10 queries."""
    response = production.post("/graphql", json=[{"query": TYPENAME}] * 10)
    assert len(body(response)) < 10
    assert response.status_code == 400 and error(response)["extensions"]["code"] == "BATCHING_DISABLED"


def test_field_duplication(production: httpx.Client) -> None:
    """Flags (HIGH, DoS) an answer to a query repeating `__typename` 500 times. Every selection
    counts towards MAX_FIELDS, repeats included, before anything is validated or run."""
    response = cop_query(production, "query cop { " + "__typename \n" * 500 + "} ")
    assert not answers_typename(response), response.text
    assert response.status_code == 400 and "data" not in response.json()
    assert error(response)["extensions"] == {"code": "MAX_FIELDS_EXCEEDED", "value": 301, "limit": 300}


def test_directive_overloading(production: httpx.Client) -> None:
    """Flags (HIGH, DoS) exactly 10 errors for 10 unknown directives on one field: the server
    validated every one. Our guard counts them first and answers one refusal."""
    response = cop_query(production, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    assert len(body(response).get("errors", [])) != 10
    assert response.status_code == 400
    assert error(response)["extensions"] == {"code": "MAX_DIRECTIVES_EXCEEDED", "value": 10, "limit": 3}


def test_tracing(production: httpx.Client) -> None:
    """Flags (INFO) `tracing` in an error's extensions. Our only extension is the query's cost."""
    response = cop_query(production, TYPENAME)
    assert not leaks(response, "tracing")
    assert response.status_code == 200 and "errors" not in response.json()
    assert set(response.json()["extensions"]) == {"cost"}


def test_circular_introspection(production: httpx.Client) -> None:
    """Flags (HIGH, DoS) over 25 types from a `__schema` query nested through `fields { type }`."""
    response = cop_query(production, "query cop { __schema { types { fields { type { fields { type { fields "
                                     "{ type { fields { type { name } } } } } } } } } } }")
    assert len(dig(body(response), "data", "__schema", "types") or ()) <= 25
    assert response.status_code == 400 and "data" not in response.json()
    assert "Maximum introspection depth exceeded" in messages(response)


@pytest.mark.parametrize(("operation_name", "refusal"), [
    # graphql-cop names the operation `cop` although its query is anonymous...
    ("cop", 'Unknown operation named "cop".'),
    # ...so the same document is sent unnamed too, to reach the fragment cycle itself.
    (None, "Cannot spread fragment 'A' within itself via 'B'."),
])
def test_circular_fragment(production: httpx.Client, operation_name: str | None, refusal: str) -> None:
    """Flags (HIGH, DoS) an answer without `errors` to fragments A and B spreading each other."""
    query = ("query { __schema { ...A } } fragment A on __Schema { __typename ...B } "
             "fragment B on __Schema { ...A }")
    response = production.post("/graphql", json={"query": query, "operationName": operation_name})
    assert "errors" in body(response)
    assert response.status_code == 400 and "data" not in response.json()
    assert refusal in messages(response)


def test_unhandled_errors(production: httpx.Client) -> None:
    """Flags (INFO) an `exception` in an error's extensions, as a stack trace dump has it."""
    response = cop_query(production, "qwerty cop { abc }")
    assert not leaks(response, "exception")
    assert response.status_code == 400
    assert error(response) == {"message": "Syntax Error: Unexpected Name 'qwerty'.",
                               "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}


# -- the rules can fire ---------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "answer"), [
    ("tracing", {"data": {}, "errors": [{"message": "x", "extensions": {"tracing": {"version": 1}}}]}),
    ("exception", {"errors": [{"message": "x", "extensions": {"exception": {"stacktrace": ["..."]}}}]}),
])
def test_leak_rule_fires_on_what_graphql_cop_reports(key: str, answer: dict[str, Any]) -> None:
    assert leaks(httpx.Response(200, json=answer), key)
    assert not leaks(httpx.Response(200, json={"data": {}, "extensions": {"cost": {"requested": 0}}}), key)


@pytest.mark.parametrize("check", ["introspection", "field suggestions", "IDE"])
def test_development_profile_trips_the_information_checks(development: httpx.Client, check: str) -> None:
    if check == "introspection":
        assert introspects(cop_query(development, INTROSPECTION))
    elif check == "field suggestions":
        assert suggests(cop_query(development, MISSPELT))
    else:
        assert shows_ide(development.get("/graphql", headers={"Accept": "text/html"}))


# Transport, processes and logs behave the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
