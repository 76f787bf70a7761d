"""`rateLimit`: what this request costs and what is left of the caller's budget, as GitHub's."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from gql.core.context import Info
from gql.core.costs import per_client
from gql.core.documented import embedded


@strawberry.type(description=embedded("What this request costs and what is left of the caller's budget."))
class RateLimit:
    cost: int = strawberry.field(description="Points this query costs (objects it may return).")
    limit: int | None = strawberry.field(description="Points per window; null when rate limiting is off.")
    used: int | None = strawberry.field(description="Points spent in this window, this request included; null when off.")
    remaining: int | None = strawberry.field(description="Points left in this window; null when rate limiting is off.")
    reset_at: datetime | None = strawberry.field(description="When the window, and the budget, start over.")


@strawberry.type
class RateLimitQueries:
    @strawberry.field(description="This request's cost and the caller's rate-limit budget, as GitHub's `rateLimit`.",
                      metadata=per_client())
    def rate_limit(self, info: Info) -> RateLimit:
        admission = info.context.admission
        spend = admission.spend if admission else None
        return RateLimit(
            cost=admission.cost if admission else 0,
            limit=spend.limit if spend else None,
            used=spend.used if spend else None,
            remaining=spend.remaining if spend else None,
            reset_at=datetime.fromtimestamp(spend.reset_at, UTC) if spend else None,
        )
