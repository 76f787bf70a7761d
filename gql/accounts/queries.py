from __future__ import annotations

import strawberry

from gql.accounts.types import Role, User
from gql.context import Info


@strawberry.type(description="Who is asking: the signed-in user, or an anonymous reader.")
class Viewer:
    user: User | None
    role: Role | None

    @strawberry.field(description="Whether the viewer is signed in.")
    def is_authenticated(self) -> bool:
        return self.user is not None


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The current viewer; `user` is null when anonymous.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(user=info.context.viewer, role=info.context.role)  # type: ignore[arg-type]
