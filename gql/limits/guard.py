"""Admits or refuses an operation before it runs: shape limits, cost, rate budgets, login attempts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSyntaxError, OperationType
from starlette.requests import HTTPConnection
from strawberry import Schema

from gql.context import Context
from gql.errors import RequestError
from gql.limits.analysis import Analysis, ShapeLimitExceeded, ShapeLimits, analyse_cached
from gql.limits.budget import Budgets, Spend
from gql.settings import Settings


def client_address(connection: HTTPConnection) -> str:
    """The address anonymous budgets and login attempts are counted by."""
    return connection.client.host if connection.client else "unknown"


@dataclass
class Admission:
    cost: int
    operation: OperationType | None = None
    # The answer depends on the caller's own budget (it selects `rateLimit`).
    per_client: bool = False
    spend: Spend | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def extension(self, *, shared: bool = False) -> dict[str, Any]:
        """`extensions.cost`; without the caller's budget in an answer a shared cache may keep."""
        cost: dict[str, Any] = {"requested": self.cost}
        if self.spend is not None and not shared:
            cost.update(limit=self.spend.limit, remaining=self.spend.remaining, resetAt=self.spend.reset_at)
        return {"cost": cost}


class Guard:
    def __init__(self, schema: Schema, settings: Settings, budgets: Budgets) -> None:
        self.schema = schema._schema
        self.settings = settings
        self.budgets = budgets
        self.shape_limits = ShapeLimits(depth=settings.max_depth, aliases=settings.max_aliases,
                                        fields=settings.max_fields, directives=settings.max_directives_per_field)

    async def admit(self, context: Context, query: str, operation_name: str | None,
                    variables: dict[str, Any] | None) -> Admission:
        """Check the operation's shape and cost, then spend its points and login attempts; the
        same for every transport (HTTP, batches, persisted queries, the WebSocket)."""
        settings = self.settings
        try:
            analysis = analyse_cached(self.schema, query, settings.max_tokens, operation_name, variables,
                                      settings.page_size_default, self.shape_limits)
        except GraphQLSyntaxError as error:
            code = "TOO_MANY_TOKENS" if "tokens" in error.message else "GRAPHQL_PARSE_FAILED"
            raise RequestError(400, error.message, code) from None
        except ShapeLimitExceeded as exceeded:
            raise RequestError(400, str(exceeded), exceeded.code, value=exceeded.value, limit=exceeded.limit) from None
        if analysis.cost > settings.max_query_cost:
            raise RequestError(400, f"Query cost is {analysis.cost}, over the limit of {settings.max_query_cost}",
                               "QUERY_TOO_COMPLEX", value=analysis.cost, limit=settings.max_query_cost)
        admission = Admission(cost=analysis.cost, operation=analysis.operation, per_client=analysis.per_client)
        context.extras["admission"] = admission
        if not settings.rate_limit_enabled:
            return admission
        points = max(analysis.cost, 1) + (settings.mutation_cost if analysis.operation is OperationType.MUTATION else 0)
        key, limit = self._budget(context)
        spend = await self.budgets.spend(key, points, limit, settings.rate_limit_window_seconds)
        admission.spend, admission.headers = spend, spend.headers()
        if not spend.allowed:
            raise self._too_many("Rate limit exceeded", spend, points=points)
        await self._check_logins(analysis, client_address(context.request))
        return admission

    async def standing(self, connection: HTTPConnection, context: Context | None) -> dict[str, str]:
        """The caller's budget as headers, spending nothing: for answers refused before admission."""
        if not self.settings.rate_limit_enabled:
            return {}
        key, limit = self._budget(context) if context is not None else self._anonymous(connection)
        return (await self.budgets.peek(key, limit, self.settings.rate_limit_window_seconds)).headers()

    def _budget(self, context: Context) -> tuple[str, int]:
        # Per person, not per token: signing in again must not buy a fresh budget.
        if context.viewer is not None:
            return f"user:{context.viewer.pk}", self.settings.rate_limit_points
        return self._anonymous(context.request)

    def _anonymous(self, connection: HTTPConnection) -> tuple[str, int]:
        return f"ip:{client_address(connection)}", self.settings.rate_limit_anonymous_points

    async def _check_logins(self, analysis: Analysis, client: str) -> None:
        # Each `login`, aliased or not, is an attempt: per client IP and per handle tried.
        window = self.settings.login_window_seconds
        for handle in analysis.login_handles:
            for key in (f"login-ip:{client}", *([f"login-handle:{handle}"] if handle else [])):
                spend = await self.budgets.spend(key, 1, self.settings.login_attempts, window)
                if not spend.allowed:
                    raise self._too_many("Too many login attempts", spend)

    def _too_many(self, message: str, spend: Spend, **extensions: Any) -> RequestError:
        retry_after = max(spend.reset_at - int(time.time()), 1)
        return RequestError(429, f"{message}; try again in {retry_after} s", "RATE_LIMITED",
                            {**spend.headers(), "Retry-After": str(retry_after)}, **extensions)
