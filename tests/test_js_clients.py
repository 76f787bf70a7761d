"""Standard JavaScript clients and the graphql-http audit suite against a real production uvicorn.

Issue #12: urql's defaults (queries over GET), `@urql/exchange-persisted` (a registration retried
as GET with the query text) and Apollo's persisted-query link must all get data from the first
request of a new operation in production, and the HTTP layer must pass the GraphQL-over-HTTP audit
of the `graphql-http` package. The clients are the real ones, from npm, at the versions pinned in
tests/js/package-lock.json; each script (tests/js/*.mjs) takes the endpoint and prints one JSON
report, including what every request it made carried, so these tests judge the wire, not a mock.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from typing import Any, Iterator

import httpx
import pytest

from tests.live_server import ROOT, live_server

pytestmark = [pytest.mark.slow, pytest.mark.only_on("sqlite")]

CLIENTS = ROOT / "tests" / "js"
LOCK = CLIENTS / "package-lock.json"
# Written into node_modules after `npm ci`: the lock it was installed from.
STAMP = CLIENTS / "node_modules" / ".installed-from-lock.sha256"

# The audits whose request asks `__type(name: …)`: introspection, which the production profile
# refuses on purpose (400, "introspection has been disabled"). They pass in development, where
# the HTTP layer is the same; in production these, and only these, may fail.
INTROSPECTION_AUDITS = {"BF61", "28B9", "2EA1", "D6D5", "6A70"}


@pytest.fixture(scope="session")
def node() -> str:
    """Node, with the pinned clients installed in tests/js (`npm ci`, once per session, again
    only when package-lock.json changed since the last install)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("JavaScript client tests skipped: `node` and `npm` are not on PATH (install Node 20+)")
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENTS, capture_output=True,
                                   text=True, timeout=600)
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
        STAMP.write_text(wanted)
    return node


@pytest.fixture(scope="module")
def production(db: str, db_url: str) -> Iterator[str]:
    with live_server(db_url, APP_ENV="production") as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
def development(db: str, db_url: str) -> Iterator[str]:
    with live_server(db_url, APP_ENV="development", SEED_ON_START="false") as base:
        yield f"{base}/graphql"


def run(node: str, script: str, endpoint: str) -> dict[str, Any]:
    """What tests/js/<script> reports (the last line of its output) about `endpoint`."""
    finished = subprocess.run([node, script, endpoint], cwd=CLIENTS, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, f"{script} failed:\n{finished.stdout}\n{finished.stderr}"
    return json.loads(finished.stdout.strip().splitlines()[-1])


def sent(requests: list[dict[str, Any]]) -> list[tuple[str, bool, bool, int, str | None]]:
    """Each request as (method, query text sent, hash sent, status, error code)."""
    return [(r["method"], r["sentQuery"], r["sentHash"], r["status"], r["code"]) for r in requests]


def faq_slugs(data: dict[str, Any] | None) -> list[str]:
    return [node["slug"] for node in ((data or {}).get("faqs") or {}).get("nodes", [])]


HASH_ONLY_MISS = ("GET", False, True, 200, "PERSISTED_QUERY_NOT_FOUND")
HASH_ONLY_HIT = ("GET", False, True, 200, None)


def test_urql_defaults_send_queries_as_get_and_get_data(node: str, production: str) -> None:
    report = run(node, "urql-defaults.mjs", production)
    assert report["error"] is None and len(faq_slugs(report["data"])) == 2
    assert sent(report["requests"]) == [("GET", True, False, 200, None)]


def test_urql_persisted_exchange_gets_data_from_the_first_request(node: str, production: str) -> None:
    """urql retries a missed hash as a GET with the query text: that GET must run (and register)."""
    first, again = run(node, "urql-persisted.mjs", production)["runs"]
    assert first["error"] is None and len(faq_slugs(first["data"])) == 2
    assert sent(first["requests"]) == [HASH_ONLY_MISS, ("GET", True, True, 200, None)]
    assert again["data"] == first["data"] and sent(again["requests"]) == [HASH_ONLY_HIT]


def test_apollo_persisted_query_link_gets_data_from_the_first_request(node: str, production: str) -> None:
    """Apollo retries a missed hash as a POST with the query text; then the hash alone is a GET."""
    first, again = run(node, "apollo-persisted.mjs", production)["runs"]
    assert first["error"] is None and len(faq_slugs(first["data"])) == 2
    assert sent(first["requests"]) == [HASH_ONLY_MISS, ("POST", True, True, 200, None)]
    assert again["data"] == first["data"] and sent(again["requests"]) == [HASH_ONLY_HIT]


def not_ok(results: list[dict[str, Any]], status: str) -> set[str]:
    return {result["id"] for result in results if result["status"] == status}


def readme_http_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("\n## HTTP\n"):text.index("\n## Security and limits\n")]


def test_graphql_http_audit_passes_every_must_and_the_readme_explains_each_warning(node: str, development: str) -> None:
    results = run(node, "audit.mjs", development)["results"]
    assert len(results) > 50  # the suite ran, not an empty list
    assert not_ok(results, "error") == set(), [r for r in results if r["status"] == "error"]
    explained = set(re.findall(r"`([0-9A-F]{4})`", readme_http_section()))
    assert not_ok(results, "warn") <= explained, "a warning the README's HTTP section does not explain"


def test_in_production_only_the_introspection_audits_differ(node: str, development: str, production: str) -> None:
    """Production runs the same HTTP layer; what it answers differently is the introspection the
    profile refuses, which five audits happen to ask for (`__type(name: …)`)."""
    in_development = {r["id"]: r["status"] for r in run(node, "audit.mjs", development)["results"]}
    in_production = {r["id"]: r["status"] for r in run(node, "audit.mjs", production)["results"]}
    differing = {audit for audit, status in in_production.items() if status != in_development[audit]}
    assert differing == INTROSPECTION_AUDITS
    assert all(in_development[audit] == "ok" for audit in INTROSPECTION_AUDITS)
    # BF61's own request: refused for introspection, not for its encoding or its media type.
    refused = httpx.post(production, content=json.dumps({"query": '{ __type(name: "Run🏃Swim🏊") { name } }'}).encode(),
                         headers={"content-type": "application/json; charset=utf-8"})
    assert refused.status_code == 400 and "introspection has been disabled" in refused.json()["errors"][0]["message"]
