"""The execution context: graphql-core's executor, told that model instances are plain values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from tortoise.models import Model


# What plain fields hold: never awaitable, answered by one set look-up.
_PLAIN_TYPES = frozenset({type(None), bool, int, float, str, list, tuple, dict, datetime, date})


def is_awaitable(value: Any) -> bool:
    """graphql-core's test, except for Tortoise model instances.

    A model defines `__await__` (awaiting it returns the model itself), so the stock test sends
    every row a resolver returns as an object, and every list item, through a coroutine and an
    extra turn of the event loop (100 of each for a 100-post page).
    """
    # Called for every resolved value: answer the plain ones (most of them) without another call.
    if type(value) in _PLAIN_TYPES or isinstance(value, Model):
        return False
    return optimized_is_awaitable(value)


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Sub-executors are shallow copies of this one, so they inherit the predicate.
        self.is_awaitable = is_awaitable  # type: ignore[assignment]
