from __future__ import annotations

import strawberry

from gql.accounts.types import AccessToken, Capability, Role, User
from gql.core.context import Context, Info
from gql.core.documented import singleton
from gql.core.relay import Connection, connection
from gql.issues.loaders import prepare_issue_page
from gql.issues.types import Issue
from gql.stars.applications import StarApplication, StarEligibility, star_eligibility
from models.accounts import AccessToken as AccessTokenModel
from models.base import nothing
from models.issues import Issue as IssueModel
from models.stars import StarApplication as StarApplicationModel


@strawberry.type(description=singleton("Who is asking: the signed-in user, or an anonymous reader."))
class Viewer:
    _context: strawberry.Private[Context]

    @strawberry.field(description="The signed-in user; null when anonymous.")
    def user(self) -> User | None:
        return self._context.viewer  # type: ignore[return-value]

    @strawberry.field(description="The signed-in user's role; null when anonymous.")
    def role(self) -> Role | None:
        return self._context.role  # type: ignore[return-value]

    @strawberry.field(description="Whether the viewer is signed in.")
    def is_authenticated(self) -> bool:
        return self._context.viewer is not None

    @strawberry.field(description="What this viewer may do with the token in use (empty when read-only or suspended).")
    def capabilities(self) -> list[Capability]:
        return list(self._context.capabilities)  # type: ignore[arg-type]

    @strawberry.field(description="The viewer's live tokens, newest first; empty when anonymous.")
    async def tokens(self) -> list[AccessToken]:
        if self._context.viewer is None:
            return []
        return await AccessTokenModel.filter(  # type: ignore[return-value]
            user_id=self._context.viewer.pk, revoked_at__isnull=True
        ).order_by("-created_at", "-id")


    star_eligibility: StarEligibility | None = strawberry.field(resolver=star_eligibility, description=(
        "Whether you may apply to the Stars program, requirement by requirement; null when anonymous. "
        "Pass the form answers you have to check the requirements that depend on them."
    ))

    @connection("Issues you follow (`subscribeToIssue`), most recently updated first; empty when anonymous.",
                on_page=prepare_issue_page)
    def subscribed_issues(self) -> Connection[Issue]:
        viewer = self._context.viewer
        followed = IssueModel.filter(subscriptions__user_id=viewer.pk) if viewer else nothing(IssueModel)
        return followed.order_by("-updated_at", "-id")  # type: ignore[return-value]

    @strawberry.field(description="Your own Stars applications, newest first, with reviewers' notes.")
    async def star_applications(self) -> list[StarApplication]:
        if self._context.viewer is None:
            return []
        return await StarApplicationModel.filter(user_id=self._context.viewer.pk)  # type: ignore[return-value]


@strawberry.type
class RefreshesViewer:
    """A payload part: the viewer as the mutation left them, read after its commit, so a form
    refreshes what it shows (eligibility, applications, tokens) in the same round trip."""

    @strawberry.field(description=(
        "The viewer after this mutation (after its refusal too): re-read `starEligibility`, `starApplications` "
        "or `tokens` here instead of a second request."))
    def viewer(self, info: Info) -> Viewer:
        return Viewer(_context=info.context)


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The current viewer.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(_context=info.context)
