from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Awaitable

import strawberry

from gql.accounts.loaders import UserByIdLoader
from gql.accounts.types import User
from gql.context import Info
from gql.moderation.loaders import OpenReportsByPostIdLoader
from gql.mutations import reads_as
from gql.posts.loaders import PostByIdLoader, ReplyByIdLoader
from gql.posts.types import Post, Reply
from gql.relay import Node, node_type, to_global_id
from models import moderation as models
from models.accounts import Capability
from models.posts import PostStatus

PostAction = strawberry.enum(models.PostAction, description="What a moderator (or a Star, for MARK_SPAM) does to a post.")
ReplyAction = strawberry.enum(models.ReplyAction, description="What a moderator does to a reply.")
ReportReason = strawberry.enum(models.ReportReason)
ReportStatus = strawberry.enum(models.ReportStatus)
TargetKind = strawberry.enum(models.TargetKind)
QueueKind = strawberry.enum(models.QueueKind, description="Why a post is in the moderation queue.")
ReportedContent = Annotated[Post | Reply, strawberry.union("ReportedContent", description="A reported post or reply.")]

# The GraphQL type behind each kind of audit-log target, for its global ID.
_TARGET_TYPENAMES = {
    models.TargetKind.POST: "Post",
    models.TargetKind.REPLY: "Reply",
    models.TargetKind.USER: "User",
    models.TargetKind.STAR_APPLICATION: "StarApplication",
    models.TargetKind.ISSUE: "Issue",
    models.TargetKind.FAQ: "Faq",
    models.TargetKind.ANNOUNCEMENT: "Announcement",
}


def _target_id(kind: models.TargetKind, pk: int) -> strawberry.ID:
    return strawberry.ID(to_global_id(_TARGET_TYPENAMES[kind], pk))


@node_type(models.Report)
@strawberry.type(description="A member's report of a post or reply.")
class Report(Node):
    reason: ReportReason
    note: str
    status: ReportStatus
    target_kind: TargetKind
    created_at: datetime
    resolved_at: datetime | None

    @strawberry.field(description="Global ID of the reported post or reply.")
    def content_id(self) -> strawberry.ID:
        return _target_id(self.target_kind, self.target_id)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=ReportedContent | None,
                      description="The reported post or reply as it is now; for moderators (null for others).")
    def content(self, info: Info) -> Awaitable[Any] | None:
        # A reporter may still read their report after the content was hidden from them.
        if not reads_as(info.context.viewer, Capability.MODERATE):
            return None
        loader = PostByIdLoader if self.target_kind is models.TargetKind.POST else ReplyByIdLoader  # type: ignore[attr-defined]
        return info.context.loaders[loader].get(self.target_id)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=User)
    def reporter(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[UserByIdLoader].get(self.reporter_id)  # type: ignore[attr-defined]


@node_type(models.ModerationAction)
@strawberry.type(description="One entry of the audit log: who did what to what, why and when.")
class ModerationAction(Node):
    action: str
    reason: str
    target_kind: TargetKind
    created_at: datetime

    @strawberry.field(description="Global ID of the object acted on.")
    def target_id(self) -> strawberry.ID:
        return _target_id(self.target_kind, self.target_id)  # type: ignore[attr-defined,arg-type]

    @strawberry.field(graphql_type=User | None)
    def actor(self, info: Info) -> Awaitable[Any] | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        return info.context.loaders[UserByIdLoader].get(actor_id) if actor_id else None


@strawberry.type(description="A post that needs a moderator, with the reasons it is queued.")
class ModerationItem:
    # The root object is the queued post itself.

    @strawberry.field(graphql_type=Post)
    def post(self) -> Any:
        return self

    @strawberry.field
    def queued_at(self) -> datetime:
        return self.created_at  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[Report], description="Open reports on the post and its replies.")
    def reports(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[OpenReportsByPostIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(description="Why it is queued.")
    async def kinds(self, info: Info) -> list[QueueKind]:
        kinds: list[models.QueueKind] = []
        status = self.status  # type: ignore[attr-defined]
        if status is PostStatus.PENDING:
            kinds.append(models.QueueKind.PENDING)
        if status is PostStatus.SPAM:
            kinds.append(models.QueueKind.SPAM)
        if await info.context.loaders[OpenReportsByPostIdLoader].load(self.pk):  # type: ignore[attr-defined]
            kinds.append(models.QueueKind.REPORTED)
        return kinds  # type: ignore[return-value]
