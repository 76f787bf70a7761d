"""The DateTime scalar: one format for every date-time the API returns.

Stored values carry microseconds and come back with `+00:00` (PostgreSQL) or as they were written
(seed times on whole seconds): clients saw both `2024-01-10T09:00:00+00:00` and
`2026-11-29T16:37:19.667519+00:00`. Every answer now says `2024-01-10T09:00:00.000Z`: UTC, a `Z`,
always milliseconds (what JavaScript's `Date#toISOString` writes and parses). Input is parsed as
before (ISO 8601, any offset).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DATETIME_FORMAT_EXAMPLE = "2024-01-10T09:00:00.000Z"


def serialize_datetime(value: datetime) -> str:
    """UTC with milliseconds and `Z`; a naive value is UTC already (the database's time zone)."""
    if value.tzinfo is not None and value.tzinfo is not UTC:  # rows come back in UTC: skip the work
        value = value.astimezone(UTC)
    # `YYYY-MM-DDTHH:MM:SS.mmm`, the first 23 characters whatever the offset after them: isoformat
    # pads the year to four digits, which strftime's %Y does not on every platform.
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def _isoformat(value: date) -> str:
    """What Strawberry's own Date writes (its serializer is typed optional, so it is not reused)."""
    return value.isoformat()


DateTime: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description=(f"A moment, always answered in UTC with milliseconds and `Z` (`{DATETIME_FORMAT_EXAMPLE}`). "
                 "As input, any ISO 8601 date-time: an offset is honoured, a time without one is UTC."),
    serialize=serialize_datetime,
    parse_value=DateTimeDefinition.parse_value,  # unchanged: inputs keep accepting offsets
)

Date: ScalarDefinition = strawberry.scalar(
    name="Date",
    description="A calendar date, `YYYY-MM-DD` (ISO 8601), with no time or time zone: a birth date, a day of statistics.",
    serialize=_isoformat,
    parse_value=DateDefinition.parse_value,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime, date: Date}
