"""The `viewer` root field."""

from __future__ import annotations

import strawberry

from gql.core.context import Context, Info
from gql.viewer.types import Viewer


@strawberry.type
class ViewerQueries:
    @strawberry.field(graphql_type=Viewer, description="The current viewer.")
    def viewer(self, info: Info) -> Context:
        return info.context
