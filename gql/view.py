"""Strawberry's ASGI view, used for WebSocket subscriptions.

Plain HTTP requests go through gql.transport, which follows the GraphQL-over-HTTP draft.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from gql.broker import Broker
from gql.context import Context
from gql.settings import Settings
from gql.transport import bearer_token
from models.accounts import user_for_token


class GraphQLView(GraphQL):
    def __init__(self, schema: Any, settings: Settings, broker: Broker) -> None:
        # GraphiQL is served by gql.graphiql from local assets, not by Strawberry from a CDN.
        super().__init__(schema, graphql_ide=None)
        self.settings = settings
        self.broker = broker

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(request=request, response=None, settings=self.settings, broker=self.broker)

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        """Sign the connection in from `connection_init`'s `Authorization: Bearer <token>`."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        token = bearer_token(header) if isinstance(header, str) else None
        if header and token is None:
            raise ConnectionRejectionError()
        if token:
            found = await user_for_token(token)
            if found is None:
                raise ConnectionRejectionError()
            context.viewer, context.token = found
        return await super().on_ws_connect(context)
