"""Moderation: members report content; moderators (and Stars, for spam) act on posts and replies;
admins change roles and suspend. Every action lands in the audit log (models/audit.py)."""

from __future__ import annotations

from typing import Any

import strawberry

from gql.accounts.types import Role, User
from gql.core.context import Info
from gql.core.mutations import MutationPayload, mutate
from gql.core.relay import pk_of, typed_pk
from gql.live import events
from gql.moderation.types import PostAction, ReplyAction, Report, ReportReason
from gql.permissions import Permission, holding, require_viewer
from gql.posts.types import Post, Reply
from models import accounts, audit
from models import moderation as rules
from models.accounts import Capability


@strawberry.input(description="A moderation action on a post.")
class ModeratePostInput:
    post_id: strawberry.ID = strawberry.field(description="The post.")
    action: rules.PostAction = strawberry.field(graphql_type=PostAction, description=(
        "What to do (INVALID_STATE when it does not apply now)."))
    reason: str = strawberry.field(default="", description="Kept in the audit log.")
    client_mutation_id: str | None = None


@strawberry.input(description="A moderation action on a reply.")
class ModerateReplyInput:
    reply_id: strawberry.ID = strawberry.field(description="The reply.")
    action: rules.ReplyAction = strawberry.field(graphql_type=ReplyAction, description=(
        "What to do (INVALID_STATE when it does not apply now)."))
    reason: str = strawberry.field(default="", description="Kept in the audit log.")
    client_mutation_id: str | None = None


@strawberry.input(description="A report of a post or reply to the moderators.")
class ReportContentInput:
    content_id: strawberry.ID = strawberry.field(description="A Post or a Reply.")
    reason: rules.ReportReason = strawberry.field(graphql_type=ReportReason, description="Why.")
    note: str = strawberry.field(default="", description="More words for the moderators; optional.")
    client_mutation_id: str | None = None


@strawberry.input(description="A new role for a user.")
class SetUserRoleInput:
    user_id: strawberry.ID = strawberry.field(description="The user (not yourself: SELF).")
    role: Role = strawberry.field(description="The role from now on (UNCHANGED when it is theirs already).")
    reason: str = strawberry.field(default="", description="Kept in the audit log.")
    client_mutation_id: str | None = None


@strawberry.input(description="A suspension to start or lift.")
class SuspendUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user (not yourself: SELF).")
    suspended: bool = strawberry.field(default=True, description="False lifts a suspension.")
    reason: str = strawberry.field(default="", description="Kept in the audit log; required to suspend (BLANK), optional to lift.")
    client_mutation_id: str | None = None


@strawberry.type(description="The result of `moderatePost`.")
class ModeratePostPayload(MutationPayload):
    post: rules.Post | None = strawberry.field(default=None, graphql_type=Post | None,
                                               description="The post as it is now; null on userErrors.")


@strawberry.type(description="The result of `moderateReply`.")
class ModerateReplyPayload(MutationPayload):
    reply: rules.Reply | None = strawberry.field(default=None, graphql_type=Reply | None,
                                                 description="The reply as it is now; null on userErrors.")


@strawberry.type(description="The result of `reportContent`.")
class ReportContentPayload(MutationPayload):
    report: rules.Report | None = strawberry.field(default=None, graphql_type=Report | None,
                                                   description="The new report; null on userErrors.")


@strawberry.type(description="The result of `setUserRole` or `suspendUser`.")
class UserPayload(MutationPayload):
    user: accounts.User | None = strawberry.field(default=None, graphql_type=User | None,
                                                  description="The user as they are now; null on userErrors.")


_REPORTABLE = {"Post": audit.TargetKind.POST, "Reply": audit.TargetKind.REPLY}


class ModeratingThePost(Permission):
    """To act on a post: the capability its action needs (Stars may mark spam; every other action is for moderators)."""

    reads_arguments = True

    def check(self, info: Info, arguments: dict[str, Any]) -> accounts.User:
        input: ModeratePostInput = arguments["input"]
        return require_viewer(info, rules.capability_for(input.action))


_MODERATORS = holding(Capability.MODERATE)
_ADMINS = holding(Capability.MANAGE_USERS)


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(description="Moderate a post; every action is written to the audit log.",
                         permission_classes=[ModeratingThePost])
    async def moderate_post(self, info: Info, input: ModeratePostInput) -> ModeratePostPayload:
        async def moderate(viewer: accounts.User) -> ModeratePostPayload:
            return ModeratePostPayload(post=await rules.moderate_post(
                viewer, pk_of(input.post_id, "Post"), input.action, input.reason))

        payload = await mutate(info, ModeratePostPayload, input, moderate)
        await events.queue_changed(info.context.broker, payload.post.pk if payload.post else None)
        return payload

    @strawberry.mutation(description="Hide or restore a reply (its post's replyCount follows), or dismiss its reports; "
                                     "every action is written to the audit log.", permission_classes=[_MODERATORS])
    async def moderate_reply(self, info: Info, input: ModerateReplyInput) -> ModerateReplyPayload:
        async def moderate(viewer: accounts.User) -> ModerateReplyPayload:
            return ModerateReplyPayload(reply=await rules.moderate_reply(
                viewer, pk_of(input.reply_id, "Reply"), input.action, input.reason))

        payload = await mutate(info, ModerateReplyPayload, input, moderate)
        await events.queue_changed(info.context.broker, payload.reply.post_id if payload.reply else None)
        return payload

    @strawberry.mutation(description="Report a post or reply to the moderators.",
                         permission_classes=[holding(Capability.REPORT_CONTENT)])
    async def report_content(self, info: Info, input: ReportContentInput) -> ReportContentPayload:
        async def report(viewer: accounts.User) -> ReportContentPayload:
            typename, content_pk = typed_pk(input.content_id, *_REPORTABLE)
            return ReportContentPayload(report=await rules.report_content(
                viewer, _REPORTABLE[typename], content_pk, input.reason, input.note))

        payload = await mutate(info, ReportContentPayload, input, report)
        if payload.report is not None:
            await events.queue_changed(info.context.broker, await rules.reported_post_id(payload.report))
        return payload

    @strawberry.mutation(description="Change a user's role (admins).", permission_classes=[_ADMINS])
    async def set_user_role(self, info: Info, input: SetUserRoleInput) -> UserPayload:
        async def set_role(viewer: accounts.User) -> UserPayload:
            return UserPayload(user=await rules.set_user_role(
                viewer, pk_of(input.user_id, "User"), input.role, input.reason))

        payload = await mutate(info, UserPayload, input, set_role)
        await events.account_changed(info.context.broker, payload.user.pk if payload.user else None)
        return payload

    @strawberry.mutation(description="Suspend a user (they can read but not write), or lift a suspension (admins).",
                         permission_classes=[_ADMINS])
    async def suspend_user(self, info: Info, input: SuspendUserInput) -> UserPayload:
        async def suspend(viewer: accounts.User) -> UserPayload:
            return UserPayload(user=await rules.suspend_user(
                viewer, pk_of(input.user_id, "User"), input.suspended, input.reason))

        payload = await mutate(info, UserPayload, input, suspend)
        await events.account_changed(info.context.broker, payload.user.pk if payload.user else None)
        return payload
