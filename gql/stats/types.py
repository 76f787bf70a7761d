"""`communityStats`: one object a request whose every field is its own small aggregate query,
run only when the query selects it. Fields reading the same figures share one statement."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import field
from operator import attrgetter, itemgetter
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.types.nodes import SelectedField
from strawberry.utils.str_converters import to_camel_case

from gql.accounts.types import Role
from gql.core.context import Info
from gql.core.costs import sized_by
from gql.core.documented import embedded
from gql.core.errors import BadUserInput
from gql.core.selection import selects
from gql.issues.types import IssueStatus
from gql.permissions import reading
from gql.posts.types import PostStatus
from gql.stars.applications import ApplicationStatus
from models import stats as models
from models.accounts import Capability

StatusT = TypeVar("StatusT")
T = TypeVar("T")


# Named by Strawberry after its status type: PostStatusCount, IssueStatusCount, ...
@strawberry.type(description=embedded("How many items are in one status."))
class Count(Generic[StatusT]):
    status: StatusT = strawberry.field(description="The status counted.")
    count: int = strawberry.field(description="How many items are in it (zero included).")


@strawberry.type(description=embedded("How many members hold one role."))
class RoleCount:
    role: Role = strawberry.field(description="The role counted.")
    count: int = strawberry.field(description="How many accounts hold it (zero included).")


@strawberry.type(description=embedded("One UTC day of community activity."))
class DailyActivity:
    date: datetime.date = strawberry.field(description="The day, in UTC.")
    new_members: int = strawberry.field(description="Accounts created that day.")
    new_posts: int = strawberry.field(description="Posts published that day (and still published).")
    replies: int = strawberry.field(description="Published replies written that day.")
    kudos: int = strawberry.field(description="Kudos given that day.")
    affected_marks: int = strawberry.field(description='"I have this too" marks made on issues that day.')


def _counts(by_status: dict[Any, int]) -> list[Any]:
    return [Count(status=status, count=n) for status, n in by_status.items()]


_DEFAULT_DAYS = 30


def check_days(info: Info) -> None:
    """Refuse an out-of-range `daily(days:)` before any figure is computed. A check in `daily`
    itself would come too late: graphql-core still settles the siblings of a failing field, so
    their SQL would run for an answer that is thrown away."""
    for days in _days_asked(info.selected_fields):
        if not 1 <= days <= models.MAX_DAYS:
            raise BadUserInput(f"`days` must be between 1 and {models.MAX_DAYS}, got {days}",
                               argument="days", maximum=models.MAX_DAYS)


def _days_asked(selections: Iterable[Any]) -> Iterator[int]:
    # Every `daily` below, through fragments and aliases (`week: daily(days: 7)`).
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name == "daily":
            # Strawberry hands literals over as their text (`"7"`), variables as their value.
            given = selection.arguments.get("days")
            yield _DEFAULT_DAYS if given is None else int(given)
        else:
            yield from _days_asked(getattr(selection, "selections", ()))


def _figure(fetch: Callable[[], Awaitable[Any]], read: Callable[[Any], int], description: str) -> Any:
    """An `Int!` field of CommunityStats: `read` of what `fetch` found, fetched once for all the
    fields that read it (memberCount and starCount share one GROUP BY)."""

    async def resolve(self: CommunityStats) -> int:
        return read(await self._shared(fetch))

    return strawberry.field(resolver=resolve, description=description)


_MODERATORS_ONLY = (" Moderators and admins only (null with a FORBIDDEN error for others, the other fields"
                    " still answer).")


@strawberry.type(description=embedded("Community-wide figures for partner dashboards: totals, counts by status "
                                      "and a per-day series. Each field is one small SQL statement, run only when "
                                      "selected."))
class CommunityStats:
    _pending: strawberry.Private[dict[Any, asyncio.Future[Any]]] = field(default_factory=dict)

    def _shared(self, fetch: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        """`fetch()`, started by the first field that needs it and awaited by every other."""
        pending = self._pending.get(fetch)
        if pending is None:
            pending = self._pending[fetch] = asyncio.ensure_future(fetch())
        return pending

    member_count = _figure(models.members_by_role, lambda by_role: sum(by_role.values()),
                           "All accounts, whatever their role (suspended ones included).")

    @strawberry.field(description="Accounts by role, every role listed (zero included), lowest role first.")
    async def members_by_role(self) -> list[RoleCount]:
        by_role = await self._shared(models.members_by_role)
        return [RoleCount(role=role, count=n) for role, n in by_role.items()]

    star_count = _figure(models.members_by_role, itemgetter(Role.STAR), "Members of the Stars program (the STAR role).")
    published_post_count = _figure(models.posts_by_status, itemgetter(PostStatus.PUBLISHED),
                                   "Posts readers see: the PUBLISHED ones.")

    @strawberry.field(description="Posts in every moderation status (zero included). Moderation-internal: how "
                                  "many posts wait, are hidden, rejected or spam tells of moderators' workload "
                                  "and of abuse, and readers cannot see those posts either." + _MODERATORS_ONLY,
                      permission_classes=[reading(Capability.MODERATE)])
    async def posts_by_status(self, info: Info) -> list[Count[PostStatus]] | None:
        return _counts(await self._shared(models.posts_by_status))

    reply_count = _figure(models.reply_count, int, "Published replies.")
    kudos_count = _figure(models.kudos_count, int, "Kudos given, in all.")

    @strawberry.field(description="Issues in every status, RESOLVED included (zero included).")
    async def issues_by_status(self) -> list[Count[IssueStatus]]:
        return _counts(await self._shared(models.issues_by_status))

    affected_mark_count = _figure(models.affected_mark_count, int, '"I have this too" marks on issues, in all.')
    published_faq_count = _figure(models.faq_totals, attrgetter("published"), "Published FAQs (drafts are not counted).")
    faq_view_count = _figure(models.faq_totals, attrgetter("views"), "Views of the published FAQs, summed.")
    faq_helpful_count = _figure(models.faq_totals, attrgetter("helpful"), '"Helpful" ratings of the published FAQs, summed.')
    faq_not_helpful_count = _figure(models.faq_totals, attrgetter("not_helpful"),
                                    '"Not helpful" ratings of the published FAQs, summed.')

    @strawberry.field(description="Stars program applications in every status (zero included): the review "
                                  "queue, which only reviewers see." + _MODERATORS_ONLY,
                      permission_classes=[reading(Capability.MODERATE)])
    async def star_applications_by_status(self, info: Info) -> list[Count[ApplicationStatus]] | None:
        return _counts(await self._shared(models.applications_by_status))

    @strawberry.field(graphql_type=list[DailyActivity], metadata=sized_by("days"),
                      description="Activity per UTC day for the last `days` days up to today, oldest first, "
                                  "every day listed (zeros included). Costs `days` points; one SQL statement "
                                  "for each figure selected, whatever `days`.")
    def daily(
        self,
        info: Info,
        days: Annotated[int, strawberry.argument(description=f"How many days, 1 to {models.MAX_DAYS}.")] = _DEFAULT_DAYS,
    ) -> Awaitable[list[models.DailyActivity]]:
        # `days` was checked by `check_days` before any field of these stats started.
        series = [name for name in models.DAILY_SERIES if selects(info, to_camel_case(name))]
        return models.daily_activity(days, series)
