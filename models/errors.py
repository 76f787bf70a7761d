"""Broken business rules, raised by the domain and shown to clients as `userErrors`."""

from __future__ import annotations

from dataclasses import dataclass

from models.text import MAX_BRACKETS


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

    def check_text(self, value: str, name: str | tuple[str, ...], *, minimum: int, maximum: int,
                   label: str | None = None) -> str:
        """Strip and length-check a text input; returns the stripped text. `name` is the input
        field, or its path inside the input (`("link", "label")`)."""
        path = (name,) if isinstance(name, str) else name
        label = label or path[-1]
        text = value.strip()
        if len(text) < minimum:
            self.add(
                f"{label} must not be empty" if minimum <= 1 else f"{label} needs at least {minimum} characters",
                "TOO_SHORT" if minimum > 1 else "BLANK",
                *path,
            )
        elif len(text) > maximum:
            self.add(f"{label} takes at most {maximum} characters", "TOO_LONG", *path)
        return text

    def check_markdown(self, value: str, name: str, *, maximum: int, label: str) -> str:
        """`check_text` for a Markdown body (models/text.py), and a bound on its brackets, which is
        what makes rendering costly: more than `MAX_BRACKETS` is TOO_MANY_LINKS."""
        text = self.check_text(value, name, minimum=1, maximum=maximum, label=label)
        if text.count("[") > MAX_BRACKETS:
            self.add(f"{label} holds more than {MAX_BRACKETS} links or brackets", "TOO_MANY_LINKS", name)
        return text

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleViolation(*self.items)
