"""The subscription convention: a channel's events, delivered while the viewer may still have them.

Channels carry IDs; each event is read fresh from the database with fresh loaders, because a
subscription's context lives as long as its connection and cached rows would go stale. Before
each event the token and the viewer's rights are read again, so revoking a token or losing a role
ends the subscription at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from gql.core.context import Info
from gql.core.errors import Unauthenticated
from gql.core.loaders import Loaders
from gql.permissions import declared, refresh


async def deliveries(info: Info, channel: str) -> AsyncIterator[dict[str, Any]]:
    """The channel's events for as long as the viewer may receive them. The subscription's declared
    permissions (`permission_classes`, gql/permissions.py) are checked as the stream starts and
    again before each event, after the token is read again (revoked: the subscription ends
    UNAUTHENTICATED), with the viewer's rights of now (lost: it ends FORBIDDEN)."""
    context = info.context
    # The rules of a subscription read the viewer, not its arguments.
    rules = declared(info)
    for rule in rules:
        rule.check(info, {})
    async for event in context.broker.subscribe(channel):
        # Fresh loaders per event: this context lives as long as its connection.
        context.loaders = Loaders()
        if context.token is not None:
            found = await refresh(context.token)
            if found is None:
                raise Unauthenticated("Your token was revoked: sign in again")
            context.viewer, context.token = found.viewer, found.token
        for rule in rules:
            rule.check(info, {})
        yield event
