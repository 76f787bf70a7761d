"""Look-ahead at what a query selects below the current field."""

from __future__ import annotations

from typing import Any, Protocol


class Selecting(Protocol):
    """What the look-ahead reads of a resolver's `info` (Strawberry's Info has it)."""

    @property
    def selected_fields(self) -> list[Any]: ...


def selects(info: Selecting, name: str) -> bool:
    """Whether `name` is selected anywhere below the current field (through fragments too)."""
    pending = list(info.selected_fields)
    while pending:
        field = pending.pop()
        if getattr(field, "name", None) == name:
            return True
        pending.extend(getattr(field, "selections", ()))
    return False
