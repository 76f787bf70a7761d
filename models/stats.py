"""Community-wide aggregates for partner dashboards: counts by status, totals, per-day activity.

Each function is one statement whatever the size of the data: members, posts, replies and issues
by status are read from their counters (`tallies`, kept by triggers: models/counted.py), the
other figures counted and grouped by the database (GROUP BY); Python only adds the zeros for the
values and days that have no rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any, TypeVar

from pypika_tortoise import SqlContext
from pypika_tortoise.terms import Function as SqlFunction
from tortoise.expressions import Function
from tortoise.functions import Coalesce, Count, Sum
from tortoise.queryset import QuerySet

from models.accounts import Role, User
from models.base import utcnow
from models.counted import read_tallies, tally_name, tally_names
from models.faqs import Faq, FaqStatus
from models.issues import IssueAffected, IssueStatus
from models.posts import Kudo, Post, PostStatus, Reply
from models.stars import ApplicationStatus, StarApplication

EnumT = TypeVar("EnumT", bound=Enum)

# `daily(days:)` reaches back at most a year (a leap year's worth of days).
MAX_DAYS = 366


async def _count_by(queryset: QuerySet[Any], field: str, values: Iterable[EnumT]) -> dict[EnumT, int]:
    """How many rows hold each of `values` in `field`, zeros included, in the enum's order."""
    found = dict(await queryset.annotate(n=Count("id")).group_by(field).values_list(field, "n"))
    return {value: found.get(value, 0) for value in values}


async def _tallied(table: str, values: Iterable[EnumT]) -> dict[EnumT, int]:
    """How many rows of `table` hold each of `values`, from its counters, in the enum's order."""
    values = list(values)
    found = await read_tallies(tally_names(table, values))
    return {value: found[tally_name(table, value)] for value in values}


async def members_by_role() -> dict[Role, int]:
    return await _tallied("users", Role)


async def posts_by_status() -> dict[PostStatus, int]:
    return await _tallied("posts", PostStatus)


async def issues_by_status() -> dict[IssueStatus, int]:
    return await _tallied("issues", IssueStatus)


async def applications_by_status() -> dict[ApplicationStatus, int]:
    return await _count_by(StarApplication.all(), "status", ApplicationStatus)


async def reply_count() -> int:
    return (await _tallied("replies", [PostStatus.PUBLISHED]))[PostStatus.PUBLISHED]


async def kudos_count() -> int:
    return await Kudo.all().count()


async def affected_mark_count() -> int:
    return await IssueAffected.all().count()


@dataclass(frozen=True)
class FaqTotals:
    published: int
    views: int
    helpful: int
    not_helpful: int


async def faq_totals() -> FaqTotals:
    """Published FAQs and their views and ratings, summed in one statement (drafts have none yet)."""
    sums = {name: Coalesce(Sum(column), 0) for name, column in
            (("views", "views"), ("helpful", "helpful_count"), ("not_helpful", "not_helpful_count"))}
    row = await (Faq.filter(status=FaqStatus.PUBLISHED).annotate(published=Count("id"), **sums)
                 .first().values("published", *sums))
    return FaqTotals(**{name: int(row[name] if row else 0) for name in ("published", *sums)})


# --- Per-day activity ---------------------------------------------------------------------------


class _UtcDay(SqlFunction):
    """The UTC calendar day of a timestamp. SQLite's DATE() reads the stored offset and answers in
    UTC; PostgreSQL's would use the session's time zone, so it converts to UTC first."""

    def __init__(self, term: Any, alias: str | None = None) -> None:
        super().__init__("DATE", term, alias=alias)

    def get_function_sql(self, ctx: SqlContext) -> str:
        if ctx.dialect.value == "postgresql":
            return f"CAST(({self.get_arg_sql(self.args[0], ctx)} AT TIME ZONE 'UTC') AS DATE)"
        return super().get_function_sql(ctx)


class UtcDay(Function):
    database_func = _UtcDay


@dataclass(frozen=True)
class _Series:
    rows: Callable[[], QuerySet[Any]]
    timestamp: str


# What each per-day figure counts, and by which moment a row falls on a day. Posts count on the
# day they were published and only while they stay published, as readers see them.
DAILY_SERIES: dict[str, _Series] = {
    "new_members": _Series(User.all, "created_at"),
    "new_posts": _Series(lambda: Post.filter(status=PostStatus.PUBLISHED), "published_at"),
    "replies": _Series(lambda: Reply.filter(status=PostStatus.PUBLISHED), "created_at"),
    "kudos": _Series(Kudo.all, "created_at"),
    "affected_marks": _Series(IssueAffected.all, "created_at"),
}


@dataclass(frozen=True)
class DailyActivity:
    date: date
    new_members: int = 0
    new_posts: int = 0
    replies: int = 0
    kudos: int = 0
    affected_marks: int = 0


async def _per_day(series: _Series, first_day: date) -> dict[date, int]:
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    rows = await (series.rows().filter(**{f"{series.timestamp}__gte": since})
                  .annotate(day=UtcDay(series.timestamp)).annotate(n=Count("id"))
                  .group_by("day").values_list("day", "n"))
    # SQLite answers the day as text, PostgreSQL as a date.
    return {date.fromisoformat(str(day)): n for day, n in rows}


async def daily_activity(days: int, series: Iterable[str], today: date | None = None) -> list[DailyActivity]:
    """The last `days` UTC days up to today, oldest first, every day present (zeros included).

    Only the named `series` are counted (one statement each); the others stay zero.
    """
    first_day = (today or utcnow().date()) - timedelta(days=days - 1)
    counts = {name: await _per_day(DAILY_SERIES[name], first_day) for name in series}
    return [
        DailyActivity(day, **{name: per_day.get(day, 0) for name, per_day in counts.items()})
        for day in (first_day + timedelta(days=n) for n in range(days))
    ]

