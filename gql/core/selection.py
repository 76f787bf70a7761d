"""Look-ahead at what a query selects below the current field."""

from __future__ import annotations

from typing import Any


def selects(info: Any, name: str) -> bool:
    """Whether `name` is selected anywhere below the current field (through fragments too)."""
    pending = list(info.selected_fields)
    while pending:
        field = pending.pop()
        if getattr(field, "name", None) == name:
            return True
        pending.extend(getattr(field, "selections", ()))
    return False
