from __future__ import annotations

from datetime import datetime

import strawberry

from gql.relay import Node, node_type
from models import announcements as models


@node_type(models.Announcement)
@strawberry.type(description="A notice shown at the top of the Community Help page.")
class Announcement(Node):
    title: str
    body: str
    pinned: bool
    published_at: datetime
    expires_at: datetime | None
