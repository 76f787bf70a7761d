"""Broken business rules, raised by the domain and shown to clients as `userErrors`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    code: str
    # Path to the input field at fault, e.g. ("input", "motivation"); empty for the whole input.
    field: tuple[str, ...] = ()


class RuleViolation(Exception):
    """One or more problems with a request; the transaction that raised it is rolled back."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def violation(message: str, code: str, *field: str) -> RuleViolation:
    return RuleViolation(Problem(message, code, ("input", *field) if field else ()))


class Problems:
    """Collects every problem with an input before refusing it, so clients can fix all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, message: str, code: str, *field: str) -> None:
        self.items.append(Problem(message, code, ("input", *field) if field else ()))

    def check_text(self, value: str, name: str, *, minimum: int, maximum: int, label: str | None = None) -> str:
        """Strip and length-check a text input; returns the stripped text."""
        label = label or name
        text = value.strip()
        if len(text) < minimum:
            self.add(
                f"{label} must not be empty" if minimum <= 1 else f"{label} needs at least {minimum} characters",
                "TOO_SHORT" if minimum > 1 else "BLANK",
                name,
            )
        elif len(text) > maximum:
            self.add(f"{label} takes at most {maximum} characters", "TOO_LONG", name)
        return text

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleViolation(*self.items)
