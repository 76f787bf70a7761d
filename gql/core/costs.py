"""What a field costs, declared on the field: the metadata the cost analysis (gql/limits/analysis.py) reads.

Declarations sit with the schema's building blocks so that a domain type says its own cost
without depending on the analysis that enforces it.
"""

from __future__ import annotations

from typing import Any

SIZE_ARGUMENT = "cost_size_argument"
REPEAT_ARGUMENT = "cost_repeat_argument"
PER_CLIENT = "cost_per_client"


def sized_by(argument: str) -> dict[str, str]:
    """Field metadata for a list that is not a connection but holds as many objects as `argument`
    says (`daily(days: 366)`, or as many items as a list argument has: `nodes(ids: [...])`): the
    cost counts each of them, as it counts a connection's `first`."""
    return {SIZE_ARGUMENT: argument}


def repeated_by(argument: str, when_absent: int) -> dict[str, Any]:
    """Field metadata for a field whose work is done once per distinct item of a list argument
    (`search(types: [FAQ, POST])` runs one query per kind): the cost multiplies by their number,
    `when_absent` when the argument is not given."""
    return {REPEAT_ARGUMENT: (argument, when_absent)}


def per_client() -> dict[str, bool]:
    """Field metadata for an answer that depends on the caller's own budget (`rateLimit`): a
    response selecting it is never one a shared cache may keep for others."""
    return {PER_CLIENT: True}
