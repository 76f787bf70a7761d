"""The `communityStats` root field."""

from __future__ import annotations

import strawberry

from gql.core.context import Info
from gql.stats.types import CommunityStats, check_days


@strawberry.type
class StatsQueries:
    @strawberry.field(description="Community-wide counts by status and per-day activity, for partner dashboards.")
    def community_stats(self, info: Info) -> CommunityStats:
        check_days(info)
        return CommunityStats()
