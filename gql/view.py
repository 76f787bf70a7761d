"""Strawberry's ASGI view, used for WebSocket subscriptions and the GraphiQL page.

Plain HTTP requests go through gql.transport, which follows the GraphQL-over-HTTP draft.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gql.context import Context
from gql.settings import Settings


class GraphQLView(GraphQL):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None if settings.is_production else "graphiql")
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(request=request, response=None, settings=self.settings)
