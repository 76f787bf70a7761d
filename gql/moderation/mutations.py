from __future__ import annotations

import strawberry

from gql.accounts.types import Role, User
from gql.core.context import Info
from gql.core.mutations import MutationPayload, mutate, returning
from gql.core.relay import pk_of, typed_pk
from gql.live import events
from gql.moderation.types import PostAction, ReplyAction, Report, ReportReason
from gql.posts.types import Post, Reply
from models import moderation as rules
from models.accounts import Capability


@strawberry.input(description="A moderation action on a post.")
class ModeratePostInput:
    post_id: strawberry.ID = strawberry.field(description="The post.")
    action: PostAction = strawberry.field(description="What to do (INVALID_STATE when it does not apply now).")
    reason: str = strawberry.field(default="", description="Kept in the audit log.")
    client_mutation_id: str | None = None


@strawberry.input(description="A moderation action on a reply.")
class ModerateReplyInput:
    reply_id: strawberry.ID = strawberry.field(description="The reply.")
    action: ReplyAction = strawberry.field(description="What to do (INVALID_STATE when it does not apply now).")
    reason: str = strawberry.field(default="", description="Kept in the audit log.")
    client_mutation_id: str | None = None


@strawberry.input(description="A report of a post or reply to the moderators.")
class ReportContentInput:
    content_id: strawberry.ID = strawberry.field(description="A Post or a Reply.")
    reason: ReportReason = strawberry.field(description="Why.")
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
    post: Post | None = strawberry.field(default=None, description="The post as it is now; null on userErrors.")


@strawberry.type(description="The result of `moderateReply`.")
class ModerateReplyPayload(MutationPayload):
    reply: Reply | None = strawberry.field(default=None, description="The reply as it is now; null on userErrors.")


@strawberry.type(description="The result of `reportContent`.")
class ReportContentPayload(MutationPayload):
    report: Report | None = strawberry.field(default=None, description="The new report; null on userErrors.")


@strawberry.type(description="The result of `setUserRole` or `suspendUser`.")
class UserPayload(MutationPayload):
    user: User | None = strawberry.field(default=None, description="The user as they are now; null on userErrors.")


_REPORTABLE = {"Post": rules.TargetKind.POST, "Reply": rules.TargetKind.REPLY}


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(description="Moderate a post; every action is written to the audit log.")
    async def moderate_post(self, info: Info, input: ModeratePostInput) -> ModeratePostPayload:
        payload = await mutate(info, ModeratePostPayload, input, rules.capability_for(input.action), lambda viewer: returning(  # type: ignore[arg-type]
            "post", rules.moderate_post(viewer, pk_of(input.post_id, "Post"), input.action, input.reason)))  # type: ignore[arg-type]
        await events.queue_changed(info.context.broker, payload.post and payload.post.pk)  # type: ignore[attr-defined]
        return payload

    @strawberry.mutation(description="Hide or restore a reply (its post's replyCount follows), or dismiss its reports; "
                                     "every action is written to the audit log.")
    async def moderate_reply(self, info: Info, input: ModerateReplyInput) -> ModerateReplyPayload:
        payload = await mutate(info, ModerateReplyPayload, input, Capability.MODERATE, lambda viewer: returning(
            "reply", rules.moderate_reply(viewer, pk_of(input.reply_id, "Reply"), input.action, input.reason)))  # type: ignore[arg-type]
        await events.queue_changed(info.context.broker, payload.reply and payload.reply.post_id)  # type: ignore[attr-defined]
        return payload

    @strawberry.mutation(description="Report a post or reply to the moderators.")
    async def report_content(self, info: Info, input: ReportContentInput) -> ReportContentPayload:
        async def action(viewer: rules.User) -> dict:
            typename, content_pk = typed_pk(input.content_id, *_REPORTABLE)
            report = await rules.report_content(viewer, _REPORTABLE[typename], content_pk, input.reason, input.note)  # type: ignore[arg-type]
            return {"report": report}

        payload = await mutate(info, ReportContentPayload, input, Capability.REPORT_CONTENT, action)
        if payload.report is not None:
            await events.queue_changed(info.context.broker, await rules.reported_post_id(payload.report))  # type: ignore[arg-type]
        return payload

    @strawberry.mutation(description="Change a user's role (admins).")
    async def set_user_role(self, info: Info, input: SetUserRoleInput) -> UserPayload:
        payload = await mutate(info, UserPayload, input, Capability.MANAGE_USERS, lambda viewer: returning(
            "user", rules.set_user_role(viewer, pk_of(input.user_id, "User"), input.role, input.reason)))  # type: ignore[arg-type]
        await events.account_changed(info.context.broker, payload.user and payload.user.pk)  # type: ignore[attr-defined]
        return payload

    @strawberry.mutation(description="Suspend a user (they can read but not write), or lift a suspension (admins).")
    async def suspend_user(self, info: Info, input: SuspendUserInput) -> UserPayload:
        payload = await mutate(info, UserPayload, input, Capability.MANAGE_USERS, lambda viewer: returning(
            "user", rules.suspend_user(viewer, pk_of(input.user_id, "User"), input.suspended, input.reason)))
        await events.account_changed(info.context.broker, payload.user and payload.user.pk)  # type: ignore[attr-defined]
        return payload
