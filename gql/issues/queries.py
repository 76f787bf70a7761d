"""Issues: the ongoing ones, the archive, and the look-up by number."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import strawberry

from gql.core.context import Info
from gql.core.errors import BadUserInput
from gql.core.loaders import counted
from gql.core.relay import Connection, Listing, connection
from gql.issues.loaders import prepare_issue_page
from gql.issues.types import Issue, IssueOrder, IssueStatus, Platform
from models import issues as models

PlatformArgument = Annotated[Platform | None, strawberry.argument(description="Only issues showing up there.")]
OrderArgument = Annotated[IssueOrder, strawberry.argument(description="The order; MOST_AFFECTED by default.")]


def _issues(info: Info, statuses: Iterable[models.IssueStatus], platform: Platform | None,
            order_by: IssueOrder) -> Listing[models.Issue]:
    """The issues in `statuses` (on `platform`), in `order_by`; `totalCount` from counters unless
    a platform bounds the rows."""
    statuses = tuple(dict.fromkeys(statuses))
    queryset = models.Issue.filter(status__in=statuses)
    if platform is not None:
        queryset = queryset.filter(platform_rows__platform=platform)
    rows = queryset.order_by(*models.ISSUE_ORDERINGS[order_by.value])
    if platform is None:
        return counted(info, rows, models.count_in(statuses))
    return rows


@strawberry.type
class IssueQueries:
    @connection("Ongoing issues: those not RESOLVED, most affected first by default. Asking `status` for "
                "RESOLVED is BAD_USER_INPUT (resolved issues are in `issues`).", on_page=prepare_issue_page,
                graphql_type=Connection[Issue])
    def ongoing_issues(
        self,
        info: Info,
        status: Annotated[list[IssueStatus] | None, strawberry.argument(description=(
            "Only these statuses, among INVESTIGATING, IDENTIFIED and MONITORING; all three when omitted or empty."
        ))] = None,
        platform: PlatformArgument = None,
        order_by: OrderArgument = IssueOrder.MOST_AFFECTED,
    ) -> Listing[models.Issue]:
        if status and models.IssueStatus.RESOLVED in status:
            raise BadUserInput("`ongoingIssues` lists issues not yet resolved: ask `issues(status: [RESOLVED])` "
                               "for resolved ones", argument="status")
        return _issues(info, status or models.OPEN_STATUSES, platform, order_by)

    @connection("Every issue, RESOLVED ones included, most affected first by default (the issue archive).",
                on_page=prepare_issue_page, graphql_type=Connection[Issue])
    def issues(
        self,
        info: Info,
        status: Annotated[list[IssueStatus] | None, strawberry.argument(description=(
            "Only these statuses; every status when omitted or empty."))] = None,
        platform: PlatformArgument = None,
        order_by: OrderArgument = IssueOrder.MOST_AFFECTED,
    ) -> Listing[models.Issue]:
        return _issues(info, status or models.IssueStatus, platform, order_by)

    @strawberry.field(graphql_type=Issue | None, description="An issue by its number, whatever its status; null when unknown.")
    async def issue(
        self, number: Annotated[int, strawberry.argument(description="The issue's number.")]
    ) -> models.Issue | None:
        return await models.Issue.get_or_none(number=number)
