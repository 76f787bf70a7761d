"""The moderation queue, live over WebSocket, for moderators."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from gql.core.context import Info
from gql.core.subscriptions import deliveries
from gql.live.events import MODERATION_CHANNEL
from gql.moderation.types import ModerationItem
from gql.permissions import reading
from models.accounts import Capability
from models.posts import Post as PostModel


@strawberry.type
class ModerationSubscriptions:
    @strawberry.subscription(description="A post that entered, changed in or left the moderation queue (moderators).",
                             permission_classes=[reading(Capability.MODERATE)], graphql_type=ModerationItem)
    async def moderation_queue_changed(self, info: Info) -> AsyncGenerator[PostModel, None]:
        async for event in deliveries(info, MODERATION_CHANNEL):
            post = await PostModel.get_or_none(id=event["postId"])
            if post is not None:
                yield post
