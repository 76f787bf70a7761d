"""GraphQL over WebSocket (graphql-transport-ws), behind the same guard as HTTP.

Strawberry's view speaks the protocol; this module decides who may open a connection and what
each operation may do:
- connections are capped per client address and in total (`WS_MAX_CONNECTIONS*`), and
  operations per connection (`WS_MAX_OPERATIONS`);
- every `subscribe` message (query, mutation or subscription) passes `Guard.admit`, as an HTTP
  request does: shape limits, cost with its variables, rate budget, login attempts; queries and
  mutations run under the request time limit, each operation with a context of its own;
- the token is read again before each operation and each event, and a change to an account
  (token revoked, user suspended, role changed) re-admits that user's open subscriptions at once:
  a revoked token closes the connection (4401), a narrowed role ends what it no longer allows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLFormattedError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, Message, SubscribeMessage
from strawberry.types.execution import ExecutionResult
from strawberry.utils.aio import aclosing

from gql.core.context import Context
from gql.core.errors import RequestError, coded
from gql.core.loaders import Loaders
from gql.http.params import OperationParams
from gql.http.persisted import QueryStore, look_up, remember
from gql.limits.guard import Guard, client_address
from gql.live.broker import Broker
from gql.live.events import ACCOUNTS_CHANNEL
from gql.ops import metrics
from gql.ops.encoding import dumps
from gql.ops.logs import new_request_id
from gql.ops.served import WEBSOCKET, Served
from gql.permissions import CredentialsRefused, authenticate, refresh
from gql.settings import Settings
from models.touched import recording

REVOKED = (4401, "Token revoked")
MAX_CODES_RECORDED = 100
logger = logging.getLogger("gql.ws")


def refusal_error(refusal: RequestError) -> GraphQLFormattedError:
    """A refusal as the GraphQL error the protocol's `error` message carries."""
    return GraphQLError(refusal.message, extensions={"code": refusal.code, **refusal.extensions}).formatted


class GuardedOperations(BaseGraphQLTransportWSHandler[Context, None]):
    """One connection's operations, each admitted by the guard and run with its own context."""

    view: GraphQLView

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contexts: dict[str, Context] = {}
        self.restarting: set[str] = set()
        # What the request log and the metrics will say of each running operation (gql/ops/served.py).
        self.served: dict[str, Served] = {}

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.context.viewer is not None:
            self.view.watch.add(self.context.viewer.pk, self)

    async def shutdown(self) -> None:
        if self.context.viewer is not None:
            self.view.watch.discard(self.context.viewer.pk, self)
        await super().shutdown()

    async def handle_message(self, message: Message) -> None:
        # The protocol's own checks assume an object with a string id; anything else is malformed.
        if not isinstance(message, dict) or not isinstance(message.get("id", ""), str):
            await self.handle_invalid_message("A message is a JSON object with a string `id`")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = self.max_subscriptions_per_connection
        busy = message["id"] in self.operations or (cap is not None and len(self.operations) >= cap)
        if not self.connection_acknowledged or busy:
            await super().handle_subscribe(message)  # the protocol's own refusals
            return
        if not await self.reauthenticate():
            return
        served = Served(WEBSOCKET, "", client_address(self.context.request), "WS", signed_in=self.context.viewer is not None)
        self.served[message["id"]] = served
        try:
            context, query = await self.admit(message, served)
        except RequestError as refusal:
            served.status = refusal.status
            await self.send_message({"id": message["id"], "type": "error", "payload": [refusal_error(refusal)]})
            self._report(message["id"])
            return
        self.contexts[message["id"]] = context
        message["payload"]["query"] = query
        await super().handle_subscribe(message)

    async def admit(self, message: SubscribeMessage, served: Served) -> tuple[Context, str]:
        served.request_id = new_request_id()
        payload = message.get("payload")
        params = OperationParams.parse(payload if isinstance(payload, dict) else {}, from_query_string=False)
        found = await look_up(self.view.queries, params.query, params.extensions)
        query = found.query
        if query is None:
            raise RequestError(400, "No GraphQL query found in the message", "BAD_REQUEST")
        context = replace(self.context, loaders=Loaders(), request_id=served.request_id)
        admission = await self.view.guard.admit(context, query, params.operation_name, params.variables)
        # Admitted (parsed, within every limit and budget): only now may its hash be registered.
        await remember(self.view.queries, found)
        served.cost, served.operation_name = admission.cost, admission.operation_name
        served.operation_type = admission.operation.value if admission.operation else None
        return context, query

    async def send_message(self, message: Any) -> None:
        # Every message leaves here: graphql-core's own errors (validation, variables) get their
        # code, as over HTTP, and the codes an operation answered are read off its own messages.
        payload = message.get("payload")
        errors = payload if message.get("type") == "error" else (payload or {}).get("errors") or ()
        codes = [str(coded(error)["extensions"].get("code")) for error in errors if isinstance(error, dict)]
        served = self.served.get(message.get("id", ""))
        if served is not None and len(served.error_codes) < MAX_CODES_RECORDED:
            # A subscription may answer errors for as long as it lives: its record keeps the first.
            served.error_codes.extend(codes[:MAX_CODES_RECORDED - len(served.error_codes)])
        await super().send_message(message)

    def _report(self, operation_id: str) -> None:
        served = self.served.pop(operation_id, None)
        if served is not None:
            served.finish()

    async def reauthenticate(self) -> bool:
        """Read the connection's token again; close the connection when it no longer signs anyone in."""
        token = self.context.token
        if token is None:
            return True
        found = await refresh(token)
        if found is None:
            await self.websocket.close(*REVOKED)
            return False
        for context in (self.context, *self.contexts.values()):
            context.viewer, context.token = found.viewer, found.token
        return True

    async def access_changed(self) -> None:
        """The user's account changed: re-admit every open subscription with the rights of now."""
        if not await self.reauthenticate():
            return
        for operation in list(self.operations.values()):
            context = self.contexts.get(operation.id)
            admission = context.admission if context else None
            if admission is not None and admission.subscription and operation.task:
                # Stop the running one first (its stream may end rather than raise on cancellation).
                self.restarting.add(operation.id)
                operation.task.cancel()
                await asyncio.wait([operation.task])
                self.restarting.discard(operation.id)
                if operation.id in self.operations:
                    operation.task = asyncio.create_task(self.run_operation(operation))
                    operation.task.add_done_callback(self._task_done)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's run, with the operation's own context, and the time limit on queries and
        mutations (a subscription lives as long as the client wants it)."""
        context = self.contexts[operation.id]
        limit = self.view.settings.request_timeout_seconds
        subscription = context.admission is not None and context.admission.subscription
        served = self.served.get(operation.id)
        with recording() as touched:
            try:
                if subscription:
                    metrics.subscription_started()  # ended below, however the run ends
                async with asyncio.timeout(None if subscription else limit):
                    source = await self.schema.stream(operation.query, variable_values=operation.variables,
                                                      context_value=context, root_value=self.root_value,
                                                      operation_name=operation.operation_name)
                    async with aclosing(source):
                        await self._send_result_stream(operation, source)
                if operation.id in self.restarting:
                    return  # stopped to run again: the new run speaks for the operation
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            except _OperationStreamClosed:
                return
            except TimeoutError:
                refusal = RequestError(504, f"The operation took over {limit} s and was cancelled", "TIMEOUT")
                if served is not None:
                    served.status = 504
                await operation.send_operation_message(
                    ErrorMessage(id=operation.id, type="error", payload=[refusal_error(refusal)]))
            finally:
                if subscription:
                    metrics.subscription_ended()
                if served is not None:
                    served.statements += touched.statements
                if operation.id not in self.restarting:
                    self._report(operation.id)
                if operation.id not in self.operations:
                    self.contexts.pop(operation.id, None)

    async def _send_result_stream(self, operation: Operation[Context, None], result_source: StreamResult) -> None:
        """Strawberry's, except that an operation refused as execution starts (its variables do not
        coerce: no data, graphql-core's errors without a path or a code) is the protocol's `error`
        message, as validation errors are, not a `next` with `data: null`: over HTTP the same is a
        400 without `data`."""

        async def refused_first() -> StreamResult:
            first = True
            async for result in result_source:
                # graphql-core's own (uncoded, pathless) errors; a refusal of ours (FORBIDDEN when a
                # subscription is admitted again) stays as it was: `next`, then `complete`.
                if first and isinstance(result, ExecutionResult) and result.data is None and result.errors \
                        and not any(error.path or (error.extensions or {}).get("code") for error in result.errors):
                    await operation.send_initial_errors(result.errors)  # ends the operation: no `complete`
                    return
                first = False
                yield result

        await super()._send_result_stream(operation, refused_first())

    async def cleanup_operation(self, operation_id: str) -> None:
        await super().cleanup_operation(operation_id)
        self.contexts.pop(operation_id, None)


class AccessWatch:
    """This process's open connections by user, told when an account changes (through the broker,
    so a change made through another worker reaches them too)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.connections: dict[int, set[GuardedOperations]] = defaultdict(set)
        self.task: asyncio.Task[None] | None = None

    def add(self, user_id: int, handler: GuardedOperations) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._listen())
        self.connections[user_id].add(handler)

    def discard(self, user_id: int, handler: GuardedOperations) -> None:
        handlers = self.connections.get(user_id)
        if handlers is not None:
            handlers.discard(handler)
            if not handlers:
                del self.connections[user_id]

    async def _listen(self) -> None:
        async for event in self.broker.subscribe(ACCOUNTS_CHANNEL):
            user_id = event.get("userId")
            for handler in list(self.connections.get(user_id, ()) if isinstance(user_id, int) else ()):
                try:
                    await handler.access_changed()
                except Exception:  # one connection's failure must not deafen the others
                    logger.exception("re-admitting the operations of user %s failed", event.get("userId"))

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = GuardedOperations

    def __init__(self, schema: Any, settings: Settings, broker: Broker, guard: Guard, queries: QueryStore) -> None:
        # GraphiQL is served by gql.http.graphiql from local assets, not by Strawberry from a CDN.
        # graphql-transport-ws only: the legacy `graphql-ws` protocol would need a guard of its own.
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
                         max_subscriptions_per_connection=settings.ws_max_operations)
        self.settings, self.broker, self.guard, self.queries = settings, broker, guard, queries
        self.watch = AccessWatch(broker)
        self.open_by_client: dict[str, int] = defaultdict(int)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        client = client_address(websocket)
        refusal = self._over_capacity(client)
        if refusal is not None:
            await self._deny(websocket, refusal)
            return
        self.open_by_client[client] += 1
        metrics.websocket_opened()
        try:
            await super().__call__(scope, receive, send)
        finally:
            metrics.websocket_closed()
            self.open_by_client[client] -= 1
            if not self.open_by_client[client]:
                del self.open_by_client[client]

    def _over_capacity(self, client: str) -> RequestError | None:
        settings = self.settings
        if sum(self.open_by_client.values()) >= settings.ws_max_connections:
            return RequestError(503, "The server holds as many WebSocket connections as it takes; try again later",
                                "TOO_MANY_CONNECTIONS", limit=settings.ws_max_connections)
        if self.open_by_client[client] >= settings.ws_max_connections_per_client:
            return RequestError(429, f"At most {settings.ws_max_connections_per_client} WebSocket connections "
                                     "per client", "TOO_MANY_CONNECTIONS", limit=settings.ws_max_connections_per_client)
        return None

    @staticmethod
    async def _deny(websocket: WebSocket, refusal: RequestError) -> None:
        """Refuse the handshake with an HTTP answer where the server can send one, else a close."""
        await websocket.receive()  # websocket.connect
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            body = {"errors": [refusal_error(refusal)]}
            await websocket.send_denial_response(JSONResponse(body, status_code=refusal.status))
        else:
            await websocket.close(code=1013, reason=refusal.message[:120])

    def decode_json(self, data: str | bytes) -> object:
        # The WebSocket reads JSON as HTTP does (orjson): NaN, Infinity, 1e400 and lone surrogates,
        # which the stdlib's reader takes, are not JSON; a message holding one closes with 4400.
        return orjson.loads(data)

    def encode_json(self, data: object) -> str:
        # Total (gql/ops/encoding.py), and text: a `str` goes out as a text frame, as clients expect.
        return dumps(data).decode()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(request=request, settings=self.settings, broker=self.broker)

    async def on_ws_connect(self, context: Context) -> Any:
        """Sign the connection in from `connection_init`'s `Authorization: Bearer <token>`."""
        params = context.connection_params or {}
        try:
            await authenticate(context, params.get("Authorization", params.get("authorization")))
        except CredentialsRefused:
            raise ConnectionRejectionError() from None
        return await super().on_ws_connect(context)
