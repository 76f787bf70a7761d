"""Assembles Query / Mutation / Subscription from the domain packages."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.tools import merge_types
from graphql import GraphQLError

from gql.accounts.mutations import AccountMutations
from gql.accounts.queries import AccountQueries
from gql.announcements.mutations import AnnouncementMutations
from gql.announcements.queries import AnnouncementQueries
from gql.node import NodeQueries
from gql.stars.applications import StarApplicationQueries
from gql.stars.mutations import StarMutations

QUERY_TYPES: tuple[type, ...] = (
    AccountQueries,
    NodeQueries,
    AnnouncementQueries,
    StarApplicationQueries,
)

MUTATION_TYPES: tuple[type, ...] = (
    AccountMutations,
    AnnouncementMutations,
    StarMutations,
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
        extensions=[
            ParserCache,
            ValidationCache,
            lambda: MaskErrors(should_mask_error=_should_mask),
        ],
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
