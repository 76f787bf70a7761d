"""Assembles Query / Mutation / Subscription from the domain packages."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from gql.accounts.mutations import AccountMutations
from gql.accounts.queries import AccountQueries
from gql.announcements.mutations import AnnouncementMutations
from gql.announcements.queries import AnnouncementQueries
from gql.execution import ExecutionContext, lighten_resolvers
from gql.faqs.mutations import FaqMutations
from gql.faqs.queries import FaqQueries
from gql.issues.mutations import IssueMutations
from gql.issues.queries import IssueQueries
from gql.limits.queries import RateLimitQueries
from gql.masking import MaskUnexpectedErrors
from gql.moderation.mutations import ModerationMutations
from gql.moderation.queries import ModerationQueries
from gql.node import NodeQueries
from gql.posts.mutations import PostMutations
from gql.posts.queries import PostQueries
from gql.search.queries import SearchQueries
from gql.settings import Settings
from gql.stars.applications import StarApplicationQueries
from gql.stars.mutations import StarMutations
from gql.stars.queries import StarsQueries
from gql.stats.queries import StatsQueries
from gql.subscriptions import Subscription
from gql.wizard.queries import WizardQueries
from models.db import is_unreachable

QUERY_TYPES: tuple[type, ...] = (
    AccountQueries,
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

Query = merge_types("Query", QUERY_TYPES)
Mutation = merge_types("Mutation", MUTATION_TYPES)


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # An unreachable database is one warning per outage (gql/masking.py), not a traceback per error.
        super().process_errors([error for error in errors if not is_unreachable(error.original_error)],
                               execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema for a profile: production hides introspection and "Did you mean" suggestions."""
    extensions: list[Any] = [ParserCache, ValidationCache, MaskUnexpectedErrors]
    if settings.is_production:
        extensions.append(DisableIntrospection)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=ExecutionContext,
        config=StrawberryConfig(disable_field_suggestions=settings.is_production),
    )
    lighten_resolvers(schema)
    return schema


def export_sdl() -> str:
    return build_schema(Settings()).as_str() + "\n"
