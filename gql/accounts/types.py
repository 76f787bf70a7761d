from __future__ import annotations

from datetime import datetime
from typing import Awaitable

import strawberry

from gql.accounts.loaders import (
    KudosReceivedByAuthorIdLoader,
    PublishedPostCountByAuthorIdLoader,
    StarProfileByUserIdLoader,
)
from gql.context import Info
from gql.loaders import then
from gql.relay import Node, node_type
from models import accounts as models
from models import avatars


@strawberry.type(description=(
    "A default avatar: the user's initials on a colour derived from their handle. `url` serves it as SVG "
    "(`/avatars/<INITIALS>-<colour>.svg`, a path on this API, cached for a year)."))
class Avatar:
    url: str = strawberry.field(description="The SVG of this avatar: a path on this API.")
    initials: str = strawberry.field(description="Up to two letters or digits from the display name (or handle); may be empty.")
    color: str = strawberry.field(description='The background colour, "#rrggbb" (white initials are legible on it).')


Role = strawberry.enum(models.Role, description="What a user may do: MEMBER < STAR < MODERATOR < ADMIN.")


@node_type(models.User)
@strawberry.type(description="A member of the Community.")
class User(Node):
    handle: str
    display_name: str
    role: Role
    bio: str
    created_at: datetime

    @strawberry.field(description=(
        "The user's picture: the one stored for them (by an admin or the seed), else their default avatar "
        "(`avatar.url`). Never null. A path on this API (`/avatars/...`) or an absolute URL."))
    def avatar_url(self) -> str:
        return avatars.avatar_url(self.avatar_url, self.display_name, self.handle)  # type: ignore[attr-defined]

    @strawberry.field(description="The default avatar, drawn from the user's name: to render it without fetching it.")
    def avatar(self) -> Avatar:
        drawn = avatars.default_avatar(self.display_name, self.handle)  # type: ignore[attr-defined]
        return Avatar(url=drawn.url, initials=drawn.initials, color=drawn.colour)

    @strawberry.field(description="When the user joined the Stars program; null for non-Stars.")
    def star_since(self, info: Info) -> datetime | None:
        profile = info.context.loaders[StarProfileByUserIdLoader].get(self.pk)  # type: ignore[attr-defined]
        return then(profile, lambda found: found.star_since if found else None)

    @strawberry.field(graphql_type=int, description="Published posts written by the user.")
    def post_count(self, info: Info) -> Awaitable[int]:
        return info.context.loaders[PublishedPostCountByAuthorIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=int, description="Kudos given to the user's published posts.")
    def kudos_received(self, info: Info) -> Awaitable[int]:
        return info.context.loaders[KudosReceivedByAuthorIdLoader].get(self.pk)  # type: ignore[attr-defined]


Capability = strawberry.enum(models.Capability, description="Something the viewer may do.")
TokenScope = strawberry.enum(models.TokenScope, description="FULL may write; READ only reads (partner dashboards).")


@node_type(models.AccessToken)
@strawberry.type(description="One of the viewer's bearer tokens (its secret is never shown again).")
class AccessToken(Node):
    scope: TokenScope
    label: str
    created_at: datetime
    last_used_at: datetime | None
