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

Role = strawberry.enum(models.Role, description="What a user may do: MEMBER < STAR < MODERATOR < ADMIN.")


@node_type(models.User)
@strawberry.type(description="A member of the Community.")
class User(Node):
    handle: str
    display_name: str
    role: Role
    avatar_url: str | None
    bio: str
    created_at: datetime

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
