"""Batched reads for the moderation queue: the open reports on each post and its replies."""

from __future__ import annotations

from collections.abc import Mapping

from tortoise.expressions import Q

from gql.core.loaders import Loader
from models.audit import TargetKind
from models.moderation import Report, ReportStatus
from models.posts import Reply


class OpenReportsByPostIdLoader(Loader[int, list[Report]]):
    """Open reports on each post and on its replies, oldest first."""

    async def fetch(self, keys: list[int]) -> Mapping[int, list[Report]]:
        reply_posts = dict(await Reply.filter(post_id__in=keys).values_list("id", "post_id"))
        reports = await Report.filter(
            Q(target_kind=TargetKind.POST, target_id__in=keys)
            | Q(target_kind=TargetKind.REPLY, target_id__in=list(reply_posts)),
            status=ReportStatus.OPEN,
        ).order_by("created_at", "id")
        grouped: dict[int, list[Report]] = {key: [] for key in keys}
        for report in reports:
            post_id = report.target_id if report.target_kind is TargetKind.POST else reply_posts[report.target_id]
            grouped[post_id].append(report)
        return grouped

    def missing(self) -> list[Report]:
        return []
