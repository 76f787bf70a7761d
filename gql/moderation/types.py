"""Reports, the audit log and the moderation queue as GraphQL shows them; each type's root value
is a row (a queue item is the queued post's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gql.accounts.loaders import UserByIdLoader
from gql.accounts.types import User
from gql.core.context import Info
from gql.core.documented import described_enum, embedded
from gql.core.loaders import Loaded
from gql.core.relay import Node, node_type, to_global_id
from gql.moderation.loaders import OpenReportsByPostIdLoader
from gql.permissions import reads_as
from gql.posts.loaders import PostByIdLoader, ReplyByIdLoader
from gql.posts.types import Post, Reply
from models import accounts, audit, posts
from models import moderation as models
from models.accounts import Capability
from models.posts import PostStatus

_DISMISS = "Close the open reports on it as DISMISSED, changing nothing else."
PostAction = models.PostAction
described_enum(PostAction, "What a moderator (or a Star, for MARK_SPAM) does to a post.", {
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
ReplyAction = models.ReplyAction
described_enum(ReplyAction, "What a moderator does to a reply.", {
    "HIDE": "Hide the reply from readers (its post's replyCount drops).",
    "RESTORE": "Show a hidden reply again.",
    "DISMISS_REPORTS": _DISMISS,
})
ReportReason = models.ReportReason
described_enum(ReportReason, "Why a member reports a post or reply.", {
    "SPAM": "Advertising or junk.",
    "ABUSE": "Insults, harassment or hate.",
    "OFF_TOPIC": "Not about the board's subject.",
    "PERSONAL_INFO": "Someone's private details.",
    "OTHER": "Anything else; say what in the note.",
})
ReportStatus = models.ReportStatus
described_enum(ReportStatus, "Where a report stands.", {
    "OPEN": "Waiting for a moderator.",
    "RESOLVED": "A moderator acted on the content.",
    "DISMISSED": "A moderator found nothing to act on.",
})
TargetKind = audit.TargetKind
described_enum(TargetKind, "What kind of object a report or audit-log entry is about.", {
    "POST": "A post.",
    "REPLY": "A reply.",
    "USER": "A user account.",
    "STAR_APPLICATION": "A Stars program application.",
    "ISSUE": "An issue.",
    "FAQ": "An FAQ.",
    "ANNOUNCEMENT": "An announcement.",
})
QueueKind = models.QueueKind
described_enum(QueueKind, "Why a post is in the moderation queue.", {
    "PENDING": "A new post waiting for approval.",
    "REPORTED": "The post or one of its replies has open reports.",
    "SPAM": "Marked as spam, waiting for a moderator's verdict.",
})
ReportedContent = Annotated[Post | Reply, strawberry.union("ReportedContent", description="A reported post or reply.")]

# The GraphQL type behind each kind of audit-log target, for its global ID.
_TARGET_TYPENAMES = {
    audit.TargetKind.POST: "Post",
    audit.TargetKind.REPLY: "Reply",
    audit.TargetKind.USER: "User",
    audit.TargetKind.STAR_APPLICATION: "StarApplication",
    audit.TargetKind.ISSUE: "Issue",
    audit.TargetKind.FAQ: "Faq",
    audit.TargetKind.ANNOUNCEMENT: "Announcement",
}


def _target_id(kind: audit.TargetKind, pk: int) -> strawberry.ID:
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
    @staticmethod
    def content_id(report: strawberry.Parent[models.Report]) -> strawberry.ID:
        return _target_id(report.target_kind, report.target_id)

    @strawberry.field(graphql_type=ReportedContent | None,
                      description="The reported post or reply as it is now; for moderators (null for others).")
    @staticmethod
    def content(report: strawberry.Parent[models.Report], info: Info) -> Loaded[posts.Post | None] | Loaded[posts.Reply | None]:
        # A reporter may still read their report after the content was hidden from them.
        if not reads_as(info.context.viewer, Capability.MODERATE):
            return None
        if report.target_kind is audit.TargetKind.POST:
            return info.context.loaders[PostByIdLoader].get(report.target_id)
        return info.context.loaders[ReplyByIdLoader].get(report.target_id)

    @strawberry.field(graphql_type=User, description="Who reported it.")
    @staticmethod
    def reporter(report: strawberry.Parent[models.Report], info: Info) -> Loaded[accounts.User | None]:
        return info.context.loaders[UserByIdLoader].get(report.reporter_id)


@node_type(audit.ModerationAction)
@strawberry.type(description="One entry of the audit log: who did what to what, why and when.")
class ModerationAction(Node):
    action: str = strawberry.field(description=(
        "What was done: a PostAction or ReplyAction value, a Decision value, CLAIM, CREATE, UPDATE, PUBLISH, "
        "UPDATE_<status>, SET_ROLE_<role>, SUSPEND, UNSUSPEND or FEATURE_STAR (an open set: new actions may appear)."))
    reason: str = strawberry.field(description="Why, as the actor wrote it (or what changed); may be empty.")
    target_kind: TargetKind = strawberry.field(description="What kind of object was acted on.")
    created_at: datetime = strawberry.field(description="When it was done.")

    @strawberry.field(description="Global ID of the object acted on.")
    @staticmethod
    def target_id(action: strawberry.Parent[audit.ModerationAction]) -> strawberry.ID:
        return _target_id(action.target_kind, action.target_id)

    @strawberry.field(graphql_type=User | None, description="Who did it; null when their account is gone.")
    @staticmethod
    def actor(action: strawberry.Parent[audit.ModerationAction], info: Info) -> Loaded[accounts.User | None]:
        actor_id = action.actor_id
        return info.context.loaders[UserByIdLoader].get(actor_id) if actor_id else None


@strawberry.type(description=embedded("A post that needs a moderator, with the reasons it is queued (key it by its "
                                      "`post`)."))
class ModerationItem:
    # The root object is the queued post itself.

    @strawberry.field(graphql_type=Post, description="The queued post.")
    @staticmethod
    def post(post: strawberry.Parent[posts.Post]) -> posts.Post:
        return post

    @strawberry.field(description="When the post was written.")
    @staticmethod
    def queued_at(post: strawberry.Parent[posts.Post]) -> datetime:
        return post.created_at

    @strawberry.field(graphql_type=list[Report], description="Open reports on the post and its replies.")
    @staticmethod
    def reports(post: strawberry.Parent[posts.Post], info: Info) -> Loaded[list[models.Report]]:
        return info.context.loaders[OpenReportsByPostIdLoader].get(post.pk)

    @strawberry.field(description="Why it is queued.")
    @staticmethod
    async def kinds(post: strawberry.Parent[posts.Post], info: Info) -> list[QueueKind]:
        kinds: list[QueueKind] = []
        if post.status is PostStatus.PENDING:
            kinds.append(QueueKind.PENDING)
        if post.status is PostStatus.SPAM:
            kinds.append(QueueKind.SPAM)
        if await info.context.loaders[OpenReportsByPostIdLoader].load(post.pk):
            kinds.append(QueueKind.REPORTED)
        return kinds
