"""The HTTP/WebSocket GraphQL endpoint: Strawberry's ASGI view with our context and encoder."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gql.context import Context
from gql.settings import Settings
from models.accounts import user_for_token


class GraphQLView(GraphQL):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
        )
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context = Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
        )
        token = bearer_token(request.headers.get("authorization"))
        if token:
            found = await user_for_token(token)
            if found:
                context.viewer, context.token = found
        return context

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
