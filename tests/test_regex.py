"""User text is validated in bounded work: the length first, then one linear pass.

Issue 9: an e-mail pattern with overlapping quantifiers ran before the length check and held the
event loop for 35 s on one `register`. Time is a poor witness on a shared machine, so these tests
count work instead: a 100,000-character hostile value of each shape comes back as a coded refusal,
and the patterns that remain are never even called on a value past its bound.
"""

from __future__ import annotations

import re
from typing import Callable

import pytest

from models import accounts, faqs, posts

HOSTILE = 100_000

# Shapes that make backtracking patterns explode: runs of what one quantifier takes and the next
# one could take too, separators repeated, a mismatch only at the very end.
SHAPES: dict[str, str] = {
    "dots between ats": "x@" + "." * HOSTILE + "@",
    "many ats": "@" * HOSTILE,
    "long local part": "a" * HOSTILE + "@example.com",
    "long domain without dot": "a@" + "b" * HOSTILE,
    "alternating": "a." * (HOSTILE // 2) + "!",
    "hyphens then a bad end": "a" + "-" * HOSTILE + "!",
    "valid characters then a newline": "a" * HOSTILE + "\n",
    "whitespace": " \t" * (HOSTILE // 2),
}


def _code(refusal: tuple[str, str] | None) -> str | None:
    return None if refusal is None else refusal[1]


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_hostile_emails_are_refused_by_length(shape: str) -> None:
    assert _code(accounts.email_problem(shape)) == "TOO_LONG"


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_hostile_handles_are_refused_by_length(shape: str) -> None:
    assert _code(accounts.handle_problem(shape)) == "TOO_LONG"


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("check", [faqs.slug_ok, posts.tag_ok], ids=["faq slug", "tag"])
def test_hostile_slugs_and_tags_are_refused(check: Callable[[str], bool], shape: str) -> None:
    assert not check(shape)


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("someone@example.com", None),
        ("first.last+tag@mail.example.org", None),
        ("a" * 64 + "@example.com", None),
        ("a@" + "b" * 250 + ".c", None),  # 254 characters: the column holds it
        ("a" * 65 + "@example.com", "INVALID"),  # local part over 64
        ("x@" + "." * 60 + "@", "INVALID"),  # the finding, at a length the column takes
        ("no-at-sign.example.com", "INVALID"),
        ("@example.com", "INVALID"),
        ("two@@example.com", "INVALID"),
        ("a@b@example.com", "INVALID"),
        ("someone@localhost", "INVALID"),
        ("someone@.com", "INVALID"),
        ("someone@example.", "INVALID"),
        ("some one@example.com", "INVALID"),
        ("someone@exam\nple.com", "INVALID"),
        ("a@" + "b" * 251 + ".c", "TOO_LONG"),  # 255 characters, one past the column
    ],
)
def test_email_rule_without_a_pattern(email: str, code: str | None) -> None:
    """The linear check keeps the old pattern's meaning (and its length bound) on ordinary input."""
    assert _code(accounts.email_problem(email)) == code


@pytest.mark.parametrize(
    ("handle", "code"),
    [("abc", None), ("a_b_9", None), ("x" * 30, None), ("ab", "INVALID"), ("bad handle", "INVALID"),
     ("abc\n", "INVALID"), ("ÄBC", "INVALID"), ("x" * 31, "TOO_LONG")],
)
def test_handle_rule(handle: str, code: str | None) -> None:
    assert _code(accounts.handle_problem(handle)) == code


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (faqs.slug_ok, ["abc", "how-to-pay", "x" * 120], ["ab", "-abc", "Abc", "abc\n", "a b c", "x" * 121]),
        (posts.tag_ok, ["a", "car-audio", "x" * 40], ["", "-a", "a_b", "a\n", "x" * 41]),
    ],
    ids=["faq slug", "tag"],
)
def test_slug_and_tag_rules(check: Callable[[str], bool], good: list[str], bad: list[str]) -> None:
    assert all(map(check, good)) and not any(map(check, bad))


class CountingPattern:
    """Stands in for a compiled pattern and counts what it is asked to read."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.characters_read = 0

    def fullmatch(self, text: str) -> re.Match[str] | None:
        self.characters_read += len(text)
        return self.pattern.fullmatch(text)


@pytest.mark.parametrize(
    ("module", "name", "check", "bound"),
    [(faqs, "SLUG_PATTERN", faqs.slug_ok, faqs.SLUG_MAX), (posts, "TAG_PATTERN", posts.tag_ok, posts.TAG_MAX)],
    ids=["faq slug", "tag"],
)
def test_patterns_never_read_a_value_past_its_bound(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, check: Callable[[str], bool], bound: int
) -> None:
    counting = CountingPattern(getattr(module, name))
    monkeypatch.setattr(module, name, counting)
    for shape in SHAPES.values():
        assert not check(shape)
    assert counting.characters_read == 0
    assert check("a" * bound) and counting.characters_read == bound


def test_no_pattern_in_the_domain_can_backtrack() -> None:
    """Every compiled pattern left is one character class after another, no group, no alternation,
    at most one unbounded quantifier: it reads each character once."""
    patterns = [value for module in (accounts, faqs, posts) for value in vars(module).values()
                if isinstance(value, re.Pattern)]
    assert patterns  # the slug and tag patterns at least
    for pattern in patterns:
        source = pattern.pattern
        assert "(" not in source and "|" not in source, source
        assert source.count("*") + source.count("+") + source.count("{") <= 1, source
