"""/metrics: what each request counts, who may read it, and the sum over several worker processes.

The counting tests read the exposition before and after a request and compare exact deltas, so a
request counted twice, or not at all, or under the wrong labels, fails them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gql.ops import metrics
from gql.ops.served import HTTP, WEBSOCKET, Served, report
from tests.conftest import client_for, settings_with
from tests.live_server import ROOT, live_server
from tests.support import GraphQLClient, count_sql
from tests.ws_client import acknowledged, next_message, send_subscribe

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

POSTS = "{ posts(first: 3) { nodes { id title author { handle } } } }"


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not (yet) exposed, as Prometheus reads a missing counter."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient, token: str | None = None) -> Samples:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    assert response.status_code == 200, response.text
    return parse(response.text)


def requests(samples: Samples, transport: str, operation: str, status: int) -> float:
    return value(samples, "community_api_requests_total", transport=transport, operation=operation, status=str(status))


def answered(samples: Samples, transport: str, status: int) -> float:
    """Requests of one transport answered with `status`, whatever their operation type."""
    return sum(count for (name, labels), count in samples.items() if name == "community_api_requests_total"
               and dict(labels)["transport"] == transport and dict(labels)["status"] == str(status))


# -- counting, over the in-process app and its real HTTP client ----------------------------------


@pytest.mark.uncached
async def test_a_query_is_counted_once_answered_with_its_duration_and_statements(client: GraphQLClient) -> None:
    before = await scrape(client.http)
    with count_sql() as sql:
        await client.query(POSTS)
    after = await scrape(client.http)

    assert requests(after, HTTP, "query", 200) - requests(before, HTTP, "query", 200) == 1
    duration = "community_api_request_duration_seconds"
    labels = {"transport": HTTP, "operation": "query"}
    assert value(after, f"{duration}_count", **labels) - value(before, f"{duration}_count", **labels) == 1
    assert value(after, f"{duration}_sum", **labels) > value(before, f"{duration}_sum", **labels)
    statements = "community_api_request_sql_statements"
    assert sql.count > 0
    assert value(after, f"{statements}_count", **labels) - value(before, f"{statements}_count", **labels) == 1
    assert value(after, f"{statements}_sum", **labels) - value(before, f"{statements}_sum", **labels) == sql.count
    # Scraping is no request of the API: the second scrape counted only the query.
    assert sum(v for (name, _), v in after.items() if name == "community_api_requests_total") \
        - sum(v for (name, _), v in before.items() if name == "community_api_requests_total") == 1


async def test_error_codes_and_status_are_counted(client: GraphQLClient) -> None:
    before = await scrape(client.http)
    # A mutation nobody signed in for: executed (200), one top-level UNAUTHENTICATED error.
    errors = await client.errors("mutation { revokeToken(input: {}) { clientMutationId } }")
    assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"]
    # A document that does not parse: refused before any operation was read.
    refused = await client.post("{ posts(")
    assert refused.status_code == 400
    after = await scrape(client.http)

    assert requests(after, HTTP, "mutation", 200) - requests(before, HTTP, "mutation", 200) == 1
    assert requests(after, HTTP, "none", 400) - requests(before, HTTP, "none", 400) == 1
    errors_total = "community_api_graphql_errors_total"
    for code in ("UNAUTHENTICATED", "GRAPHQL_PARSE_FAILED"):
        assert value(after, errors_total, code=code) - value(before, errors_total, code=code) == 1, code


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: TEST_REDIS_URL is not set (dev.py sets it when Redis answers)")
    return url


@pytest.mark.parametrize("budgets", ["memory", "redis"])
async def test_a_rate_limit_refusal_is_counted_once_and_metrics_are_never_limited(db: str, budgets: str) -> None:
    # Two apps side by side, as two workers: on Redis they share one budget; either way the
    # process counts each request once, however many apps observe it.
    shared = {"redis_url": redis_url()} if budgets == "redis" else {}
    # A window of its own, so that no earlier run's spending in Redis is found.
    settings = settings_with(rate_limit_anonymous_points=2, rate_limit_window_seconds=600 + uuid.uuid4().int % 3000,
                             **shared)
    async with client_for(settings) as worker_a, client_for(settings) as worker_b:
        before = await scrape(worker_a.http)
        statuses = [(await client.post("{ __typename }")).status_code for client in (worker_a, worker_a, worker_b)]
        assert statuses == ([200, 200, 429] if budgets == "redis" else [200, 200, 200])
        if budgets == "memory":
            assert (await worker_a.post("{ __typename }")).status_code == 429
        # Past the budget, /metrics still answers, spends nothing and is kept by nobody.
        for _ in range(3):
            response = await worker_a.http.get("/metrics")
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-store"
            assert "X-RateLimit-Remaining" not in response.headers
        after = await scrape(worker_a.http)

    refused = "community_api_rate_limited_total"
    assert value(after, refused, transport=HTTP, code="RATE_LIMITED") \
        - value(before, refused, transport=HTTP, code="RATE_LIMITED") == 1
    assert value(after, "community_api_graphql_errors_total", code="RATE_LIMITED") \
        - value(before, "community_api_graphql_errors_total", code="RATE_LIMITED") == 1
    # Whatever the refusal's operation label says (the guard refused it before reading its type).
    assert answered(after, HTTP, 429) - answered(before, HTTP, 429) == 1
    assert requests(after, HTTP, "query", 200) - requests(before, HTTP, "query", 200) == 2 + (budgets == "memory")


async def test_response_cache_lookups_are_counted_by_result(client: GraphQLClient) -> None:
    query = "{ cached_%s: posts(first: 2) { nodes { id } } }" % uuid.uuid4().hex[:8]
    before = await scrape(client.http)
    first, second = await client.post(query), await client.post(query)
    after = await scrape(client.http)

    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    lookups = "community_api_response_cache_lookups_total"
    assert value(after, lookups, result="MISS") - value(before, lookups, result="MISS") == 1
    assert value(after, lookups, result="HIT") - value(before, lookups, result="HIT") == 1


async def test_no_label_carries_what_a_client_chose(client: GraphQLClient) -> None:
    name = "Probe" + uuid.uuid4().hex
    await client.post("query %s { __typename }" % name, operation_name=name,
                      headers={"X-Forwarded-For": "203.0.113.99"})
    text = (await client.http.get("/metrics")).text
    assert name not in text
    assert "203.0.113.99" not in text and "127.0.0.1" not in text


def test_unexpected_label_values_are_folded() -> None:
    before = parse(metrics.exposition().decode())
    stop = metrics.start_recording()
    try:
        report(Served("carrier-pigeon", "r1", "198.51.100.7", "POST", status=1234, operation_type="lookup",
                      operation_name="Evil", error_codes=["lower_case", "X" * 60, "NOT_FOUND"], cache="MAYBE"))
    finally:
        stop()
    after = parse(metrics.exposition().decode())

    assert requests(after, "OTHER", "none", "OTHER") - requests(before, "OTHER", "none", "OTHER") == 1
    errors_total = "community_api_graphql_errors_total"
    assert value(after, errors_total, code="OTHER") - value(before, errors_total, code="OTHER") == 2
    assert value(after, errors_total, code="NOT_FOUND") - value(before, errors_total, code="NOT_FOUND") == 1
    assert not any(name == "community_api_response_cache_lookups_total" and dict(labels)["result"] == "MAYBE"
                   for name, labels in after)


def test_error_codes_past_the_cap_count_as_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_error_codes_seen", {f"CODE_{n}" for n in range(metrics.MAX_ERROR_CODES)})
    assert metrics.bounded_error_code("CODE_7") == "CODE_7"
    assert metrics.bounded_error_code("BRAND_NEW") == "OTHER"


def test_no_request_is_counted_while_no_app_runs() -> None:
    before = parse(metrics.exposition().decode())
    report(Served(HTTP, "r2", "192.0.2.1", "POST", status=200, operation_type="query"))
    after = parse(metrics.exposition().decode())
    assert requests(after, HTTP, "query", 200) == requests(before, HTTP, "query", 200)


# -- who may read /metrics --------------------------------------------------------------------------


async def test_a_token_protects_metrics(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=False, metrics_token="scrape-secret")) as client:
        for header in ({}, {"Authorization": "Bearer wrong-secret"}, {"Authorization": "Bearer scrape-secret2"},
                       {"Authorization": "scrape-secret"}, {"Authorization": "Bearer scrape-secr\xe9t".encode("latin-1")}):
            refused = await client.http.get("/metrics", headers=header)
            assert refused.status_code == 401, header
            assert refused.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
            assert refused.headers["Cache-Control"] == "no-store"
            assert "community_api" not in refused.text
        allowed = await client.http.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200
    assert allowed.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert allowed.headers["Cache-Control"] == "no-store"
    assert "# TYPE community_api_requests_total counter" in allowed.text


@pytest.mark.parametrize(("overrides", "token", "status"), [
    ({"app_env": "production"}, None, 404),
    ({"app_env": "production", "metrics_token": "prod-secret"}, "prod-secret", 200),
    ({"app_env": "production", "metrics_token": "prod-secret"}, None, 401),
    ({"metrics_enabled": False}, None, 404),
    ({"metrics_enabled": False, "metrics_token": "t"}, "t", 404),
    ({}, None, 200),  # development without a token: open
])
async def test_where_metrics_are_served(db: str, overrides: dict[str, Any], token: str | None, status: int) -> None:
    async with client_for(settings_with(rate_limit_enabled=False, **overrides)) as client:
        response = await client.http.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    assert response.status_code == status


def test_the_token_is_not_in_the_settings_repr() -> None:
    assert "hush-hush" not in repr(settings_with(metrics_token="hush-hush"))


# -- WebSockets, over a live uvicorn ----------------------------------------------------------------


async def wait_for(http: httpx.AsyncClient, expected: dict[str, float]) -> Samples:
    """The scrape at which each named series has its expected value (the server updates gauges
    as its side of a socket catches up); fails after 10 s."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        samples = await scrape(http)
        found = {name: value(samples, name) for name in expected}
        if found == expected:
            return samples
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {expected}, /metrics says {found}")
        await asyncio.sleep(0.05)


async def test_websocket_gauges_follow_connections_and_subscriptions(db: str, db_url: str) -> None:
    open_sockets, active = "community_api_websockets_open", "community_api_subscriptions_active"
    subscription = "subscription { issueUpdated(number: 1001) { number } }"
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with httpx.AsyncClient(base_url=base) as http:
            await wait_for(http, {open_sockets: 0, active: 0})
            async with acknowledged(base, None) as first, acknowledged(base, None):
                await wait_for(http, {open_sockets: 2, active: 0})
                await send_subscribe(first, "s", subscription)
                await wait_for(http, {open_sockets: 2, active: 1})
                # A query over the socket is a request of the `ws` transport.
                await send_subscribe(first, "q", "{ __typename }")
                assert (await next_message(first, "next"))["payload"]["data"] == {"__typename": "Query"}
                queried = await wait_for(http, {open_sockets: 2, active: 1})
                assert requests(queried, WEBSOCKET, "query", 200) == 1
                await first.send(json.dumps({"id": "s", "type": "complete"}))
                ended = await wait_for(http, {open_sockets: 2, active: 0})
                assert requests(ended, WEBSOCKET, "subscription", 200) == 1
            await wait_for(http, {open_sockets: 0, active: 0})


# -- several worker processes -------------------------------------------------------------------------

WORKER = """
import os, sys
from gql.ops import metrics
from gql.ops.served import Served, report
stop = metrics.start_recording()
for _ in range(int(sys.argv[1])):
    report(Served("http", "r", "192.0.2.1", "POST", status=200, duration=0.02, operation_type="query",
                  statements=3, error_codes=["NOT_FOUND"]))
    metrics.websocket_opened()
print(os.getpid())
"""

READER = """
import sys
from gql.ops import metrics
for pid in sys.argv[1:]:
    metrics.worker_stopped(int(pid))
sys.stdout.write(metrics.exposition().decode())
"""


def run_python(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_workers_write_one_directory_and_scrapes_sum_them(tmp_path: Path) -> None:
    env = {**os.environ, metrics.MULTIPROC_DIR_VARIABLE: str(tmp_path)}
    first_pid = run_python(WORKER, env, "1").strip()
    run_python(WORKER, env, "2")
    # Each process's counters, histograms and gauges, in files of their own.
    kinds = sorted(path.name.rsplit("_", 1)[0] for path in tmp_path.glob("*.db"))
    assert kinds == ["counter", "counter", "gauge_livesum", "gauge_livesum", "histogram", "histogram"]

    summed = parse(run_python(READER, env))
    assert requests(summed, HTTP, "query", 200) == 3
    assert value(summed, "community_api_graphql_errors_total", code="NOT_FOUND") == 3
    statements = {"transport": HTTP, "operation": "query"}
    assert value(summed, "community_api_request_sql_statements_sum", **statements) == 9
    assert value(summed, "community_api_request_duration_seconds_bucket", le="0.025", **statements) == 3
    assert value(summed, "community_api_websockets_open") == 3

    # A worker that stopped leaves the gauges' sum (its sockets are gone), not the counters'.
    after_stop = parse(run_python(READER, env, first_pid))
    assert value(after_stop, "community_api_websockets_open") == 2
    assert requests(after_stop, HTTP, "query", 200) == 3


def test_a_supervisor_that_prepares_the_directory_after_importing_still_counts_in_it(tmp_path: Path) -> None:
    # `serve` with one worker serves in the supervisor's own process, which imported this module
    # (and prometheus-client) before preparing the directory.
    code = """
import os, sys
from gql.ops import metrics
from gql.ops.served import Served, report
os.environ[metrics.MULTIPROC_DIR_VARIABLE] = sys.argv[1]
metrics.prepare_multiprocess_dir(os.environ)
stop = metrics.start_recording()
report(Served("ws", "r", "192.0.2.1", "WS", status=200, operation_type="mutation"))
sys.stdout.write(metrics.exposition().decode())
"""
    env = {key: item for key, item in os.environ.items() if key != metrics.MULTIPROC_DIR_VARIABLE}
    exposed = parse(run_python(code, env, str(tmp_path)))
    assert requests(exposed, WEBSOCKET, "mutation", 200) == 1
    assert list(tmp_path.glob("counter_*.db"))


def test_prepare_multiprocess_dir(tmp_path: Path) -> None:
    # Set: last run's values are dropped (they would be summed into this run's), nothing else.
    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"\0" * 16)
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"\0" * 16)
    keep = tmp_path / "README"
    keep.write_text("not ours")
    (tmp_path / "community.db").write_text("an operator's database: not ours either")
    environ = {metrics.MULTIPROC_DIR_VARIABLE: str(tmp_path)}
    metrics.prepare_multiprocess_dir(environ)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README", "community.db"]
    assert environ == {metrics.MULTIPROC_DIR_VARIABLE: str(tmp_path)}

    # Set to a directory that does not exist yet: made.
    missing = tmp_path / "made" / "here"
    metrics.prepare_multiprocess_dir({metrics.MULTIPROC_DIR_VARIABLE: str(missing)})
    assert missing.is_dir()

    # Unset: a fresh, empty directory of its own, named for the workers to inherit.
    fresh: dict[str, str] = {}
    metrics.prepare_multiprocess_dir(fresh)
    made = Path(fresh[metrics.MULTIPROC_DIR_VARIABLE])
    try:
        assert made.is_dir() and not list(made.iterdir())
        other: dict[str, str] = {}
        metrics.prepare_multiprocess_dir(other)
        assert other[metrics.MULTIPROC_DIR_VARIABLE] != str(made)
        Path(other[metrics.MULTIPROC_DIR_VARIABLE]).rmdir()
    finally:
        made.rmdir()
