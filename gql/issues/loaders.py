from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from gql.core.loaders import (
    CounterByIdLoader,
    PageRowsByKeyLoader,
    RowsByKeyLoader,
    ViewerRowByTargetLoader,
    page_filler,
)
from models.issues import Issue, IssueAffected, IssuePlatform, IssueSubscription, IssueUpdate


class PlatformsByIssueIdLoader(RowsByKeyLoader):
    key_field = "issue_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return IssuePlatform.filter(issue_id__in=keys).order_by("platform")

    def value(self, row: Any) -> Any:
        return row.platform


class UpdateCountByIssueIdLoader(CounterByIdLoader):
    model = Issue
    column = "update_count"


class UpdatesByIssueIdLoader(PageRowsByKeyLoader):
    """One page of each issue's timeline, newest first (only the rows the page shows)."""

    key_field = "issue_id"
    count_loader = UpdateCountByIssueIdLoader

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return IssueUpdate.filter(issue_id__in=keys).order_by("-posted_at", "-id")


class ViewerAffectedMarkByIssueIdLoader(ViewerRowByTargetLoader):
    model = IssueAffected
    target_field = "issue_id"


class ViewerSubscriptionByIssueIdLoader(ViewerRowByTargetLoader):
    model = IssueSubscription
    target_field = "issue_id"


prepare_issue_page = page_filler(platforms=(PlatformsByIssueIdLoader, "pk"), updates=(UpdatesByIssueIdLoader, "pk"))
