"""Optional OpenTelemetry tracing (TRACING_ENABLED, the `tracing` extra): a span per GraphQL
operation, with its parsing and validation, and a span per SQL statement inside it.

Why this shape:
- Off by default, and then nothing here runs and nothing of OpenTelemetry is imported:
  `gql/schema.py` imports this module only when the setting is on.
- The operation span is Strawberry's `OpenTelemetryExtension`, narrowed. Its span per resolver is
  switched off: a list page resolves thousands of fields, and an extension that resolves also
  takes every plain field off the executor's fast path (gql/execution/executor.py). Its operation hook is
  replaced because it records the query text, whose string literals may be a password
  (`login(input: {password: "..."})`), and leaves the span not current, so statements run by the
  resolvers could not find their parent. Variables are never read.
- SQL statements get their span at the one place every statement of ours passes on both
  engines, `RecordingClient` (models/touched.py), through its `trace_statement` hook: one span
  per statement Tortoise sends, with its placeholders, never its values. OpenTelemetry's sqlite3
  instrumentation sees nothing of aiosqlite (which connects and runs statements on a worker
  thread, outside the request's context); its asyncpg instrumentation works, but records a failed
  statement's exception message, which for asyncpg includes the server's DETAIL with the row's
  values (`Key (email)=(...) already exists`), and it patches asyncpg for the whole process.
- The tracer provider is the process's when one is configured (`opentelemetry-instrument`, or a
  host application); otherwise an SDK provider exporting over OTLP/HTTP in batches, configured by
  the standard OTEL_* variables, with `service.name` defaulting to "community-api".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import TracerProvider as AnyTracerProvider

DEFAULT_SERVICE_NAME = "community-api"
# A statement's first word, its span's name (as OpenTelemetry's database instrumentations do).
_VERB = re.compile(r"\s*(\w+)")

# What the `tracing` extra installs, by the module each one provides.
# Tortoise's dialect names, as OpenTelemetry's `db.system` says them.
_DB_SYSTEMS = {"postgres": "postgresql", "sqlite": "sqlite"}


def schema_extensions() -> list[Callable[[], Any]]:
    """The schema extensions of tracing (TRACING_ENABLED); the SQL statement spans are switched
    on for the process as they are made."""
    provider = tracer_provider()
    instrument_statements(provider)
    operation_tracing = _operation_tracing_class()
    return [lambda: operation_tracing(tracer_provider=provider)]


def tracer_provider() -> AnyTracerProvider:
    """The process's tracer provider when one is configured, else ours (made the process's, so
    that instrumentations find it too)."""
    from opentelemetry import trace

    configured = trace.get_tracer_provider()
    if not isinstance(configured, trace.ProxyTracerProvider):
        return configured
    provider = sdk_tracer_provider()
    trace.set_tracer_provider(provider)
    return provider


def sdk_tracer_provider() -> TracerProvider:
    """An SDK provider exporting over OTLP/HTTP in batches. The exporter reads
    OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT, _HEADERS, _TIMEOUT...), the batching
    OTEL_BSP_*, the sampler OTEL_TRACES_SAMPLER; the resource OTEL_SERVICE_NAME and
    OTEL_RESOURCE_ATTRIBUTES. Spans still queued are flushed when the process exits."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()
    # Without a name of its own the SDK says "unknown_service:python"; ours unless OTEL_* names one.
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_statements(provider: AnyTracerProvider) -> None:
    """A span per SQL statement, on every engine of ours, for the process."""
    from models.touched import RecordingClient

    RecordingClient.trace_statement = _statement_spans(provider)


def uninstrument_statements() -> None:
    """Undo `instrument_statements` (for tests: the hook is the process's)."""
    from models.touched import RecordingClient

    RecordingClient.trace_statement = None


def _statement_spans(provider: AnyTracerProvider) -> Callable[[Any, str, Awaitable[Any]], Awaitable[Any]]:
    """`RecordingClient.trace_statement`: runs a statement inside a client span named by its
    verb, with OpenTelemetry's database attributes (the SQL as sent: placeholders, not values)."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    tracer = provider.get_tracer(__name__)

    async def traced(client: Any, query: str, statement: Awaitable[Any]) -> Any:
        verb_match = _VERB.match(query)
        verb = verb_match.group(1).upper() if verb_match else "SQL"
        dialect = client.capabilities.dialect
        attributes = {"db.system": _DB_SYSTEMS.get(dialect, dialect), "db.statement": query}
        # A failure's type only: the SDK would record its message, which may quote a value.
        with tracer.start_as_current_span(verb, kind=SpanKind.CLIENT, attributes=attributes,
                                          record_exception=False, set_status_on_exception=False) as span:
            try:
                return await statement
            except BaseException as failed:
                span.set_status(Status(StatusCode.ERROR, type(failed).__name__))
                raise

    return traced


@functools.cache
def _operation_tracing_class() -> type:
    """Strawberry's extension as we use it (built here: its module imports OpenTelemetry)."""
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
    from strawberry.extensions import LifecycleStep, SchemaExtension
    from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension

    class OperationTracing(OpenTelemetryExtension):
        """One span per operation, its parsing and validation (Strawberry's hooks) as children,
        and the statements its resolvers run as descendants. Records the operation's name and
        type and how many errors it answered: never its text, variables or results."""

        # No span per resolver: not implementing `resolve` keeps fields on the fast path.
        resolve = SchemaExtension.resolve  # type: ignore[assignment]  # the base no-op, sync on purpose: Strawberry skips it

        def on_operation(self) -> Generator[None, None, None]:
            parent = trace.get_current_span()
            # SERVER when nothing traces the HTTP request around it (no ASGI instrumentation).
            kind = SpanKind.INTERNAL if parent.get_span_context().is_valid else SpanKind.SERVER
            span = self._tracer.start_span("GraphQL Operation", kind=kind, attributes={"component": "graphql"})
            self._span_holder[LifecycleStep.OPERATION] = span
            # Current for the operation: its resolvers' statements, and the dataloader batches'
            # tasks started meanwhile, take it as their parent.
            token = context.attach(trace.set_span_in_context(span))
            try:
                yield
            except BaseException as escaped:  # a time limit's cancellation, a refused operation type
                span.set_status(Status(StatusCode.ERROR, type(escaped).__name__))
                raise
            finally:
                context.detach(token)
                self._describe(span)
                span.end()

        def _describe(self, span: Any) -> None:
            execution = self.execution_context
            name = execution.operation_name
            operation_type = None
            if execution.graphql_document is not None:
                try:
                    operation_type = execution.operation_type.value
                except Exception:  # noqa: BLE001 - no such operation in the document: it was refused
                    operation_type = None
            if name:
                span.set_attribute("graphql.operation.name", name)
            if operation_type:
                span.set_attribute("graphql.operation.type", operation_type)
            # OpenTelemetry's convention: "{type} {name}", as much of it as is known.
            span.update_name(" ".join(part for part in (operation_type, name) if part) or "GraphQL Operation")
            errors = execution.pre_execution_errors or (execution.result.errors if execution.result else None)
            if errors:
                # How many, not what: a message may quote a variable's value.
                span.set_attribute("graphql.errors", len(errors))
                span.set_status(Status(StatusCode.ERROR))

    return OperationTracing
