"""Announcements as GraphQL shows them; the type's root value is its model's row."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql.core.documented import embedded
from gql.core.markdown import html_of
from gql.core.relay import Node, node_type
from models import announcements as models


@strawberry.type(description=embedded("A link to follow: where, and the words on its button."))
class Link:
    url: str = strawberry.field(description="An absolute http:// or https:// URL.")
    label: str = strawberry.field(description="The words on the button or link.")


@node_type(models.Announcement)
@strawberry.type(description="A notice shown at the top of the Community Help page.")
class Announcement(Node):
    title: str = strawberry.field(description="The headline, as plain text.")
    body: str = strawberry.field(description="The text, as Markdown (CommonMark) source.")
    body_html = html_of("body", "The text")
    pinned: bool = strawberry.field(description="Shown before the others (pinned ones first, then newest first).")
    published_at: datetime = strawberry.field(description=(
        "When it is (or was) shown from. Readers see only announcements already published; never null."))
    expires_at: datetime | None = strawberry.field(description="When it stops being shown; null when it does not expire.")

    @strawberry.field(description="The call to action (\"Read the latest intro\"); null when there is none.")
    @staticmethod
    def link(announcement: strawberry.Parent[models.Announcement]) -> Link | None:
        # Both columns are set together or not at all (models/announcements.py checked_link).
        if announcement.link_url is None or announcement.link_label is None:
            return None
        return Link(url=announcement.link_url, label=announcement.link_label)
