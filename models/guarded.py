"""State changes guarded by the state they expect, and the reason when they do not apply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.errors import RuleViolation

M = TypeVar("M", bound=Model)


async def guarded_change(
    change: Awaitable[Any],
    row: QuerySet[M],
    *,
    missing: RuleViolation,
    refused: Callable[[M], RuleViolation],
) -> None:
    """Run `change`, a write conditional on the state it expects (`UPDATE … WHERE status = …`)
    that answers how many rows it changed; when none, say why: `missing` if `row` finds nothing,
    else `refused(row)`, the row not being in a state the change applies to.

    The condition sits in the write itself, not in a read before it, so that of two requests
    racing on one row exactly one changes it (`select_for_update` is a no-op on SQLite). Only a
    refusal pays for the lookup.
    """
    if await change:
        return
    current = await row.first()
    if current is None:
        raise missing
    raise refused(current)
