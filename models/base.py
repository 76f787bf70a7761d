"""Shared model pieces every domain uses."""

from __future__ import annotations

from datetime import datetime, timezone

from tortoise import fields
from tortoise.models import Model


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Section(Model):
    """A named place content is filed under, shown in the site's order (boards, FAQ categories)."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)

    class Meta:
        abstract = True
