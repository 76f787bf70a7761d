"""Announcements: staff publish (or schedule) the notices at the top of the page."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql.announcements.types import Announcement
from gql.core.context import Info
from gql.core.markdown import MARKDOWN_SOURCE
from gql.core.mutations import MutationPayload, mutate
from gql.permissions import holding
from models import announcements as rules
from models.accounts import Capability, User


@strawberry.input(description="A call to action: where it goes and what its button says.")
class LinkInput:
    url: str = strawberry.field(description=(
        f"An absolute http:// or https:// URL to a host (no credentials in it), at most {rules.LINK_URL_MAX} characters."))
    label: str = strawberry.field(description=f"1–{rules.LINK_LABEL_MAX} characters, e.g. \"Read the intro\".")


@strawberry.input(description="A new announcement.")
class CreateAnnouncementInput:
    title: str = strawberry.field(description="The headline, as plain text.")
    body: str = strawberry.field(description=MARKDOWN_SOURCE)
    pinned: bool = strawberry.field(default=False, description="Show it before the others.")
    published_at: datetime | None = strawberry.field(default=None, description="Now when omitted; later schedules it.")
    expires_at: datetime | None = strawberry.field(default=None, description=(
        "When it stops being shown, after `publishedAt`; never when omitted."))
    link: LinkInput | None = strawberry.field(default=None, description="The call to action; none when omitted.")
    client_mutation_id: str | None = None


@strawberry.type(description="The result of `createAnnouncement`.")
class AnnouncementPayload(MutationPayload):
    announcement: rules.Announcement | None = strawberry.field(default=None, graphql_type=Announcement | None,
                                                               description="The announcement; null on userErrors.")


@strawberry.type
class AnnouncementMutations:
    @strawberry.mutation(description="Staff: publish (or schedule) an announcement.",
                         permission_classes=[holding(Capability.MANAGE_CONTENT)])
    async def create_announcement(self, info: Info, input: CreateAnnouncementInput) -> AnnouncementPayload:
        async def create(viewer: User) -> AnnouncementPayload:
            link = (input.link.url, input.link.label) if input.link is not None else None
            return AnnouncementPayload(announcement=await rules.create_announcement(
                viewer, input.title, input.body, input.pinned, input.published_at, input.expires_at, link))

        return await mutate(info, AnnouncementPayload, input, create)
