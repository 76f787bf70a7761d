"""Announcements shown at the top of the landing page."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.base import utcnow


class Announcement(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    pinned = fields.BooleanField(default=False)
    published_at = fields.DatetimeField(db_index=True)
    expires_at = fields.DatetimeField(null=True, db_index=True)
    author = fields.ForeignKeyField(
        "models.User", related_name="announcements", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "announcements"
        # Pinned first, newest first: the order the page shows them in.
        ordering = ["-pinned", "-published_at", "-id"]

    @classmethod
    def visible_to(cls, viewer: object | None) -> QuerySet["Announcement"]:
        """Scheduled announcements stay hidden until they are published."""
        return cls.filter(published_at__lte=utcnow())
