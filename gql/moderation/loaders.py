from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from tortoise.expressions import Q

from gql.core.loaders import Loader
from models.moderation import Report, ReportStatus, TargetKind
from models.posts import Reply


class OpenReportsByPostIdLoader(Loader):
    """Open reports on each post and on its replies, oldest first."""

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        reply_posts = dict(await Reply.filter(post_id__in=keys).values_list("id", "post_id"))
        reports = await Report.filter(
            Q(target_kind=TargetKind.POST, target_id__in=keys)
            | Q(target_kind=TargetKind.REPLY, target_id__in=list(reply_posts)),
            status=ReportStatus.OPEN,
        ).order_by("created_at", "id")
        grouped: dict[Hashable, list[Report]] = {key: [] for key in keys}
        for report in reports:
            post_id = report.target_id if report.target_kind is TargetKind.POST else reply_posts[report.target_id]
            grouped[post_id].append(report)
        return grouped

    def missing(self) -> Any:
        return []
