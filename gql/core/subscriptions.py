"""The subscription convention: a channel's events, delivered while the viewer may still have them.

Channels carry IDs; each event is read fresh from the database with fresh loaders, because a
subscription's context lives as long as its connection and cached rows would go stale. Before
each event the token and the viewer's rights are read again, so revoking a token or losing a role
ends the subscription at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from gql.authentication import refresh
from gql.core.context import Info
from gql.core.errors import Unauthenticated
from gql.core.loaders import Loaders

Authorized = Callable[[Info], object]


async def deliveries(info: Info, channel: str, authorize: Authorized | None = None) -> AsyncIterator[dict[str, Any]]:
    """The channel's events for as long as the viewer may receive them: before each one the token
    is read again (revoked: the subscription ends UNAUTHENTICATED) and `authorize` runs again with
    the viewer's rights of now (lost: it ends FORBIDDEN)."""
    context = info.context
    if authorize is not None:
        authorize(info)
    async for event in context.broker.subscribe(channel):
        # Fresh loaders per event: this context lives as long as its connection.
        context.loaders = Loaders()
        if context.token is not None:
            found = await refresh(context.token)
            if found is None:
                raise Unauthenticated("Your token was revoked: sign in again")
            context.viewer, context.token = found
        if authorize is not None:
            authorize(info)
        yield event
