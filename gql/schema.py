"""Assembles Query / Mutation / Subscription from the domain packages."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.tools import merge_types
from graphql import GraphQLError

from gql.accounts.mutations import AccountMutations
from gql.accounts.queries import AccountQueries
from gql.announcements.queries import AnnouncementQueries
from gql.errors import ApiError
from gql.node import NodeQueries

QUERY_TYPES: tuple[type, ...] = (
    AccountQueries,
    NodeQueries,
    AnnouncementQueries,
)

MUTATION_TYPES: tuple[type, ...] = (
    AccountMutations,
)

Query = merge_types("Query", QUERY_TYPES)
Mutation = merge_types("Mutation", MUTATION_TYPES)


def _should_mask(error: GraphQLError) -> bool:
    """Hide everything but our own coded errors: no stack trace or SQL reaches a client."""
    original = error.original_error
    return original is not None and not isinstance(original, ApiError)


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
