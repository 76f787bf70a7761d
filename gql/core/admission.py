"""What the guard admitted an operation with: its cost and kind, and what it spent of the caller's budget.

Values only, here in core because the per-request Context carries them (`context.admission`);
the guard and the budgets that produce them are gql/limits, the transports, the response cache
and `rateLimit` read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import OperationType


@dataclass(frozen=True)
class Spend:
    """What one spend of points left of a caller's budget (gql/limits/budget.py)."""

    allowed: bool
    limit: int
    used: int
    reset_at: int  # epoch seconds when the window ends

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Reset": str(self.reset_at),
        }


@dataclass
class Admission:
    """An operation the guard let in: its cost, kind and name, and the budget it spent."""

    cost: int
    operation: OperationType | None = None
    operation_name: str | None = None
    # The answer depends on the caller's own budget (it selects `rateLimit`).
    per_client: bool = False
    spend: Spend | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def subscription(self) -> bool:
        """A subscription lives as long as its client wants it: no time limit, re-admitted when rights change."""
        return self.operation is OperationType.SUBSCRIPTION

    def extension(self, *, shared: bool = False) -> dict[str, Any]:
        """`extensions.cost`; without the caller's budget in an answer a shared cache may keep."""
        cost: dict[str, Any] = {"requested": self.cost}
        if self.spend is not None and not shared:
            cost.update(limit=self.spend.limit, remaining=self.spend.remaining, resetAt=self.spend.reset_at)
        return {"cost": cost}
