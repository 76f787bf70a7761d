"""Reports from members and the audit log of every moderation action."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model

from models.base import utcnow


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
