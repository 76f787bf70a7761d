"""Assembles Query / Mutation / Subscription from the domain packages."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.tools import merge_types

from gql.accounts.mutations import AccountMutations
from gql.accounts.queries import AccountQueries
from gql.announcements.mutations import AnnouncementMutations
from gql.announcements.queries import AnnouncementQueries
from gql.faqs.mutations import FaqMutations
from gql.faqs.queries import FaqQueries
from gql.issues.mutations import IssueMutations
from gql.issues.queries import IssueQueries
from gql.moderation.mutations import ModerationMutations
from gql.moderation.queries import ModerationQueries
from gql.node import NodeQueries
from gql.posts.mutations import PostMutations
from gql.posts.queries import PostQueries
from gql.stars.applications import StarApplicationQueries
from gql.stars.mutations import StarMutations
from gql.stars.queries import StarsQueries
from gql.subscriptions import Subscription
from gql.wizard.queries import WizardQueries

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


def _should_mask(error: GraphQLError) -> bool:
    """Hide what a resolver raised unexpectedly: no stack trace or SQL message reaches a client.

    GraphQL's own errors (ours, validation, variable coercion) speak about the request: keep them.
    """
    original = error.original_error
    return error.path is not None and original is not None and not isinstance(original, GraphQLError)


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            ParserCache,
            ValidationCache,
            lambda: MaskErrors(should_mask_error=_should_mask),
        ],
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
