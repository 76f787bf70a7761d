"""The audit log: every moderation and staff action leaves one record here.

Moderation (posts, replies, roles, suspensions), FAQs, issues, announcements and the Stars
programme all write it, so it belongs to none of them: each domain imports this module, and
this module imports no domain but accounts (who acted).
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import User, is_staff
from models.base import nothing, utcnow


class TargetKind(str, Enum):
    """What a report or an audit-log record is about."""

    POST = "POST"
    REPLY = "REPLY"
    USER = "USER"
    STAR_APPLICATION = "STAR_APPLICATION"
    ISSUE = "ISSUE"
    FAQ = "FAQ"
    ANNOUNCEMENT = "ANNOUNCEMENT"


class ModerationAction(Model):
    # One record of the audit log: append-only, one row for every moderation or staff decision.
    # (A comment, not a docstring: Tortoise makes a model's docstring its table's description,
    # which a migration would then have to carry.)

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="moderation_actions", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None  # the column's attribute, added by Tortoise
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
    def visible_to(cls, viewer: User | None) -> QuerySet[ModerationAction]:
        """The audit log is for moderators."""
        return cls.all() if is_staff(viewer) else nothing(cls)


async def record_action(
    actor: User | None, target_kind: TargetKind, target_id: int, action: str, reason: str = ""
) -> ModerationAction:
    """Append to the audit log; call it inside the transaction that performs the action."""
    return await ModerationAction.create(
        actor_id=actor.pk if actor is not None else None,
        target_kind=target_kind,
        target_id=target_id,
        action=action,
        reason=reason,
        created_at=utcnow(),
    )
