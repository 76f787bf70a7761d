"""Assembles Query / Mutation / Subscription from the domain packages."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types.base import get_object_definition

from gql.accounts.mutations import AccountMutations
from gql.announcements.mutations import AnnouncementMutations
from gql.announcements.queries import AnnouncementQueries
from gql.core.mutations import describe_conventions
from gql.core.node import NodeQueries
from gql.core.scalars import SCALAR_MAP
from gql.execution.executor import ExecutionContext, lighten_resolvers
from gql.execution.masking import MaskUnexpectedErrors
from gql.faqs.mutations import FaqMutations
from gql.faqs.queries import FaqQueries
from gql.issues.mutations import IssueMutations
from gql.issues.queries import IssueQueries
from gql.issues.subscriptions import IssueSubscriptions
from gql.limits.queries import RateLimitQueries
from gql.moderation.mutations import ModerationMutations
from gql.moderation.queries import ModerationQueries
from gql.moderation.subscriptions import ModerationSubscriptions
from gql.posts.mutations import PostMutations
from gql.posts.queries import PostQueries
from gql.search.queries import SearchQueries
from gql.settings import Settings
from gql.stars.applications import StarApplicationQueries
from gql.stars.mutations import StarMutations
from gql.stars.queries import StarsQueries
from gql.stats.queries import StatsQueries
from gql.viewer.queries import ViewerQueries
from gql.wizard.queries import WizardQueries

QUERY_TYPES: tuple[type, ...] = (
    ViewerQueries,
    NodeQueries,
    AnnouncementQueries,
    WizardQueries,
    FaqQueries,
    IssueQueries,
    StarsQueries,
    PostQueries,
    StarApplicationQueries,
    ModerationQueries,
    RateLimitQueries,
    SearchQueries,
    StatsQueries,
)

MUTATION_TYPES: tuple[type, ...] = (
    AccountMutations,
    AnnouncementMutations,
    PostMutations,
    FaqMutations,
    IssueMutations,
    StarMutations,
    ModerationMutations,
)

SUBSCRIPTION_TYPES: tuple[type, ...] = (
    IssueSubscriptions,
    ModerationSubscriptions,
)


def _root(name: str, types: tuple[type, ...], description: str) -> type:
    """One root type merged from the domains' parts (merge_types takes no description)."""
    merged = merge_types(name, types)
    get_object_definition(merged, strict=True).description = description
    return merged


Query = _root("Query", QUERY_TYPES, "What can be read: every read starts here.")
Mutation = _root("Mutation", MUTATION_TYPES, (
    "What can be changed: each mutation takes one `input`, runs in one transaction and answers a payload with "
    "the changed objects and `userErrors` (nothing changed when there are any)."))
Subscription = _root("Subscription", SUBSCRIPTION_TYPES,
                     "Live updates over WebSocket (graphql-transport-ws): each event is the changed object.")


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Strawberry logs every error at ERROR, the client's own (validation, bad input) too,
        without the request id. Ours are logged where they are known: an unexpected exception by
        the masking, with the request id and traceback (gql/execution/masking.py); an unreachable database
        as one warning per outage; the client's errors as codes in the request line (gql/ops/logs.py)."""


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema for a profile: production hides introspection and "Did you mean" suggestions."""
    extensions: list[Any] = [ParserCache, ValidationCache, MaskUnexpectedErrors]
    if settings.is_production:
        extensions.append(DisableIntrospection)
    if settings.tracing_enabled:  # imported only then: off, nothing of OpenTelemetry loads
        from gql.ops.tracing import schema_extensions

        extensions[:0] = schema_extensions()  # first: the operation's span encloses the others' work
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=ExecutionContext,
        config=StrawberryConfig(disable_field_suggestions=settings.is_production, scalar_map=SCALAR_MAP),
    )
    describe_conventions(schema._schema)
    lighten_resolvers(schema)
    return schema


def export_sdl() -> str:
    return build_schema(Settings()).as_str() + "\n"
