"""Announcements shown at the top of the landing page."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import User
from models.audit import TargetKind, record_action
from models.base import as_utc, utcnow
from models.errors import Problems


class Announcement(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    pinned = fields.BooleanField(default=False)
    published_at = fields.DatetimeField(db_index=True)
    expires_at = fields.DatetimeField(null=True, db_index=True)
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="announcements", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None  # the column's attribute, added by Tortoise
    # The call to action (`link`): both set or both null (`checked_link`).
    link_url = fields.CharField(max_length=500, null=True)
    link_label = fields.CharField(max_length=60, null=True)

    class Meta:
        table = "announcements"
        # Pinned first, newest first: the order the page shows them in.
        ordering = ["-pinned", "-published_at", "-id"]

    @classmethod
    def visible_to(cls, viewer: object | None) -> QuerySet[Announcement]:
        """Scheduled announcements stay hidden until they are published."""
        return cls.filter(published_at__lte=utcnow())


LINK_URL_MAX = 500
LINK_LABEL_MAX = 60
LINK_SCHEMES = ("http", "https")


def checked_link(url: str, label: str, problems: Problems) -> tuple[str, str]:
    """A call-to-action link as stored: an absolute http(s) URL to a host, without credentials,
    spaces or control characters (no `javascript:`, `data:` or look-alike `https://bank@evil`),
    and a label; its problems are added under `link.url` / `link.label`."""
    url = url.strip()
    label = problems.check_text(label, ("link", "label"), minimum=1, maximum=LINK_LABEL_MAX, label="The link's label")
    if len(url) > LINK_URL_MAX:  # the length first: nothing parses a longer value
        problems.add(f"The link's URL takes at most {LINK_URL_MAX} characters", "TOO_LONG", "link", "url")
        return url, label
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError when out of range
    except ValueError:  # an unbalanced IPv6 bracket, a port out of range
        parts, host = None, None
    if (parts is None or parts.scheme.lower() not in LINK_SCHEMES or not host or parts.username is not None
            or any(char.isspace() or not char.isprintable() for char in url)):
        problems.add("The link must be an http:// or https:// URL to a host", "INVALID", "link", "url")
    return url, label


def _checked_time(moment: datetime, name: str, problems: Problems) -> datetime | None:
    utc = as_utc(moment)
    if utc is None:
        problems.add("That time falls outside years 1–9999 in UTC", "OUT_OF_RANGE", name)
    return utc


async def create_announcement(
    author: User, title: str, body: str, pinned: bool, published_at: datetime | None, expires_at: datetime | None,
    link: tuple[str, str] | None = None,
) -> Announcement:
    """Publish or schedule an announcement; `link` is its call to action, (url, label)."""
    problems = Problems()
    link_url, link_label = checked_link(*link, problems) if link is not None else (None, None)
    title = problems.check_text(title, "title", minimum=3, maximum=200, label="The title")
    body = problems.check_markdown(body, "body", maximum=10_000, label="The text")
    published_at = _checked_time(published_at or utcnow(), "publishedAt", problems)
    expires_at = _checked_time(expires_at, "expiresAt", problems) if expires_at is not None else None
    if published_at is not None and expires_at is not None and expires_at <= published_at:
        problems.add("It must expire after it is published", "INVALID", "expiresAt")
    problems.raise_if_any()
    announcement = await Announcement.create(
        title=title, body=body, pinned=pinned, published_at=published_at, expires_at=expires_at,
        author_id=author.pk, link_url=link_url, link_label=link_label,
    )
    await record_action(author, TargetKind.ANNOUNCEMENT, announcement.pk, "CREATE", title)
    return announcement
