"""The moderators' reads: the queue of posts to moderate and the audit log."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql.core.context import Info
from gql.core.relay import Connection, Listing, connection
from gql.moderation.types import ModerationAction, ModerationItem, QueueKind
from gql.permissions import reading
from gql.posts.types import PostStatus
from models import audit
from models import moderation as models
from models.accounts import Capability
from models.posts import Post


@strawberry.type
class ModerationQueries:
    @connection("Posts waiting for a moderator (pending, marked as spam, or reported), oldest first; "
                "`status` keeps those in the given moderation statuses.", permission_classes=[reading(Capability.MODERATE)],
                graphql_type=Connection[ModerationItem])
    def moderation_queue(
        self,
        info: Info,
        kind: Annotated[list[QueueKind] | None, strawberry.argument(description=(
            "Only posts queued for one of these reasons; every reason when omitted."))] = None,
        status: Annotated[list[PostStatus] | None, strawberry.argument(description=(
            "Only posts in one of these moderation statuses; any when omitted."))] = None,
    ) -> Listing[Post]:
        return models.queue_posts(kind, status)

    @connection("The audit log of every moderation action, newest first.", permission_classes=[reading(Capability.MODERATE)],
                graphql_type=Connection[ModerationAction])
    def moderation_log(self, info: Info) -> Listing[audit.ModerationAction]:
        return audit.ModerationAction.all()
