"""OpenTelemetry tracing (TRACING_ENABLED, gql/ops/tracing.py): an operation is a span, each SQL
statement a span inside it; no variable, password or token reaches a span; off, nothing of
OpenTelemetry is imported or recorded; on without the extra, the CLI refuses in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tortoise.exceptions import IntegrityError

from gql.core.context import Context
from gql.schema import build_schema
from gql.settings import Settings
from gql.ops.tracing import sdk_tracer_provider, uninstrument_statements
from models.accounts import User, register
from tests.conftest import client_for, settings_with
from tests.support import GraphQLClient, count_sql

ROOT = Path(__file__).resolve().parent.parent
LANDING_PAGE = (ROOT / "gql" / "landing_page.graphql").read_text()
LOGIN = "mutation SignIn($input: LoginInput!) { login(input: $input) { token userErrors { code } } }"
PASSWORD = "tracing-secret-horse-battery"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span the process finishes, through the process's tracer provider: the tracing code
    finds it configured, as under `opentelemetry-instrument`."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    yield exporter
    exporter.shutdown()


@pytest.fixture
def tracing_on(db: str, spans: InMemorySpanExporter) -> Iterator[Settings]:
    """Settings with tracing on, executing every request (no response cache)."""
    try:
        yield settings_with(rate_limit_enabled=False, response_cache_enabled=False, tracing_enabled=True)
    finally:
        uninstrument_statements()  # the statement spans are the process's: leave it as found
        spans.clear()


@pytest_asyncio.fixture
async def traced(tracing_on: Settings, spans: InMemorySpanExporter) -> AsyncIterator[GraphQLClient]:
    async with client_for(tracing_on) as client:
        spans.clear()
        yield client


def _statement_spans(finished: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [span for span in finished if "db.statement" in (span.attributes or {})]


def _descends_from(span: ReadableSpan, ancestor: ReadableSpan, by_id: dict[int, ReadableSpan]) -> bool:
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return False


async def test_an_operation_is_a_span_and_each_statement_a_span_inside_it(
    traced: GraphQLClient, spans: InMemorySpanExporter
) -> None:
    with count_sql() as sql:
        await traced.query(LANDING_PAGE, {"n": 5})
    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}

    [operation] = [span for span in finished if span.name == "query LandingPage"]
    assert operation.attributes["graphql.operation.name"] == "LandingPage"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.status.is_ok
    # Strawberry's parsing and validation spans are its children; no span per resolver.
    children = {span.name for span in finished if span.parent and span.parent.span_id == operation.context.span_id}
    assert {"GraphQL Parsing", "GraphQL Validation"} <= children
    assert not [span.name for span in finished if span.name.startswith("GraphQL Resolving")]

    # One span per statement Tortoise sent, every one inside the operation (the dataloaders'
    # batches included), each with the statement as sent: placeholders, not values.
    statements = _statement_spans(finished)
    assert sql.count >= 20 and len(statements) == sql.count
    assert all(_descends_from(span, operation, by_id) for span in statements)
    assert all(span.kind is trace.SpanKind.CLIENT and span.name == "SELECT" for span in statements)
    logged = sql.statements
    assert all(any(line.startswith(span.attributes["db.statement"]) for line in logged) for span in statements)


async def test_an_operation_streamed_as_on_the_websocket_is_traced_alike(
    tracing_on: Settings, spans: InMemorySpanExporter
) -> None:
    # The WebSocket runs operations through `Schema.stream`, whose hooks run around its yields.
    schema = build_schema(tracing_on)
    context = Context(request=None, response=None, settings=tracing_on, broker=None)  # type: ignore[arg-type]
    spans.clear()
    with count_sql() as sql:
        results = [result async for result in await schema.stream(
            "query Faqs { faqs(first: 3) { totalCount nodes { title } } }", context_value=context)]
    assert len(results) == 1 and not results[0].errors
    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}
    [operation] = [span for span in finished if span.name == "query Faqs"]
    statements = _statement_spans(finished)
    assert sql.count >= 2 and len(statements) == sql.count
    assert all(_descends_from(span, operation, by_id) for span in statements)


async def test_no_variable_password_or_token_reaches_a_span(traced: GraphQLClient, spans: InMemorySpanExporter) -> None:
    await register("tracing_user", PASSWORD, None, None)
    spans.clear()
    with count_sql() as sql:
        by_variables = await traced.query(LOGIN, {"input": {"handle": "tracing_user", "password": PASSWORD}})
        token = by_variables["login"]["token"]
        assert token
        # A password written into the document itself: the query text is not recorded either.
        inline = f'mutation {{ login(input: {{handle: "tracing_user", password: "{PASSWORD}"}}) {{ token }} }}'
        assert (await traced.query(inline))["login"]["token"]

    finished = spans.get_finished_spans()
    names = [span.name for span in finished]
    assert "mutation SignIn" in names and "mutation" in names
    # The logins' statements (a read, a token written) each have their span, in a transaction too.
    assert sql.count >= 4 and len(_statement_spans(finished)) == sql.count
    recorded = json.dumps([dict(span.attributes or {}) for span in finished] + [[event.attributes for event in span.events]
                                                                               for span in finished], default=str)
    assert "tracing_user" not in recorded  # no variable value, no literal of the document
    assert PASSWORD not in recorded and token not in recorded


async def test_a_failed_statement_keeps_its_type_not_its_values(tracing_on: Settings, spans: InMemorySpanExporter) -> None:
    build_schema(tracing_on)  # switches the statement spans on
    taken = await register("tracing_taken", PASSWORD, "tracing.taken@example.com", None)
    spans.clear()
    with pytest.raises(IntegrityError):  # PostgreSQL's message carries `Key (handle)=(tracing_taken)`
        await User.create(handle=taken.handle, display_name="Taken", email="tracing.other@example.com")
    [failed] = [span for span in _statement_spans(spans.get_finished_spans()) if span.name == "INSERT"]
    assert not failed.status.is_ok and failed.status.description == "IntegrityError"
    assert "tracing_taken" not in json.dumps([dict(failed.attributes or {}), [dict(event.attributes or {})
                                                                              for event in failed.events]])


async def test_errors_are_counted_not_quoted(traced: GraphQLClient, spans: InMemorySpanExporter) -> None:
    errors = await traced.errors("query Broken($id: ID!) { node(id: $id) { id } }", {"id": "not-a-global-id-secret"})
    assert errors
    [operation] = [span for span in spans.get_finished_spans() if span.name == "query Broken"]
    assert operation.attributes["graphql.errors"] == len(errors)
    assert not operation.status.is_ok and operation.status.description is None
    assert "not-a-global-id-secret" not in json.dumps([dict(span.attributes or {}) for span in spans.get_finished_spans()])


async def test_off_by_default_nothing_is_traced(client: GraphQLClient, spans: InMemorySpanExporter) -> None:
    spans.clear()
    with count_sql() as sql:
        await client.query(LANDING_PAGE, {"n": 5})
    assert sql.count > 0  # it did run statements, none of them traced
    assert spans.get_finished_spans() == ()


# Runs in a fresh interpreter: builds the app on the session's database, answers the landing
# page, then prints which modules of OpenTelemetry were imported.
_IMPORTED_BY_THE_APP = textwrap.dedent("""
    import asyncio, json, sys
    import httpx
    from gql.app import create_app
    from gql.settings import Settings

    database_url, tracing, query = sys.argv[1], sys.argv[2] == "on", sys.argv[3]
    app = create_app(Settings.from_env({}, database_url=database_url, tracing_enabled=tracing))

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                response = await http.post("/graphql", json={"query": query})
                assert response.status_code == 200 and "errors" not in response.json(), response.text

    asyncio.run(main())
    print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] == "opentelemetry")))
""")


@pytest.mark.parametrize("tracing", ["off", "on"])
def test_opentelemetry_is_imported_only_when_on(db_url: str, db: str, tracing: str) -> None:
    # OTEL_SDK_DISABLED: with tracing on, the subprocess's provider exports nowhere.
    environment = {"PATH": "/usr/bin:/bin", "OTEL_SDK_DISABLED": "true"}
    finished = subprocess.run([sys.executable, "-c", _IMPORTED_BY_THE_APP, db_url, tracing, LANDING_PAGE],
                              cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    imported = json.loads(finished.stdout.strip().splitlines()[-1])
    if tracing == "off":
        assert imported == []
    else:  # the probe sees an import when there is one
        assert "opentelemetry.trace" in imported


def test_on_without_the_extra_the_cli_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from gql.cli import main

    monkeypatch.setenv("TRACING_ENABLED", "true")
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk", None)  # as if not installed
    assert main(["check-migrations"]) == 2
    refusal = capsys.readouterr().err
    assert refusal.count("\n") == 1
    assert refusal.startswith("community-api: TRACING_ENABLED: needs the tracing extra")
    assert "missing opentelemetry-sdk\n" in refusal


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that keeps what it is sent."""

    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the handler's protocol
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("service_name", "expected"), [(None, "community-api"), ("help-api-eu", "help-api-eu")])
def test_without_a_configured_provider_spans_go_over_otlp_http(
    monkeypatch: pytest.MonkeyPatch, service_name: str | None, expected: str
) -> None:
    collector = HTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.received = []
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_port}")
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    if service_name is None:
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    else:
        monkeypatch.setenv("OTEL_SERVICE_NAME", service_name)
    provider = sdk_tracer_provider()
    try:
        assert provider.resource.attributes["service.name"] == expected
        provider.get_tracer("test").start_span("exported-span").end()
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
        collector.shutdown()
        collector.server_close()
    [(path, body)] = _Collector.received
    assert path == "/v1/traces"
    assert b"exported-span" in body and expected.encode() in body
