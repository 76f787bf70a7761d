"""Shared model pieces every domain uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime | None:
    """`moment` in UTC (a time without a zone is taken as UTC, the API's zone); None when its UTC
    value falls outside years 1–9999, which is all a database column (and Python) can hold:
    `9999-12-31T23:59:59-12:00` is a valid input whose UTC value is not."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def nothing(model: type[M]) -> QuerySet[M]:
    """An empty QuerySet of `model` (Tortoise has no `none()`): what a viewer may see of a
    private list when they may see none of it."""
    return model.filter(id__in=[])


def column_max(model: type[Model], field: str) -> int:
    """The most characters `model.field` stores: the bound for any text compared with or written
    to that column (Tortoise refuses a longer value with a ValidationError, even in a filter)."""
    column = model._meta.fields_map[field]
    if not isinstance(column, fields.CharField):
        raise TypeError(f"{model.__name__}.{field} is not a text column of bounded length")
    return column.max_length


async def get_by_column(rows: type[M] | QuerySet[M], field: str, value: str) -> M | None:
    """The row of `rows` (a model or a QuerySet) whose text column `field` equals `value`, or None.
    A value longer than the column names no row, so it is never sent (see `column_max`)."""
    model = rows if isinstance(rows, type) else rows.model
    if len(value) > column_max(model, field):
        return None
    lookup: dict[str, Any] = {field: value}
    return await rows.get_or_none(**lookup)


class PubliclyVisible:
    """A model every row of which any reader may see: nothing about it is unpublished or private.

    Every model `node(id:)` can fetch says who may see its rows with `visible_to(viewer)`; this
    is the answer for the public ones, stated rather than assumed.
    """

    @classmethod
    def visible_to(cls, viewer: object | None) -> QuerySet[Any]:
        # A mixin of models only (`class Issue(Model, PubliclyVisible)`): `cls` is a Model.
        return cast("type[Model]", cls).all()


class Section(Model, PubliclyVisible):
    """A named place content is filed under, shown in the site's order (boards, FAQ categories)."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)

    class Meta:
        abstract = True


class UserMark(Model):
    """A user's mark on one target: a kudo, an "I have this too", a subscription to an issue.

    One row per user and target: each model adds the target's foreign key and `user` (their
    reverse relations are named apart, so neither can live here) and makes the pair unique.
    Inherited fields come first in a table, before its own (foreign keys go last): a FAQ rating
    has this shape too, but inheriting would put `created_at` before its `helpful` column.
    """

    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
