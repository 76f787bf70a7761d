"""Batched reads about issues: platforms, timelines a page at a time, and the viewer's marks."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from gql.core.loaders import (
    CounterByIdLoader,
    PageRowsByKeyLoader,
    RowsByKeyLoader,
    ViewerMarkByTargetLoader,
    page_filler,
)
from models.issues import Issue, IssueAffected, IssuePlatform, IssueSubscription, IssueUpdate, Platform


class PlatformsByIssueIdLoader(RowsByKeyLoader[Platform]):
    key_field = "issue_id"

    def queryset(self, keys: list[int]) -> QuerySet[IssuePlatform]:
        return IssuePlatform.filter(issue_id__in=keys).order_by("platform")

    def value(self, row: IssuePlatform) -> Platform:
        return row.platform


class UpdateCountByIssueIdLoader(CounterByIdLoader):
    model = Issue
    column = "update_count"


class UpdatesByIssueIdLoader(PageRowsByKeyLoader[IssueUpdate]):
    """One page of each issue's timeline, newest first (only the rows the page shows)."""

    key_field = "issue_id"
    count_loader = UpdateCountByIssueIdLoader

    def queryset(self, keys: list[int]) -> QuerySet[IssueUpdate]:
        return IssueUpdate.filter(issue_id__in=keys).order_by("-posted_at", "-id")


class ViewerAffectedMarkByIssueIdLoader(ViewerMarkByTargetLoader):
    model = IssueAffected
    target_field = "issue_id"


class ViewerSubscriptionByIssueIdLoader(ViewerMarkByTargetLoader):
    model = IssueSubscription
    target_field = "issue_id"


prepare_issue_page = page_filler(platforms=(PlatformsByIssueIdLoader, "pk"), updates=(UpdatesByIssueIdLoader, "pk"))
