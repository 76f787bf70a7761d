"""Rows a counter on another row counts: kudos (`kudosCount`), replies (`replyCount`), "I have
this too" marks (`affectedCount`), FAQ ratings (`helpfulCount`).

The counter moves in the caller's transaction, the one that adds or removes the row, with an
atomic `UPDATE … SET n = n ± 1`: concurrent requests each move it by exactly their own row,
where reading the count and writing it back would lose some.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.errors import RuleViolation
from models.guarded import guarded_change


async def add_counted(
    row: Model, counted: QuerySet[Any], counter: str, *, duplicate: RuleViolation | None = None
) -> None:
    """Insert `row` and add one to `counter` on what `counted` selects.

    For rows one per user and target, a unique constraint, not a check beforehand, refuses a
    second one (a check would let two racing requests both pass): its IntegrityError becomes
    `duplicate`.
    """
    try:
        await row.save(force_create=True)
    except IntegrityError:
        if duplicate is None:
            raise
        raise duplicate from None
    await counted.update(**{counter: F(counter) + 1})


async def remove_counted(
    rows: QuerySet[Any], counted: QuerySet[Any], counter: str, *, missing: RuleViolation, absent: RuleViolation
) -> None:
    """Delete `rows` and take as many off `counter` on what `counted` selects; when there were
    none, nothing changes and the refusal says why: `missing` if `counted` finds nothing, else
    `absent`."""
    await guarded_change(_delete_counted(rows, counted, counter), counted, missing=missing, refused=lambda _: absent)


async def _delete_counted(rows: QuerySet[Any], counted: QuerySet[Any], counter: str) -> int:
    deleted = await rows.delete()
    if deleted:
        await counted.update(**{counter: F(counter) - deleted})
    return deleted
