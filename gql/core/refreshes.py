"""The payload part that gives a mutation's `viewer`, for the domains' payloads to inherit.

Why here, below the domains: the Viewer type (gql/viewer) shows what several domains hold (the
user, their tokens, Stars applications, followed issues), so it imports them; a domain's payload
naming Viewer by import would loop back (gql/accounts -> gql/viewer -> gql/accounts). The field
names its type lazily instead, as Strawberry resolves it when the schema is built, and answers
with the request's Context, which is the Viewer's root value (gql/viewer/types.py).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql.core.context import Context, Info


@strawberry.type
class RefreshesViewer:
    """A payload part: the viewer as the mutation left them, read after its commit, so a form
    refreshes what it shows (eligibility, applications, tokens) in the same round trip."""

    # The Viewer type, named for Strawberry to import when it builds the schema (the one lazy
    # reference of gql/: tests/test_layers.py lists it).
    @strawberry.field(graphql_type=Annotated["Viewer", strawberry.lazy("gql.viewer.types")], description=(  # noqa: F821  (a name of that module)
        "The viewer after this mutation (after its refusal too): re-read `starEligibility`, `starApplications` "
        "or `tokens` here instead of a second request."))
    def viewer(self, info: Info) -> Context:
        return info.context
