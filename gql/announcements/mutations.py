from __future__ import annotations

from datetime import datetime

import strawberry

from gql.announcements.types import Announcement
from gql.context import Info
from gql.mutations import MutationPayload, mutate, returning
from models import announcements as rules
from models.accounts import Capability


@strawberry.input
class CreateAnnouncementInput:
    title: str
    body: str
    pinned: bool = False
    published_at: datetime | None = strawberry.field(default=None, description="Now when omitted; later schedules it.")
    expires_at: datetime | None = None
    client_mutation_id: str | None = None


@strawberry.type
class AnnouncementPayload(MutationPayload):
    announcement: Announcement | None = None


@strawberry.type
class AnnouncementMutations:
    @strawberry.mutation(description="Staff: publish (or schedule) an announcement.")
    async def create_announcement(self, info: Info, input: CreateAnnouncementInput) -> AnnouncementPayload:
        return await mutate(info, AnnouncementPayload, input, Capability.MANAGE_CONTENT, lambda viewer: returning(
            "announcement",
            rules.create_announcement(viewer, input.title, input.body, input.pinned, input.published_at, input.expires_at),
        ))
