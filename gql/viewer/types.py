"""The Viewer type: who is asking, and what of theirs a page shows (tokens, Stars eligibility and
applications, followed issues).

Its root value is the request's Context itself (the `viewer` field, and every payload's, answer
`info.context`): there is one viewer per request, so nothing is built per field or per payload.
Its resolvers take the Context as `strawberry.Parent[Context]` (see gql/core/relay.py).
"""

from __future__ import annotations

import strawberry

from gql.accounts.types import AccessToken, User
from gql.core.context import Context
from gql.core.documented import singleton
from gql.core.relay import Connection, Listing, connection
from gql.issues.loaders import prepare_issue_page
from gql.issues.types import Issue
from gql.stars.applications import StarApplication, StarEligibility, star_eligibility
from models import accounts, issues, stars
from models.base import nothing


@strawberry.type(description=singleton("Who is asking: the signed-in user, or an anonymous reader."))
class Viewer:
    @strawberry.field(graphql_type=User | None, description="The signed-in user; null when anonymous.")
    @staticmethod
    def user(context: strawberry.Parent[Context]) -> accounts.User | None:
        return context.viewer

    @strawberry.field(description="The signed-in user's role; null when anonymous.")
    @staticmethod
    def role(context: strawberry.Parent[Context]) -> accounts.Role | None:
        return context.role

    @strawberry.field(description="Whether the viewer is signed in.")
    @staticmethod
    def is_authenticated(context: strawberry.Parent[Context]) -> bool:
        return context.viewer is not None

    @strawberry.field(description="What this viewer may do with the token in use (empty when read-only or suspended).")
    @staticmethod
    def capabilities(context: strawberry.Parent[Context]) -> list[accounts.Capability]:
        return list(context.capabilities)

    @strawberry.field(graphql_type=list[AccessToken],
                      description="The viewer's live tokens, newest first; empty when anonymous.")
    @staticmethod
    async def tokens(context: strawberry.Parent[Context]) -> list[accounts.AccessToken]:
        if context.viewer is None:
            return []
        return await accounts.AccessToken.filter(
            user_id=context.viewer.pk, revoked_at__isnull=True
        ).order_by("-created_at", "-id")

    star_eligibility: StarEligibility | None = strawberry.field(resolver=star_eligibility, description=(
        "Whether you may apply to the Stars program, requirement by requirement; null when anonymous. "
        "Pass the form answers you have to check the requirements that depend on them."
    ))

    @connection("Issues you follow (`subscribeToIssue`), most recently updated first; empty when anonymous.",
                on_page=prepare_issue_page, graphql_type=Connection[Issue])
    @staticmethod
    def subscribed_issues(context: strawberry.Parent[Context]) -> Listing[issues.Issue]:
        viewer = context.viewer
        followed = issues.Issue.filter(subscriptions__user_id=viewer.pk) if viewer else nothing(issues.Issue)
        return followed.order_by("-updated_at", "-id")

    @strawberry.field(graphql_type=list[StarApplication],
                      description="Your own Stars applications, newest first, with reviewers' notes.")
    @staticmethod
    async def star_applications(context: strawberry.Parent[Context]) -> list[stars.StarApplication]:
        if context.viewer is None:
            return []
        return await stars.StarApplication.filter(user_id=context.viewer.pk)
