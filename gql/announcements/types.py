from __future__ import annotations

from datetime import datetime

import strawberry

from gql.markdown import html_of
from gql.relay import Node, node_type
from models import announcements as models


@strawberry.type(description="A link to follow: where, and the words on its button.")
class Link:
    url: str = strawberry.field(description="An absolute http:// or https:// URL.")
    label: str = strawberry.field(description="The words on the button or link.")


@node_type(models.Announcement)
@strawberry.type(description="A notice shown at the top of the Community Help page.")
class Announcement(Node):
    title: str
    body: str = strawberry.field(description="The text, as Markdown (CommonMark) source.")
    body_html = html_of("body", "The text")
    pinned: bool
    published_at: datetime
    expires_at: datetime | None

    @strawberry.field(description="The call to action (\"Read the latest intro\"); null when there is none.")
    def link(self) -> Link | None:
        if self.link_url is None:  # type: ignore[attr-defined]
            return None
        return Link(url=self.link_url, label=self.link_label)  # type: ignore[attr-defined]
