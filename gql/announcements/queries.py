"""Announcements: the notices at the top of the page."""

from __future__ import annotations

from typing import Annotated

import strawberry
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from gql.announcements.types import Announcement
from gql.core.context import Info
from gql.core.relay import Connection, Listing, connection
from models.announcements import Announcement as AnnouncementModel
from models.base import utcnow


@strawberry.type
class AnnouncementQueries:
    @connection("Published announcements, pinned first, then newest first.", graphql_type=Connection[Announcement])
    def announcements(
        self,
        info: Info,
        include_expired: Annotated[bool, strawberry.argument(description="Also list expired ones.")] = False,
    ) -> Listing[AnnouncementModel]:
        queryset: QuerySet[AnnouncementModel] = AnnouncementModel.visible_to(info.context.viewer)
        if not include_expired:
            queryset = queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=utcnow()))
        return queryset
