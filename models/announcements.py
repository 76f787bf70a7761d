"""Announcements shown at the top of the landing page."""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.base import as_utc, utcnow
from models.errors import Problems
from models.moderation import TargetKind, record_action


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


def _checked_time(moment: datetime, name: str, problems: Problems) -> datetime | None:
    utc = as_utc(moment)
    if utc is None:
        problems.add("That time falls outside years 1–9999 in UTC", "OUT_OF_RANGE", name)
    return utc


async def create_announcement(
    author: object, title: str, body: str, pinned: bool, published_at: datetime | None, expires_at: datetime | None
) -> Announcement:
    problems = Problems()
    title = problems.check_text(title, "title", minimum=3, maximum=200, label="The title")
    body = problems.check_text(body, "body", minimum=1, maximum=10_000, label="The text")
    published_at = _checked_time(published_at or utcnow(), "publishedAt", problems)
    expires_at = _checked_time(expires_at, "expiresAt", problems) if expires_at is not None else None
    if published_at is not None and expires_at is not None and expires_at <= published_at:
        problems.add("It must expire after it is published", "INVALID", "expiresAt")
    problems.raise_if_any()
    announcement = await Announcement.create(
        title=title, body=body, pinned=pinned, published_at=published_at, expires_at=expires_at,
        author_id=getattr(author, "pk", None),
    )
    await record_action(author, TargetKind.ANNOUNCEMENT, announcement.pk, "CREATE", title)
    return announcement
