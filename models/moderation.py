"""Reports from members, and the moderators' decisions on posts, replies and accounts."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import Capability, Role, User, is_staff
from models.audit import TargetKind, record_action
from models.base import nothing, utcnow
from models.errors import Problems, RuleViolation, violation
from models.guarded import guarded_change
from models.posts import Post, PostStatus, Reply
from models.stars import change_role


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


class Report(Model):
    id = fields.IntField(primary_key=True)
    reporter: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reports_made", on_delete=fields.CASCADE
    )
    reporter_id: int  # the column's attribute, added by Tortoise
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
    def visible_to(cls, viewer: User | None) -> QuerySet[Report]:
        """Moderators see every report; a reporter sees their own; nobody else any."""
        if is_staff(viewer):
            return cls.all()
        return nothing(cls) if viewer is None else cls.filter(reporter_id=viewer.pk)


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
    DISMISS_REPORTS = "DISMISS_REPORTS"


class ReplyAction(str, Enum):
    HIDE = "HIDE"
    RESTORE = "RESTORE"
    DISMISS_REPORTS = "DISMISS_REPORTS"


class QueueKind(str, Enum):
    PENDING = "PENDING"  # new posts waiting for approval
    REPORTED = "REPORTED"  # posts (or their replies) with open reports
    SPAM = "SPAM"  # posts marked as spam, waiting for a moderator's review


# Status-changing actions: the statuses they apply to, and the status they lead to. A SPAM post
# waits for a moderator's verdict: not spam after all (APPROVE, RESTORE), REJECT or HIDE.
_STATUS_MOVES: dict[PostAction, tuple[tuple[PostStatus, ...], PostStatus]] = {
    PostAction.APPROVE: ((PostStatus.PENDING, PostStatus.SPAM), PostStatus.PUBLISHED),
    PostAction.REJECT: ((PostStatus.PENDING, PostStatus.SPAM), PostStatus.REJECTED),
    PostAction.HIDE: ((PostStatus.PUBLISHED, PostStatus.PENDING, PostStatus.SPAM), PostStatus.HIDDEN),
    PostAction.RESTORE: ((PostStatus.HIDDEN, PostStatus.SPAM, PostStatus.REJECTED), PostStatus.PUBLISHED),
    PostAction.MARK_SPAM: ((PostStatus.PUBLISHED, PostStatus.PENDING, PostStatus.HIDDEN), PostStatus.SPAM),
}
_FLAG_MOVES: dict[PostAction, tuple[str, bool]] = {
    PostAction.LOCK: ("locked", True),
    PostAction.UNLOCK: ("locked", False),
    PostAction.PIN: ("pinned", True),
    PostAction.UNPIN: ("pinned", False),
}
# A reply is only ever shown or hidden; its post's `reply_count` counts the shown ones (by
# trigger: models/counted.py).
_REPLY_MOVES: dict[ReplyAction, tuple[PostStatus, PostStatus]] = {
    ReplyAction.HIDE: (PostStatus.PUBLISHED, PostStatus.HIDDEN),
    ReplyAction.RESTORE: (PostStatus.HIDDEN, PostStatus.PUBLISHED),
}
# How a decision settles the open reports on what it judged (keyed by the action's name, the same
# for posts and replies): taking content down acts on them, keeping it up dismisses them. LOCK,
# PIN and their inverses answer no report: the reports stay open for a decision.
_TAKE_DOWNS = {"HIDE", "REJECT", "MARK_SPAM"}
_REPORT_OUTCOMES = {
    **dict.fromkeys(_TAKE_DOWNS, ReportStatus.RESOLVED),
    **dict.fromkeys(("APPROVE", "RESTORE"), ReportStatus.DISMISSED),
}
REASON_MAX = 1000


def checked_reason(reason: str) -> str:
    """The stripped reason for the audit log, or TOO_LONG: one limit for every moderation reason."""
    problems = Problems()
    reason = problems.check_text(reason, "reason", minimum=0, maximum=REASON_MAX, label="The reason")
    problems.raise_if_any()
    return reason


def capability_for(action: PostAction) -> Capability:
    """Stars may only mark spam (community maintenance); everything else is for moderators."""
    return Capability.MARK_SPAM if action is PostAction.MARK_SPAM else Capability.MODERATE


async def moderate_post(actor: User, post_id: int, action: PostAction, reason: str) -> Post:
    reason = checked_reason(reason)
    # Stars (MARK_SPAM only) judge what a member sees; a post hidden from them is not found.
    posts = Post.visible_to(actor)
    now = utcnow()
    await guarded_change(
        _change_post(posts, post_id, action, now), posts.filter(id=post_id),
        missing=violation("No post has that ID", "NOT_FOUND", "postId"),
        refused=lambda post: _does_not_apply(action, "post", _describe(post)),
    )

    if action is PostAction.MARK_SPAM and not is_staff(actor):
        # A Star's spam mark hides the post until a moderator reviews it: it enters the queue.
        await Report.get_or_create(
            reporter_id=actor.pk, target_kind=TargetKind.POST, target_id=post_id,
            defaults={"reason": ReportReason.SPAM, "note": reason, "created_at": now},
        )
    elif action.value in _REPORT_OUTCOMES:
        # Taking a post down takes its thread with it: its replies' reports are settled too.
        about = _reports_on_post(post_id, with_replies=action.value in _TAKE_DOWNS)
        await _settle_reports(about, _REPORT_OUTCOMES[action.value], now)
    await record_action(actor, TargetKind.POST, post_id, action.value, reason)
    return await Post.get(id=post_id)


async def _change_post(posts: QuerySet[Post], post_id: int, action: PostAction, now: datetime) -> int:
    """Apply `action` only where the post's state allows it (a conditional UPDATE); rows changed."""
    post = posts.filter(id=post_id)
    if action in _STATUS_MOVES:
        allowed, target = _STATUS_MOVES[action]
        changed = await post.filter(status__in=allowed).update(status=target)
        if changed and target is PostStatus.PUBLISHED:
            await post.filter(published_at__isnull=True).update(published_at=now)
        return changed
    if action in _FLAG_MOVES:
        flag, value = _FLAG_MOVES[action]
        return await post.filter(**{flag: not value}).update(**{flag: value})
    # DISMISS_REPORTS leaves the post as it is: what changes are its own open reports.
    return await _settle_reports(_reports_on_post(post_id, with_replies=False), ReportStatus.DISMISSED, now)


async def moderate_reply(actor: User, reply_id: int, action: ReplyAction, reason: str) -> Reply:
    """Hide or restore a reply (its post's `reply_count` moves with it), or dismiss its reports."""
    reason = checked_reason(reason)
    now = utcnow()
    about = Q(target_kind=TargetKind.REPLY, target_id=reply_id)
    change: Awaitable[int]  # the conditional write: rows changed
    if action is ReplyAction.DISMISS_REPORTS:
        change = _settle_reports(about, ReportStatus.DISMISSED, now)
    else:
        start, end = _REPLY_MOVES[action]
        change = Reply.filter(id=reply_id, status=start).update(status=end)
    await guarded_change(
        change, Reply.filter(id=reply_id),
        missing=violation("No reply has that ID", "NOT_FOUND", "replyId"),
        refused=lambda reply: _does_not_apply(action, "reply", reply.status.value),
    )
    reply = await Reply.get(id=reply_id)

    if action in _REPLY_MOVES:
        await _settle_reports(about, _REPORT_OUTCOMES[action.value], now)
    await record_action(actor, TargetKind.REPLY, reply_id, action.value, reason)
    return reply


def _does_not_apply(action: PostAction | ReplyAction, noun: str, state: str) -> RuleViolation:
    if action.value == "DISMISS_REPORTS":
        return violation(f"This {noun} has no open reports to dismiss", "INVALID_STATE", f"{noun}Id")
    return violation(f"{action.value} does not apply to this {noun} now (it is {state})", "INVALID_STATE", f"{noun}Id")


def _describe(post: Post) -> str:
    flags = [name for name in ("locked", "pinned") if getattr(post, name)]
    return post.status.value + "".join(f", {flag}" for flag in flags)


def _reports_on_post(post_id: int, *, with_replies: bool) -> Q:
    about = Q(target_kind=TargetKind.POST, target_id=post_id)
    if not with_replies:
        return about
    reply_ids = Reply.filter(post_id=post_id).values_list("id", flat=True)
    return about | Q(target_kind=TargetKind.REPLY, target_id__in=Subquery(reply_ids))


async def _settle_reports(about: Q, outcome: ReportStatus, now: datetime) -> int:
    """Close the open reports `about` something with a moderator's outcome; how many were open."""
    return await Report.filter(about, status=ReportStatus.OPEN).update(status=outcome, resolved_at=now)


NOTE_MAX = 1000


async def report_content(reporter: User, kind: TargetKind, target_id: int, reason: ReportReason, note: str) -> Report:
    """One open report per reporter and target; reporting again says so instead of piling up."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise violation(f"The note takes at most {NOTE_MAX} characters", "TOO_LONG", "note")
    reportable: dict[TargetKind, type[Post] | type[Reply]] = {TargetKind.POST: Post, TargetKind.REPLY: Reply}
    target_model = reportable.get(kind)
    # Only what the reporter can see: a report must not confirm that a hidden post exists.
    if target_model is None or not await target_model.visible_to(reporter).filter(id=target_id).exists():
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


def queue_posts(kinds: list[QueueKind] | None = None, statuses: list[PostStatus] | None = None) -> QuerySet[Post]:
    """Posts that need a moderator, oldest first: pending, spam-marked, or reported (or a reply is);
    `statuses` narrows them to posts in those moderation statuses."""
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
    queue = Post.filter(Q(*conditions, join_type="OR"))
    if statuses:
        queue = queue.filter(status__in=statuses)
    return queue.distinct().order_by("created_at", "id")


# --- Rules for accounts that only admins touch --------------------------------------------------


async def set_user_role(actor: User, user_id: int, role: Role, reason: str) -> User:
    reason = checked_reason(reason)
    if user_id == actor.pk:
        raise violation("You cannot change your own role", "SELF", "userId")
    await guarded_change(
        change_role(user_id, role), User.filter(id=user_id),
        missing=_no_such_user(),
        refused=lambda _: violation(f"The user already has the {role.value} role", "UNCHANGED", "role"),
    )
    await record_action(actor, TargetKind.USER, user_id, f"SET_ROLE_{role.value}", reason.strip())
    return await User.get(id=user_id)


async def suspend_user(actor: User, user_id: int, suspended: bool, reason: str) -> User:
    reason = checked_reason(reason)
    if suspended and not reason:
        raise violation("Say why: the reason is kept in the audit log", "BLANK", "reason")
    if user_id == actor.pk:
        raise violation("You cannot suspend yourself", "SELF", "userId")
    user = User.filter(id=user_id)
    values = {"suspended_at": utcnow(), "suspension_reason": reason} if suspended else {"suspended_at": None, "suspension_reason": None}
    await guarded_change(
        user.filter(suspended_at__isnull=suspended).update(**values), user,
        missing=_no_such_user(),
        refused=lambda _: violation("The user is already " + ("suspended" if suspended else "active"), "UNCHANGED", "userId"),
    )
    await record_action(actor, TargetKind.USER, user_id, "SUSPEND" if suspended else "UNSUSPEND", reason)
    return await User.get(id=user_id)


def _no_such_user() -> RuleViolation:
    return violation("No user has that ID", "NOT_FOUND", "userId")
