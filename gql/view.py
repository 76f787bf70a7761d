"""The HTTP/WebSocket GraphQL endpoint: Strawberry's ASGI view with our context and encoder."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gql.context import Context
from gql.settings import Settings
from models.accounts import AccessToken, User, user_for_token

Auth = tuple[User, AccessToken] | None


class GraphQLView(GraphQL):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
        )
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = bearer_token(Headers(scope=scope).get("authorization"))
            auth = await user_for_token(token) if token else None
            if token and auth is None:
                # A bad token is an error, not a silent fall-back to anonymous: the client must know.
                await unauthenticated_response("Invalid or revoked token")(scope, receive, send)
                return
            scope.setdefault("state", {})["auth"] = auth
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        auth: Auth = request.scope.get("state", {}).get("auth")
        viewer, token = auth if auth else (None, None)
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            viewer=viewer,
            token=token,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def unauthenticated_response(message: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    return Response(
        orjson.dumps(body),
        status_code=401,
        media_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="community-api"'},
    )
