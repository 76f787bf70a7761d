"""Users and their tokens as GraphQL shows them; each type's root value is its model's row."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql.accounts.loaders import (
    KudosReceivedByAuthorIdLoader,
    PublishedPostCountByAuthorIdLoader,
    StarProfileByUserIdLoader,
)
from gql.core.context import Info
from gql.core.documented import described_enum, embedded
from gql.core.loaders import Loaded, MaybeAwaitable, then
from gql.core.relay import Node, node_type
from models import accounts as models
from models import avatars


@strawberry.type(description=embedded(
    "A default avatar: the user's initials on a colour derived from their handle. `url` serves it as SVG "
    "(`/avatars/<INITIALS>-<colour>.svg`, a path on this API, cached for a year)."))
class Avatar:
    url: str = strawberry.field(description="The SVG of this avatar: a path on this API.")
    initials: str = strawberry.field(description="Up to two letters or digits from the display name (or handle); may be empty.")
    color: str = strawberry.field(description='The background colour, "#rrggbb" (white initials are legible on it).')


Role = models.Role
described_enum(Role, "What a user may do: MEMBER < STAR < MODERATOR < ADMIN.", {
    "MEMBER": "A registered member: posts, replies, kudos, ratings, reports, Stars applications.",
    "STAR": "A member of the Stars program: a member who may also mark posts as spam.",
    "MODERATOR": "Staff: moderates posts and replies, reviews Stars applications, writes FAQs, issues and "
                 "announcements (every member capability but APPLY_TO_STARS).",
    "ADMIN": "Everything a moderator does, plus users' roles and suspensions.",
})


@node_type(models.User)
@strawberry.type(description="A member of the Community.")
class User(Node):
    handle: str = strawberry.field(description="Unique name, lower case: letters, digits and underscores.")
    display_name: str = strawberry.field(description="The name shown on the user's posts.")
    role: Role = strawberry.field(description="What the user may do.")
    bio: str = strawberry.field(description="A few words about the user, as plain text; empty when none.")
    created_at: datetime = strawberry.field(description="When the account was made.")

    @strawberry.field(description=(
        "The user's picture: the one stored for them (by an admin or the seed), else their default avatar "
        "(`avatar.url`). Never null. A path on this API (`/avatars/...`) or an absolute URL."))
    @staticmethod
    def avatar_url(user: strawberry.Parent[models.User]) -> str:
        return avatars.avatar_url(user.avatar_url, user.display_name, user.handle)

    @strawberry.field(description="The default avatar, drawn from the user's name: to render it without fetching it.")
    @staticmethod
    def avatar(user: strawberry.Parent[models.User]) -> Avatar:
        drawn = avatars.default_avatar(user.display_name, user.handle)
        return Avatar(url=drawn.url, initials=drawn.initials, color=drawn.colour)

    @strawberry.field(graphql_type=datetime | None,
                      description="When the user joined the Stars program; null for non-Stars.")
    @staticmethod
    def star_since(user: strawberry.Parent[models.User], info: Info) -> MaybeAwaitable[datetime | None]:
        profile = info.context.loaders[StarProfileByUserIdLoader].get(user.pk)
        return then(profile, lambda found: found.star_since if found else None)

    @strawberry.field(graphql_type=int, description="Published posts written by the user.")
    @staticmethod
    def post_count(user: strawberry.Parent[models.User], info: Info) -> Loaded[int]:
        return info.context.loaders[PublishedPostCountByAuthorIdLoader].get(user.pk)

    @strawberry.field(graphql_type=int, description="Kudos given to the user's published posts.")
    @staticmethod
    def kudos_received(user: strawberry.Parent[models.User], info: Info) -> Loaded[int]:
        return info.context.loaders[KudosReceivedByAuthorIdLoader].get(user.pk)


Capability = models.Capability
described_enum(Capability, "Something the viewer may do.", {
    "POST": "Write posts and replies (`createPost`, `replyToPost`).",
    "GIVE_KUDOS": "Give and take back kudos.",
    "RATE_FAQS": 'Answer "was this helpful?" on FAQs.',
    "MARK_ISSUES": 'Say "I have this too" on issues and follow them.',
    "REPORT_CONTENT": "Report posts and replies to the moderators.",
    "APPLY_TO_STARS": "Apply to the Stars program and withdraw an application.",
    "MARK_SPAM": "Mark a post as spam (Stars and staff).",
    "MODERATE": "Moderate posts and replies; read the moderation queue and log.",
    "REVIEW_STAR_APPLICATIONS": "Claim and decide Stars applications.",
    "MANAGE_CONTENT": "Write FAQs, issues and announcements; feature a Star.",
    "MANAGE_USERS": "Change roles and suspend users.",
})
TokenScope = models.TokenScope
described_enum(TokenScope, "What a bearer token may do.", {
    "FULL": "Reads and writes with the user's rights.",
    "READ": "Only reads, with the rights of the user's role (partner dashboards); every mutation is FORBIDDEN.",
})


@node_type(models.AccessToken)
@strawberry.type(description="One of the viewer's bearer tokens (its secret is never shown again).")
class AccessToken(Node):
    scope: TokenScope = strawberry.field(description="FULL or READ, as asked at `login`.")
    label: str = strawberry.field(description="Where the token is used, as given at `login`; may be empty.")
    created_at: datetime = strawberry.field(description="When the token was issued.")
    last_used_at: datetime | None = strawberry.field(description="When a request last used it; null when never.")
