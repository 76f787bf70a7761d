"""String arguments bounded before they reach a query.

Tortoise refuses to compare a CharField with a value longer than the column (a ValidationError,
which would reach clients as an unexpected INTERNAL_SERVER_ERROR), and a free-text filter has no
column to bound it. So every string argument that filters or looks up rows is checked here first,
against its column's `max_length` (read from the model, so the bound follows the schema) or a
documented maximum. Filters answer a longer value with BAD_USER_INPUT naming the `argument` and
its `maximum`; lookups by slug answer null, as for any slug that names nothing.
"""

from __future__ import annotations

from typing import Any

from gql.core.errors import BadUserInput
from models.base import column_max


def bounded(value: str | None, argument: str, maximum: int) -> str | None:
    """`value` unchanged, or BAD_USER_INPUT when it is longer than `maximum` characters."""
    if value is not None and len(value) > maximum:
        raise BadUserInput(
            f"`{argument}` takes at most {maximum} characters", argument=argument, maximum=maximum
        )
    return value


def column_bounded(value: str | None, argument: str, model: Any, field: str) -> str | None:
    """`bounded` by the column `model.field` the argument is compared with."""
    return bounded(value, argument, column_max(model, field))
