from __future__ import annotations

import strawberry

from gql.context import Info
from gql.loaders import counted
from gql.issues.loaders import prepare_issue_page
from gql.issues.types import Issue, IssueOrder, IssueStatus, Platform
from gql.relay import Connection, connection
from models import issues as models


@strawberry.type
class IssueQueries:
    @connection("Ongoing issues (not RESOLVED unless `status` asks), most affected first by default.",
                on_page=prepare_issue_page)
    def ongoing_issues(
        self,
        info: Info,
        status: list[IssueStatus] | None = None,
        platform: Platform | None = None,
        order_by: IssueOrder = IssueOrder.MOST_AFFECTED,
    ) -> Connection[Issue]:
        statuses = status or models.OPEN_STATUSES
        queryset = models.Issue.filter(status__in=statuses)
        if platform is not None:
            queryset = queryset.filter(platform_rows__platform=platform)
        rows = queryset.order_by(*models.ISSUE_ORDERINGS[order_by.value])
        if platform is None:
            return counted(info, rows, models.count_in(statuses))  # type: ignore[arg-type,return-value]
        return rows  # type: ignore[return-value]

    @strawberry.field(description="An issue by its number; null when unknown.")
    async def issue(self, number: int) -> Issue | None:
        return await models.Issue.get_or_none(number=number)  # type: ignore[return-value]
