"""Admits or refuses an operation before it runs: shape limits, cost, rate budgets, login attempts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSyntaxError, OperationType
from starlette.requests import Request
from strawberry import Schema

from gql.context import Context
from gql.errors import RequestError
from gql.limits.analysis import Analysis, analyse_cached
from gql.limits.budget import Budgets, Spend
from gql.settings import Settings


@dataclass
class Admission:
    cost: int
    spend: Spend | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def extension(self) -> dict[str, Any]:
        cost: dict[str, Any] = {"requested": self.cost}
        if self.spend is not None:
            cost.update(limit=self.spend.limit, remaining=self.spend.remaining, resetAt=self.spend.reset_at)
        return {"cost": cost}


class Guard:
    def __init__(self, schema: Schema, settings: Settings, budgets: Budgets) -> None:
        self.schema = schema._schema
        self.settings = settings
        self.budgets = budgets

    async def admit(self, request: Request, context: Context, query: str, operation_name: str | None,
                    variables: dict[str, Any] | None) -> Admission:
        settings = self.settings
        try:
            analysis = analyse_cached(self.schema, query, settings.max_tokens, operation_name, variables,
                                      settings.page_size_default)
        except GraphQLSyntaxError as error:
            code = "TOO_MANY_TOKENS" if "tokens" in error.message else "GRAPHQL_PARSE_FAILED"
            raise RequestError(400, error.message, code) from None
        self._check_shape(analysis)
        admission = Admission(cost=analysis.cost)
        context.extras["admission"] = admission
        if not settings.rate_limit_enabled:
            return admission
        points = max(analysis.cost, 1) + (settings.mutation_cost if analysis.operation is OperationType.MUTATION else 0)
        client = request.client.host if request.client else "unknown"
        if context.token is not None:
            key, limit = f"token:{context.token.pk}", settings.rate_limit_points
        else:
            key, limit = f"ip:{client}", settings.rate_limit_anonymous_points
        spend = await self.budgets.spend(key, points, limit, settings.rate_limit_window_seconds)
        admission.spend, admission.headers = spend, spend.headers()
        if not spend.allowed:
            raise self._too_many("Rate limit exceeded", spend, points=points)
        await self._check_logins(analysis, client)
        return admission

    def _check_shape(self, analysis: Analysis) -> None:
        settings = self.settings
        for value, limit, what, code in (
            (analysis.depth, settings.max_depth, "Query depth", "MAX_DEPTH_EXCEEDED"),
            (analysis.aliases, settings.max_aliases, "Aliases", "MAX_ALIASES_EXCEEDED"),
            (analysis.fields, settings.max_fields, "Field selections", "MAX_FIELDS_EXCEEDED"),
            (analysis.max_directives, settings.max_directives_per_field, "Directives on one field", "MAX_DIRECTIVES_EXCEEDED"),
            (analysis.cost, settings.max_query_cost, "Query cost", "QUERY_TOO_COMPLEX"),
        ):
            if value > limit:
                raise RequestError(400, f"{what} is {value}, over the limit of {limit}", code, value=value, limit=limit)

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
