"""The one record of each request (gql/ops/served.py) that the request log and the metrics read:
what it says must be what happened, over HTTP and over the WebSocket."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from typing import Iterator

import pytest

from gql.ops.served import HTTP, WEBSOCKET, Served, observe
from tests.conftest import client_for, settings_with
from tests.support import count_sql
from tests.ws_client import acknowledged, next_message, send_subscribe


@contextmanager
def served_records() -> Iterator[list[Served]]:
    records: list[Served] = []
    stop = observe(records.append)
    try:
        yield records
    finally:
        stop()


@pytest.mark.uncached
async def test_a_query_is_one_record_with_its_cost_and_statements(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=True, response_cache_enabled=False)) as client:
        with served_records() as records, count_sql() as sql:
            response = await client.post("query Page { faqs(first: 3) { nodes { title } } announcements { nodes { title } } }",
                                         operation_name="Page", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200
    (served,) = records
    assert (served.transport, served.method, served.status) == (HTTP, "POST", 200)
    assert (served.operation_type, served.operation_name) == ("query", "Page")
    assert served.request_id == response.headers["X-Request-Id"]
    assert served.cost == response.json()["extensions"]["cost"]["requested"]
    assert served.statements == sql.count > 0
    assert served.error_codes == [] and served.cache is None and not served.signed_in
    # No proxy is trusted here: the forwarding header is ignored, the peer is the client.
    assert served.client == "127.0.0.1" and served.duration > 0


async def test_refusals_and_field_errors_are_recorded_with_their_codes(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=True, max_depth=3)) as client:
        with served_records() as records:
            parse_error = await client.post("{ faqs(")
            too_deep = await client.post("{ faqs { nodes { category { faqs { nodes { id } } } } } }")
            unknown = await client.post("{ nothingHere }")
            bad_input = await client.post('{ posts(first: 5, board: "%s") { totalCount } }' % ("b" * 500))
    assert [r.status for r in records] == [parse_error.status_code, too_deep.status_code, unknown.status_code,
                                           bad_input.status_code] == [400, 400, 400, 200]
    assert [r.error_codes for r in records] == [["GRAPHQL_PARSE_FAILED"], ["MAX_DEPTH_EXCEEDED"],
                                                ["GRAPHQL_VALIDATION_FAILED"], ["BAD_USER_INPUT"]]
    # Refused before admission: no operation type, no cost; the field error ran and was charged.
    assert (records[0].operation_type, records[0].cost) == (None, None)
    assert records[3].operation_type == "query" and records[3].cost is not None


async def test_a_rate_limited_request_is_recorded_as_429(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=True, rate_limit_anonymous_points=3)) as client:
        with served_records() as records:
            statuses = [(await client.post("{ announcements { nodes { title } } }")).status_code for _ in range(5)]
    assert 429 in statuses
    assert [r.status for r in records] == statuses
    assert all(r.error_codes == ["RATE_LIMITED"] for r in records if r.status == 429)


async def test_response_cache_hits_and_misses_are_recorded(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=False)) as client:
        with served_records() as records:
            for _ in range(2):
                await client.query("query Cached { faqCategories { slug } }")
    assert [r.cache for r in records] == ["MISS", "HIT"]
    assert records[1].statements == 0  # answered from memory


async def test_websocket_operations_are_recorded_one_each(db: str) -> None:
    # httpx's in-process transport speaks no WebSocket: a real uvicorn, in this event loop.
    import uvicorn

    from gql.app import create_app
    from tests.live_server import free_port

    app = create_app(settings_with(rate_limit_enabled=True), manage_orm=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        with served_records() as records:
            async with acknowledged(f"http://127.0.0.1:{port}", None) as socket:
                await send_subscribe(socket, "q", "query Titles { announcements { nodes { title } } }")
                assert (await next_message(socket, "complete"))["id"] == "q"
                await send_subscribe(socket, "bad", "{ faqs(")
                assert (await next_message(socket, "error"))["id"] == "bad"
                await send_subscribe(socket, "invalid", "query Invalid { nothingHere }")
                invalid = await next_message(socket, "error")
                assert invalid["id"] == "invalid"
                assert invalid["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
                await send_subscribe(socket, "s", "subscription Watch { issueUpdated(number: 1002) { number } }")
                await asyncio.sleep(0.3)
                await socket.send('{"id": "s", "type": "complete"}')
                await asyncio.sleep(0.3)
    finally:
        server.should_exit = True
        await serving
    by_name = {r.operation_name: r for r in records}
    query, watch = by_name["Titles"], by_name["Watch"]
    assert all(r.transport == WEBSOCKET and r.method == "WS" for r in records) and len(records) == 4
    assert by_name["Invalid"].error_codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert (query.operation_type, query.status, query.error_codes) == ("query", 200, [])
    assert query.statements > 0 and query.cost is not None and query.request_id
    (refused,) = [r for r in records if r.operation_name is None]
    assert (refused.status, refused.error_codes, refused.cost) == (400, ["GRAPHQL_PARSE_FAILED"], None)
    # A subscription is recorded when it ends (here: the client completed it).
    assert (watch.operation_type, watch.status) == ("subscription", 200)


async def test_every_error_answered_has_a_code_graphql_cores_own_included(db: str) -> None:
    async with client_for(settings_with(rate_limit_enabled=False)) as client:
        unknown_field = await client.post("{ nothingHere }")
        bad_variable = await client.post("query($n: Int!) { posts(first: $n) { totalCount } }", {"n": "many"})
        missing_variable = await client.post("query($n: Int!) { posts(first: $n) { totalCount } }", {})
    assert [r.status_code for r in (unknown_field, bad_variable, missing_variable)] == [400, 400, 400]
    assert [[e["extensions"]["code"] for e in r.json()["errors"]] for r in (unknown_field, bad_variable, missing_variable)] \
        == [["GRAPHQL_VALIDATION_FAILED"], ["BAD_USER_INPUT"], ["BAD_USER_INPUT"]]


async def test_an_unexpected_failure_outside_the_resolvers_is_a_coded_500_and_recorded(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from gql.limits.guard import Guard

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug outside any resolver")

    monkeypatch.setattr(Guard, "admit", broken)
    async with client_for(settings_with(rate_limit_enabled=False)) as client:
        with served_records() as records:
            response = await client.post("{ faqCategories { slug } }")
    assert response.status_code == 500
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal server error"  # the bug's text stays in the log
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["X-Request-Id"]}
    (served,) = records
    assert (served.status, served.error_codes) == (500, ["INTERNAL_SERVER_ERROR"])
