"""Reports from members and the audit log of every moderation action."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import Capability, Role, User
from models.base import utcnow
from models.errors import violation
from models.posts import Post, PostStatus, Reply


class ReportReason(str, Enum):
    SPAM = "SPAM"
    ABUSE = "ABUSE"
    OFF_TOPIC = "OFF_TOPIC"
    PERSONAL_INFO = "PERSONAL_INFO"
    OTHER = "OTHER"


class ReportStatus(str, Enum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"
    DISMISSED = "DISMISSED"


class TargetKind(str, Enum):
    POST = "POST"
    REPLY = "REPLY"
    USER = "USER"
    STAR_APPLICATION = "STAR_APPLICATION"
    ISSUE = "ISSUE"
    FAQ = "FAQ"
    ANNOUNCEMENT = "ANNOUNCEMENT"


class Report(Model):
    id = fields.IntField(primary_key=True)
    reporter = fields.ForeignKeyField("models.User", related_name="reports_made", on_delete=fields.CASCADE)
    target_kind = fields.CharEnumField(TargetKind, max_length=20)
    target_id = fields.IntField()
    reason = fields.CharEnumField(ReportReason, max_length=16)
    note = fields.TextField(default="")
    status = fields.CharEnumField(ReportStatus, max_length=12, default=ReportStatus.OPEN)
    created_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reports"
        ordering = ["-created_at", "-id"]
        unique_together = [("reporter", "target_kind", "target_id")]
        indexes = [("status", "created_at"), ("target_kind", "target_id")]

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet["Report"]:
        """Moderators see every report; a reporter sees their own; nobody else any."""
        if viewer is not None and viewer.role.at_least(Role.MODERATOR):
            return cls.all()
        if viewer is None:
            return cls.filter(id__in=[])
        return cls.filter(reporter_id=viewer.pk)


class ModerationAction(Model):
    # The audit log: append-only, one row for every moderation decision.

    id = fields.IntField(primary_key=True)
    actor = fields.ForeignKeyField("models.User", related_name="moderation_actions", null=True, on_delete=fields.SET_NULL)
    target_kind = fields.CharEnumField(TargetKind, max_length=20)
    target_id = fields.IntField()
    action = fields.CharField(max_length=40)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "moderation_actions"
        ordering = ["-created_at", "-id"]
        indexes = [("target_kind", "target_id")]

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet["ModerationAction"]:
        """The audit log is for moderators."""
        if viewer is not None and viewer.role.at_least(Role.MODERATOR):
            return cls.all()
        return cls.filter(id__in=[])


async def record_action(
    actor: object | None, target_kind: TargetKind, target_id: int, action: str, reason: str = ""
) -> ModerationAction:
    """Append to the audit log; call it inside the transaction that performs the action."""
    return await ModerationAction.create(
        actor_id=getattr(actor, "pk", None),
        target_kind=target_kind,
        target_id=target_id,
        action=action,
        reason=reason,
        created_at=utcnow(),
    )


# --- Rules for reports and post moderation ------------------------------------------------------


class PostAction(str, Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    HIDE = "HIDE"
    RESTORE = "RESTORE"
    LOCK = "LOCK"
    UNLOCK = "UNLOCK"
    PIN = "PIN"
    UNPIN = "UNPIN"
    MARK_SPAM = "MARK_SPAM"


class QueueKind(str, Enum):
    PENDING = "PENDING"  # new posts waiting for approval
    REPORTED = "REPORTED"  # posts (or their replies) with open reports
    SPAM = "SPAM"  # posts marked as spam, waiting for a moderator's review


# Status-changing actions: the statuses they apply to, and the status they lead to.
_STATUS_MOVES: dict[PostAction, tuple[tuple[PostStatus, ...], PostStatus]] = {
    PostAction.APPROVE: ((PostStatus.PENDING,), PostStatus.PUBLISHED),
    PostAction.REJECT: ((PostStatus.PENDING,), PostStatus.REJECTED),
    PostAction.HIDE: ((PostStatus.PUBLISHED, PostStatus.PENDING), PostStatus.HIDDEN),
    PostAction.RESTORE: ((PostStatus.HIDDEN, PostStatus.SPAM, PostStatus.REJECTED), PostStatus.PUBLISHED),
    PostAction.MARK_SPAM: ((PostStatus.PUBLISHED, PostStatus.PENDING, PostStatus.HIDDEN), PostStatus.SPAM),
}
_FLAG_MOVES: dict[PostAction, tuple[str, bool]] = {
    PostAction.LOCK: ("locked", True),
    PostAction.UNLOCK: ("locked", False),
    PostAction.PIN: ("pinned", True),
    PostAction.UNPIN: ("pinned", False),
}
REASON_MAX = 1000


def capability_for(action: PostAction) -> Capability:
    """Stars may only mark spam (community maintenance); everything else is for moderators."""
    return Capability.MARK_SPAM if action is PostAction.MARK_SPAM else Capability.MODERATE


async def moderate_post(actor: User, post_id: int, action: PostAction, reason: str) -> Post:
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise violation(f"The reason takes at most {REASON_MAX} characters", "TOO_LONG", "reason")
    now = utcnow()
    if action in _STATUS_MOVES:
        allowed, target = _STATUS_MOVES[action]
        changed = await Post.filter(id=post_id, status__in=allowed).update(status=target)
        if changed and target is PostStatus.PUBLISHED:
            await Post.filter(id=post_id, published_at__isnull=True).update(published_at=now)
    else:
        flag, value = _FLAG_MOVES[action]
        changed = await Post.filter(id=post_id, **{flag: not value}).update(**{flag: value})
    if not changed:
        post = await Post.get_or_none(id=post_id)
        if post is None:
            raise violation("No post has that ID", "NOT_FOUND", "postId")
        raise violation(f"{action.value} does not apply to this post now (it is {_describe(post)})", "INVALID_STATE", "postId")

    if action is PostAction.MARK_SPAM and not actor.role.at_least(Role.MODERATOR):
        # A Star's spam mark hides the post until a moderator reviews it: it enters the queue.
        await Report.get_or_create(
            reporter_id=actor.pk, target_kind=TargetKind.POST, target_id=post_id,
            defaults={"reason": ReportReason.SPAM, "note": reason, "created_at": now},
        )
    else:
        await _resolve_reports(post_id, now)
    await record_action(actor, TargetKind.POST, post_id, action.value, reason)
    return await Post.get(id=post_id)


def _describe(post: Post) -> str:
    flags = [name for name in ("locked", "pinned") if getattr(post, name)]
    return post.status.value + "".join(f", {flag}" for flag in flags)


async def _resolve_reports(post_id: int, now: datetime) -> None:
    reply_ids = Reply.filter(post_id=post_id).values_list("id", flat=True)
    await Report.filter(
        Q(target_kind=TargetKind.POST, target_id=post_id) | Q(target_kind=TargetKind.REPLY, target_id__in=Subquery(reply_ids)),
        status=ReportStatus.OPEN,
    ).update(status=ReportStatus.RESOLVED, resolved_at=now)


NOTE_MAX = 1000


async def report_content(reporter: User, kind: TargetKind, target_id: int, reason: ReportReason, note: str) -> Report:
    """One open report per reporter and target; reporting again says so instead of piling up."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise violation(f"The note takes at most {NOTE_MAX} characters", "TOO_LONG", "note")
    target_model = {TargetKind.POST: Post, TargetKind.REPLY: Reply}.get(kind)
    if target_model is None or not await target_model.filter(id=target_id).exists():
        raise violation("Nothing to report has that ID", "NOT_FOUND", "contentId")
    try:
        return await Report.create(
            reporter_id=reporter.pk, target_kind=kind, target_id=target_id, reason=reason, note=note, created_at=utcnow()
        )
    except IntegrityError:
        raise violation("You already reported this", "ALREADY_REPORTED", "contentId") from None


async def reported_post_id(report: Report) -> int | None:
    """The post a report puts in the queue: the post itself, or the reply's post."""
    if report.target_kind is TargetKind.POST:
        return report.target_id
    reply = await Reply.get_or_none(id=report.target_id)
    return reply.post_id if reply else None


def queue_posts(kinds: list[QueueKind] | None = None) -> QuerySet[Post]:
    """Posts that need a moderator, oldest first: pending, spam-marked, or reported (or a reply is)."""
    kinds = kinds or list(QueueKind)
    open_reports = Report.filter(status=ReportStatus.OPEN)
    conditions = []
    if QueueKind.PENDING in kinds:
        conditions.append(Q(status=PostStatus.PENDING))
    if QueueKind.SPAM in kinds:
        conditions.append(Q(status=PostStatus.SPAM))
    if QueueKind.REPORTED in kinds:
        reported_posts = open_reports.filter(target_kind=TargetKind.POST).values_list("target_id", flat=True)
        reported_replies = open_reports.filter(target_kind=TargetKind.REPLY).values_list("target_id", flat=True)
        conditions.append(Q(id__in=Subquery(reported_posts)))
        conditions.append(Q(replies__id__in=Subquery(reported_replies)))
    return Post.filter(Q(*conditions, join_type="OR")).distinct().order_by("created_at", "id")


# --- Rules for accounts that only admins touch --------------------------------------------------


async def set_user_role(actor: User, user_id: int, role: Role, reason: str) -> User:
    if user_id == actor.pk:
        raise violation("You cannot change your own role", "SELF", "userId")
    changed = await User.filter(id=user_id).exclude(role=role).update(role=role)
    if not changed:
        target = await User.get_or_none(id=user_id)
        if target is None:
            raise violation("No user has that ID", "NOT_FOUND", "userId")
        raise violation(f"The user already has the {role.value} role", "UNCHANGED", "role")
    if role is Role.STAR:
        # Every Star has a profile: `stars` lists members by the day they joined the program.
        from models.stars import StarProfile  # here: models.stars imports this module

        await StarProfile.get_or_create(user_id=user_id, defaults={"star_since": utcnow()})
    await record_action(actor, TargetKind.USER, user_id, f"SET_ROLE_{role.value}", reason.strip())
    return await User.get(id=user_id)


async def suspend_user(actor: User, user_id: int, suspended: bool, reason: str) -> User:
    reason = reason.strip()
    if suspended and not reason:
        raise violation("Say why: the reason is kept in the audit log", "BLANK", "reason")
    if user_id == actor.pk:
        raise violation("You cannot suspend yourself", "SELF", "userId")
    query = User.filter(id=user_id, suspended_at__isnull=suspended)
    values = {"suspended_at": utcnow(), "suspension_reason": reason} if suspended else {"suspended_at": None, "suspension_reason": None}
    if not await query.update(**values):
        target = await User.get_or_none(id=user_id)
        if target is None:
            raise violation("No user has that ID", "NOT_FOUND", "userId")
        raise violation("The user is already " + ("suspended" if suspended else "active"), "UNCHANGED", "userId")
    await record_action(actor, TargetKind.USER, user_id, "SUSPEND" if suspended else "UNSUSPEND", reason)
    return await User.get(id=user_id)
