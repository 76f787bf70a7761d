"""Full-text-ish search across FAQs, ongoing issues and posts: user text matched as plain text."""

from __future__ import annotations

from enum import Enum
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.accounts import User
from models.errors import violation
from models.faqs import Faq
from models.issues import Issue
from models.posts import Post

QUERY_MAX = 200


class SearchType(str, Enum):
    FAQ = "FAQ"
    ISSUE = "ISSUE"
    POST = "POST"


# What each kind matches on, and the date that orders results across kinds (newest first).
_SOURCES: dict[SearchType, tuple[str, str, str]] = {
    SearchType.FAQ: ("title", "body", "updated_at"),
    SearchType.ISSUE: ("title", "description", "updated_at"),
    SearchType.POST: ("title", "body", "created_at"),
}


def clean_query(text: str) -> str:
    text = text.strip()
    if not text:
        raise violation("Say what to search for", "BLANK", "query")
    if len(text) > QUERY_MAX:
        raise violation(f"Search text takes at most {QUERY_MAX} characters", "TOO_LONG", "query")
    return text


def matching(text: str, types: list[SearchType], viewer: User | None) -> list[tuple[QuerySet[Any], str]]:
    """One ordered QuerySet per kind asked for, each with the date field results merge on."""
    visible = {SearchType.FAQ: Faq.visible_to(viewer), SearchType.ISSUE: Issue.all(), SearchType.POST: Post.visible_to(viewer)}
    sources = []
    for kind in dict.fromkeys(types or list(SearchType)):  # each kind once, in the order asked
        title, body, date = _SOURCES[kind]
        queryset = visible[kind].filter(Q(**{f"{title}__icontains": text}) | Q(**{f"{body}__icontains": text}))
        sources.append((queryset.order_by(f"-{date}", "-id"), date))
    return sources
