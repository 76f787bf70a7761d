"""GraphQL over HTTP, as the GraphQL-over-HTTP draft says, in front of the Strawberry schema.

Strawberry's stock view answers 200 to parse and validation errors, 400 to a mutation over GET
and to unsupported media types, and never speaks `application/graphql-response+json`; this
endpoint does what the draft (and our README's status-code table) says instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry import Schema
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from gql.cache import ResponseCache
from gql.core.admission import Admission
from gql.core.context import Context
from gql.core.errors import RequestError, coded
from gql.core.loaders import Loaders
from gql.execution.masking import DATABASE, UNAVAILABLE, UNAVAILABLE_MESSAGE, UNAVAILABLE_RETRY_AFTER_SECONDS
from gql.execution.masking import MESSAGE as MASKED_MESSAGE
from gql.execution.masking import logger as masking_logger
from gql.http.params import OperationParams
from gql.http.persisted import PersistedQuery, QueryStore, look_up, remember
from gql.limits.guard import Guard, client_address
from gql.live.broker import Broker
from gql.ops.encoding import dumps
from gql.ops.logs import new_request_id
from gql.ops.served import HTTP, Served
from gql.permissions import CredentialsRefused, authenticate
from gql.settings import Settings
from models.touched import recording

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ALLOWED_METHODS = "GET, POST"

IdePage = Callable[[Request], Awaitable[Response]]


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when we can offer nothing acceptable.

    No Accept header, or only a wildcard (curl's and most HTTP libraries' `*/*`), means a client
    that predates the draft: it gets the legacy `application/json`, as the draft asks. A client
    that names `application/graphql-response+json` gets it (by its quality, then header order).
    """
    if not accept:
        return JSON
    offers = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON, "*/*": JSON}
    candidates: list[tuple[float, bool, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        offered = offers.get(media.lower())
        quality = next((_quality(p) for p in params if p.replace(" ", "").startswith("q=")), 1.0)
        if offered and quality > 0:
            # Higher quality first, then the exact type named over a wildcard, then header order.
            candidates.append((quality, "*" not in media, -position, offered))
    return max(candidates)[3] if candidates else None


def _quality(param: str) -> float:
    try:
        return float(param.split("=", 1)[1])
    except ValueError:
        return 0.0


def wants_html(headers: Headers) -> bool:
    accept = headers.get("accept", "")
    return "text/html" in accept


@dataclass
class Operation:
    """One operation of a request, admitted and ready to run."""

    # As the client sent it; the query to run is `persisted.query`.
    params: OperationParams
    # Its own copy of the caller's context (loaders, request id; `admission` once the guard let it in).
    context: Context
    allowed: set[OperationType]
    # The query as sent or looked up by hash; a registration is stored only once it has run.
    persisted: PersistedQuery
    # "HIT" or "MISS" once the response cache was asked about it (gql/cache); None when not.
    cache: str | None = None
    # True when it executed but nothing could be answered because the database is unreachable.
    unavailable: bool = False

    @property
    def query(self) -> str | None:
        """The text to run: the one sent, or the one stored under the sent hash."""
        return self.persisted.query

    @property
    def admission(self) -> Admission | None:
        return self.context.admission


class GraphQLHTTPEndpoint:
    """ASGI app for `GET|POST /graphql`; WebSocket traffic goes to Strawberry's view."""

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        broker: Broker,
        guard: Guard,
        queries: QueryStore,
        ide_page: IdePage | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.broker = broker
        self.guard = guard
        self.queries = queries
        self.ide_page = ide_page
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # Refusals before negotiation still answer in a type the client takes, when there is one.
        media_type = negotiate(request.headers.get("accept")) or JSON
        # Every response says which request it answers; logs of masked errors carry the same id.
        headers = {"X-Request-Id": new_request_id()}
        # What the request log and the metrics will say of it (gql/ops/served.py), filled on the way.
        served = Served(HTTP, headers["X-Request-Id"], client_address(request), request.method)
        viewer: Context | None = None
        with recording() as touched:
            try:
                # Who asks, first: every answer, each refusal included, reports that caller's budget.
                viewer = await self._context(request)
                served.signed_in = viewer.viewer is not None
                media_type = self._media_type(request)
                if self.ide_page and request.method == "GET" and wants_html(request.headers) and not request.query_params:
                    response = await self.ide_page(request)
                else:
                    response = await self._graphql(request, viewer, media_type, headers, served)
            except RequestError as refusal:
                response = error_response(refusal, media_type)
                served.error_codes.append(refusal.code)
                # Refusals say where the caller's budget stands too (spending nothing).
                standing = {} if "X-RateLimit-Limit" in refusal.headers else await self.guard.standing(request, viewer)
                headers.update({**standing, **refusal.headers})
            except Exception:  # noqa: BLE001  # logged with its traceback below, answered 500
                # Outside the resolvers (they are masked: gql/execution/masking.py): still a coded JSON answer
                # with the request id, one log record with the traceback, and a request counted.
                masking_logger.exception("request %s: %s %s failed", served.request_id, request.method, request.url.path)
                failure = RequestError(500, MASKED_MESSAGE, "INTERNAL_SERVER_ERROR", requestId=served.request_id)
                response = error_response(failure, media_type)
                served.error_codes.append(failure.code)
            response.headers.update(headers)
            # Refusals and errors are never kept by a cache; `_caching` opens up the answers that may be.
            response.headers.setdefault("Cache-Control", "no-store")
            await response(scope, receive, send)
        served.status, served.statements = response.status_code, touched.statements
        served.finish()

    def _media_type(self, request: Request) -> str:
        if request.method not in ("GET", "POST"):
            raise RequestError(405, f"{request.method} is not supported: use GET or POST", "METHOD_NOT_ALLOWED",
                               {"Allow": ALLOWED_METHODS})
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None:
            if self.ide_page and request.method == "GET" and wants_html(request.headers):
                return JSON
            raise RequestError(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}", "NOT_ACCEPTABLE")
        return media_type

    async def _graphql(self, request: Request, viewer: Context, media_type: str, headers: dict[str, str],
                       served: Served) -> Response:
        payload = await self._params(request)
        batch = payload if isinstance(payload, list) else [payload]
        served.operation_type = "batch" if isinstance(payload, list) else None
        # One response for the request, whatever number of operations it carries.
        response = Response()
        # Every operation is admitted (limits, cost, budgets) before any of them runs.
        operations = []
        for params in batch:
            operation = await self._admit(request, params, replace(viewer, response=response), headers)
            operations.append(operation)
            admission = operation.admission
            if admission is not None:
                served.cost = (served.cost or 0) + admission.cost
                if served.operation_type is None and admission.operation is not None:
                    served.operation_type = admission.operation.value
                    served.operation_name = admission.operation_name
        try:
            # The time limit covers the whole request and cancels the resolvers' database work.
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                results = [await self._answer(operation, media_type) for operation in operations]
        except TimeoutError:
            raise RequestError(504, f"The request took over {self.settings.request_timeout_seconds} s and was cancelled",
                               "TIMEOUT") from None
        if all(operation.unavailable for operation in operations):
            # Nothing could be answered: a load balancer or client should come back later.
            raise RequestError(503, UNAVAILABLE_MESSAGE, UNAVAILABLE,
                               {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)})
        for operation, (_, executed) in zip(operations, results, strict=True):
            # Only a query that ran earns its hash: a refused registration would answer later.
            if executed:
                await remember(self.queries, operation.persisted)
        caching = self._caching(request, viewer, operations, results)
        if caching["Cache-Control"].startswith("public"):
            # A shared cache hands this answer to everyone: nothing of this caller's budget in it.
            for (body, _), operation in zip(results, operations, strict=True):
                if operation.admission is not None:
                    body.setdefault("extensions", {}).update(operation.admission.extension(shared=True))
            for name in [name for name in headers if name.startswith("X-RateLimit-")]:
                del headers[name]
        if isinstance(payload, list):
            # A batch answers 200 with one result per operation, each carrying its own errors.
            response.body, response.status_code = dumps([body for body, _ in results]), 200
        else:
            body, executed = results[0]
            response.body, response.status_code = dumps(body), 200 if executed else 400
        response.headers.update(caching)
        served.error_codes.extend(str((error.get("extensions") or {}).get("code"))
                                  for body, _ in results for error in body.get("errors", ()))
        looked_up = [operation.cache for operation in operations if operation.cache]
        if looked_up:
            # HIT when the cache answered every operation of the request, MISS when anything executed.
            hit = len(looked_up) == len(operations) and all(status == "HIT" for status in looked_up)
            response.headers["X-Cache"] = served.cache = "HIT" if hit else "MISS"
        response.headers["content-type"] = media_type
        response.headers["content-length"] = str(len(response.body))
        return response

    def _caching(self, request: Request, viewer: Context, operations: list[Operation],
                 results: list[tuple[dict[str, Any], bool]]) -> dict[str, str]:
        """Anonymous GET queries that succeeded may be kept by shared caches (what GET and
        persisted-query hashes are for); what a signed-in viewer reads never is, nor an answer
        about the caller's own budget (`rateLimit`)."""
        if viewer.viewer is not None:
            return {"Cache-Control": "private, no-store"}
        max_age = self.settings.http_cache_max_age_seconds
        per_client = any(operation.admission and operation.admission.per_client for operation in operations)
        if request.method == "GET" and max_age > 0 and "errors" not in results[0][0] and not per_client:
            return {"Cache-Control": f"public, max-age={max_age}", "Vary": "Accept, Authorization"}
        return {"Cache-Control": "no-store"}

    async def _admit(self, request: Request, params: OperationParams, viewer: Context,
                     headers: dict[str, str]) -> Operation:
        persisted = await look_up(self.queries, params.query, params.extensions)
        # Each operation has loaders of its own: a batched mutation must not read a stale cache.
        context = replace(viewer, loaders=Loaders(), request_id=headers["X-Request-Id"])
        if persisted.query is not None:
            admission = await self.guard.admit(context, persisted.query, params.operation_name, params.variables)
            headers.update(admission.headers)
        return Operation(params, context, allowed_operations(request.method), persisted)

    async def _answer(self, operation: Operation, media_type: str) -> tuple[dict[str, Any], bool]:
        """The operation's response body, and whether it reached execution: from the response
        cache when the operation may use it and a current answer is there (gql/cache), else
        executed (and kept, when it may be). Either way with this caller's cost and budget."""
        cache, params = self.cache, operation.params
        lookup = None
        query = operation.query
        if cache is not None and query is not None and cache.admits(operation.context, operation.admission,
                                                                     operation.allowed):
            lookup = await cache.lookup(query, params.operation_name, params.variables, media_type)
        if lookup is None or cache is None:
            body, executed = await self._execute(operation)
        elif lookup.entry is not None:
            operation.cache = "HIT"
            body, executed = lookup.entry.body(), True
        else:
            operation.cache = "MISS"
            # Which tables the execution reads: what the kept answer depends on (models/touched.py).
            with recording() as touched:
                body, executed = await self._execute(operation)
            if executed and "errors" not in body:
                body["data"] = cache.keep(lookup, body, touched)
        if operation.admission is not None:
            body.setdefault("extensions", {}).update(operation.admission.extension())
        return body, executed

    async def _execute(self, operation: Operation) -> tuple[dict[str, Any], bool]:
        """The operation's response body (without the caller's cost), and whether it reached execution."""
        params, context = operation.params, operation.context
        try:
            result = await self.schema.execute(
                operation.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=operation.allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as refused:
            if refused.operation_type is OperationType.MUTATION:
                raise RequestError(405, "Mutations need POST", "METHOD_NOT_ALLOWED", {"Allow": "POST"}) from None
            raise RequestError(400, "Subscriptions run over WebSocket (graphql-transport-ws)", "BAD_REQUEST") from None
        except CannotGetOperationTypeError as unknown:
            raise RequestError(400, unknown.as_http_error_reason(), "BAD_REQUEST") from None
        except MissingQueryError:
            raise RequestError(400, "No GraphQL query found in the request", "BAD_REQUEST") from None

        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [coded(dict(error.formatted)) for error in result.errors]
        # A request that never reached execution (syntax or validation errors) has no `data`.
        executed = result.data is not None or not result.errors or any(error.path for error in result.errors)
        if executed:
            body["data"] = result.data
            operation.unavailable = unanswered(result.data, result.errors)
            if not operation.unavailable and not any(_code(error) == UNAVAILABLE for error in result.errors or ()):
                DATABASE.succeeded()
        if result.extensions:
            body["extensions"] = dict(result.extensions)
        return body, executed

    async def _params(self, request: Request) -> OperationParams | list[OperationParams]:
        """One operation's parameters, or a batch's (a JSON array, when batching is enabled)."""
        if request.method == "GET":
            return OperationParams.parse(request.query_params, from_query_string=True)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (JSON, GRAPHQL_RESPONSE):
            # Also what keeps cross-site form posts (text/plain, urlencoded, multipart) from running.
            raise RequestError(415, "Send the request as application/json", "UNSUPPORTED_MEDIA_TYPE")
        body = await read_body(request, self.settings.max_body_bytes, gap_seconds=self.settings.body_read_timeout_seconds,
                               total_seconds=self.settings.body_timeout_seconds)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestError(400, "The body is not valid JSON", "BAD_REQUEST") from None
        if isinstance(data, list):
            return [OperationParams.parse(item, from_query_string=False) for item in self._batch(data)]
        if not isinstance(data, dict):
            raise RequestError(400, "The body must be a JSON object", "BAD_REQUEST")
        return OperationParams.parse(data, from_query_string=False)

    def _batch(self, items: list[Any]) -> list[dict[str, Any]]:
        limit = self.settings.batch_max_operations
        if limit <= 0:
            raise RequestError(400, "Batched requests are not accepted: send one operation per request", "BATCHING_DISABLED")
        if not 1 <= len(items) <= limit:
            raise RequestError(400, f"A batch holds 1 to {limit} operations, got {len(items)}", "BATCH_TOO_LARGE",
                               value=len(items), limit=limit)
        if not all(isinstance(item, dict) for item in items):
            raise RequestError(400, "Each operation of a batch must be a JSON object", "BAD_REQUEST")
        return items

    async def _context(self, request: Request) -> Context:
        """Who is asking; each operation then gets a copy with loaders of its own."""
        context = Context(request=request, settings=self.settings, broker=self.broker)
        try:
            await authenticate(context, request.headers.get("authorization"))
        except CredentialsRefused as refused:
            error = "invalid_request" if refused.malformed else "invalid_token"
            raise RequestError(401, refused.message, "UNAUTHENTICATED",
                               {"WWW-Authenticate": f'Bearer realm="community-api", error="{error}"'}) from None
        return context


def allowed_operations(method: str) -> set[OperationType]:
    """What a method may run, in every profile. GET runs queries, with their text or a persisted
    hash, as GraphQL-over-HTTP clients (urql by default) send them: a query only reads, and a
    cross-site page that makes a browser send one cannot read the answer (no CORS grant, and no
    cookie carries identity here). Mutations need POST (a GET one is 405), and a POST needs
    `application/json`, which no cross-site form can send."""
    if method == "POST":
        return {OperationType.QUERY, OperationType.MUTATION}
    return {OperationType.QUERY}


def _code(error: Any) -> Any:
    return (error.extensions or {}).get("code")




def unanswered(data: dict[str, Any] | None, errors: list[Any] | None) -> bool:
    """Whether an executed operation answered nothing because the database was unreachable:
    an error says so (gql/execution/masking.py) and no root field has a value."""
    if not any(_code(error) == UNAVAILABLE and error.path for error in errors or ()):
        return False
    return data is None or all(value is None for value in data.values())


async def read_body(request: Request, limit: int, *, gap_seconds: float | None = None,
                    total_seconds: float | None = None) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (before it is read whole),
    and with 408 when it stops arriving for `gap_seconds` or takes over `total_seconds` in all:
    a client trickling a body must not hold a connection and its buffers for as long as it likes.
    Both refusals close the connection, so the rest of the body is not read either. A client that
    gives up midway is one log line, not a traceback, and nothing runs."""
    too_large = RequestError(413, f"The body is larger than {limit} bytes", "PAYLOAD_TOO_LARGE", {"Connection": "close"})
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total_seconds if total_seconds else None
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    try:
        while True:
            wait = gap_seconds or None
            if deadline is not None:
                left = deadline - loop.time()
                wait = left if wait is None else min(wait, left)
            try:
                async with asyncio.timeout(wait):
                    chunk = await anext(stream)
            except StopAsyncIteration:
                return b"".join(chunks)
            except TimeoutError:
                raise RequestError(408, f"The body did not arrive in time (no gap over {gap_seconds} s, "
                                        f"all of it within {total_seconds} s)", "REQUEST_TIMEOUT",
                                   {"Connection": "close"}, received=size) from None
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        client = request.client
        logging.getLogger("gql.http").warning(
            "%s %s from %s: client disconnected after %d bytes of the body", request.method, request.url.path,
            f"{client.host}:{client.port}" if client else "?", size)
        # Nobody is left to read it: the endpoint's answer is dropped by the server.
        raise RequestError(499, "The client closed the connection", "CLIENT_CLOSED_REQUEST") from None


def error_response(refusal: RequestError, media_type: str) -> Response:
    body = {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code, **refusal.extensions}}]}
    # `dumps`, total: a refusal may name a figure the client made huge (a cost past 64 bits).
    return Response(dumps(body), status_code=refusal.status, media_type=media_type, headers=refusal.headers)
