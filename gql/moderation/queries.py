from __future__ import annotations

from typing import Annotated

import strawberry

from gql.core.context import Info
from gql.core.mutations import require_reader
from gql.core.relay import Connection, connection
from gql.moderation.types import ModerationAction, ModerationItem, QueueKind
from gql.posts.types import PostStatus
from models import moderation as models
from models.accounts import Capability


@strawberry.type
class ModerationQueries:
    @connection("Posts waiting for a moderator (pending, marked as spam, or reported), oldest first; "
                "`status` keeps those in the given moderation statuses.")
    def moderation_queue(
        self,
        info: Info,
        kind: Annotated[list[QueueKind] | None, strawberry.argument(description=(
            "Only posts queued for one of these reasons; every reason when omitted."))] = None,
        status: Annotated[list[PostStatus] | None, strawberry.argument(description=(
            "Only posts in one of these moderation statuses; any when omitted."))] = None,
    ) -> Connection[ModerationItem]:
        require_reader(info, Capability.MODERATE)
        return models.queue_posts(kind, status)  # type: ignore[arg-type,return-value]

    @connection("The audit log of every moderation action, newest first.")
    def moderation_log(self, info: Info) -> Connection[ModerationAction]:
        require_reader(info, Capability.MODERATE)
        return models.ModerationAction.all()  # type: ignore[return-value]
