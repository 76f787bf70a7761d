from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any

import strawberry

from gql.accounts.loaders import UserByIdLoader
from gql.accounts.types import User
from gql.core.context import Info
from gql.core.documented import described_enum, embedded
from gql.core.mutations import reads_as
from gql.core.relay import Node, node_type, to_global_id
from gql.moderation.loaders import OpenReportsByPostIdLoader
from gql.posts.loaders import PostByIdLoader, ReplyByIdLoader
from gql.posts.types import Post, Reply
from models import moderation as models
from models.accounts import Capability
from models.posts import PostStatus

_DISMISS = "Close the open reports on it as DISMISSED, changing nothing else."
PostAction = described_enum(models.PostAction, "What a moderator (or a Star, for MARK_SPAM) does to a post.", {
    "APPROVE": "Publish a PENDING post, or one marked SPAM that is not spam.",
    "REJECT": "Refuse a PENDING or SPAM post (REJECTED).",
    "HIDE": "Hide a PUBLISHED, PENDING or SPAM post from readers (HIDDEN).",
    "RESTORE": "Publish again a HIDDEN, SPAM or REJECTED post.",
    "LOCK": "Close the thread to new replies.",
    "UNLOCK": "Open the thread to replies again.",
    "PIN": "Pin the post to the top of its board.",
    "UNPIN": "Unpin the post.",
    "MARK_SPAM": "Take the post out of sight as SPAM until a moderator decides (Stars may do this).",
    "DISMISS_REPORTS": _DISMISS,
})
ReplyAction = described_enum(models.ReplyAction, "What a moderator does to a reply.", {
    "HIDE": "Hide the reply from readers (its post's replyCount drops).",
    "RESTORE": "Show a hidden reply again.",
    "DISMISS_REPORTS": _DISMISS,
})
ReportReason = described_enum(models.ReportReason, "Why a member reports a post or reply.", {
    "SPAM": "Advertising or junk.",
    "ABUSE": "Insults, harassment or hate.",
    "OFF_TOPIC": "Not about the board's subject.",
    "PERSONAL_INFO": "Someone's private details.",
    "OTHER": "Anything else; say what in the note.",
})
ReportStatus = described_enum(models.ReportStatus, "Where a report stands.", {
    "OPEN": "Waiting for a moderator.",
    "RESOLVED": "A moderator acted on the content.",
    "DISMISSED": "A moderator found nothing to act on.",
})
TargetKind = described_enum(models.TargetKind, "What kind of object a report or audit-log entry is about.", {
    "POST": "A post.",
    "REPLY": "A reply.",
    "USER": "A user account.",
    "STAR_APPLICATION": "A Stars program application.",
    "ISSUE": "An issue.",
    "FAQ": "An FAQ.",
    "ANNOUNCEMENT": "An announcement.",
})
QueueKind = described_enum(models.QueueKind, "Why a post is in the moderation queue.", {
    "PENDING": "A new post waiting for approval.",
    "REPORTED": "The post or one of its replies has open reports.",
    "SPAM": "Marked as spam, waiting for a moderator's verdict.",
})
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
    reason: ReportReason = strawberry.field(description="Why it was reported.")
    note: str = strawberry.field(description="The reporter's words; may be empty.")
    status: ReportStatus = strawberry.field(description="Where the report stands.")
    target_kind: TargetKind = strawberry.field(description="POST or REPLY.")
    created_at: datetime = strawberry.field(description="When it was reported.")
    resolved_at: datetime | None = strawberry.field(description="When a moderator closed it; null while OPEN.")

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

    @strawberry.field(graphql_type=User, description="Who reported it.")
    def reporter(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[UserByIdLoader].get(self.reporter_id)  # type: ignore[attr-defined]


@node_type(models.ModerationAction)
@strawberry.type(description="One entry of the audit log: who did what to what, why and when.")
class ModerationAction(Node):
    action: str = strawberry.field(description=(
        "What was done: a PostAction or ReplyAction value, a Decision value, CLAIM, CREATE, UPDATE, PUBLISH, "
        "UPDATE_<status>, SET_ROLE_<role>, SUSPEND, UNSUSPEND or FEATURE_STAR (an open set: new actions may appear)."))
    reason: str = strawberry.field(description="Why, as the actor wrote it (or what changed); may be empty.")
    target_kind: TargetKind = strawberry.field(description="What kind of object was acted on.")
    created_at: datetime = strawberry.field(description="When it was done.")

    @strawberry.field(description="Global ID of the object acted on.")
    def target_id(self) -> strawberry.ID:
        return _target_id(self.target_kind, self.target_id)  # type: ignore[attr-defined,arg-type]

    @strawberry.field(graphql_type=User | None, description="Who did it; null when their account is gone.")
    def actor(self, info: Info) -> Awaitable[Any] | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        return info.context.loaders[UserByIdLoader].get(actor_id) if actor_id else None


@strawberry.type(description=embedded("A post that needs a moderator, with the reasons it is queued (key it by its "
                                      "`post`)."))
class ModerationItem:
    # The root object is the queued post itself.

    @strawberry.field(graphql_type=Post, description="The queued post.")
    def post(self) -> Any:
        return self

    @strawberry.field(description="When the post was written.")
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
