"""Posts and boards: the lists and the look-ups by slug."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql.core.bounds import column_bounded
from gql.core.context import Info
from gql.core.loaders import counted
from gql.core.relay import Connection, Listing, connection
from gql.posts.loaders import prepare_page
from gql.posts.types import Board, Post
from models import lean
from models import posts as models
from models.accounts import User
from models.base import get_by_column


@strawberry.type
class PostQueries:
    @connection("Posts, newest first. Filters by board slug, tag and author handle; unknown values match nothing, "
                "a value longer than its column is BAD_USER_INPUT (with the `maximum`).",
                on_page=prepare_page, graphql_type=Connection[Post])
    def posts(
        self,
        info: Info,
        board: Annotated[str | None, strawberry.argument(description="A board's slug.")] = None,
        tag: Annotated[str | None, strawberry.argument(description="A tag (case does not matter).")] = None,
        author: Annotated[str | None, strawberry.argument(description="An author's handle (case does not matter).")] = None,
    ) -> Listing[models.Post]:
        column_bounded(board, "board", models.Board, "slug")
        column_bounded(tag, "tag", models.Tag, "name")
        column_bounded(author, "author", User, "handle")
        queryset = models.Post.visible_to(info.context.viewer)
        tag_name = None if tag is None else tag.strip().lower()
        if board is not None:
            queryset = queryset.filter(board__slug=board)
        if tag_name is not None:
            queryset = queryset.filter(tag_rows__tag__name=tag_name)
        if author is not None:
            queryset = queryset.filter(author__handle=author.strip().lower())
        rows = queryset.order_by("-published_at", "-id")
        if author is None and (board is None or tag_name is None):
            # Every post, a board's or a tag's: `totalCount` from counters. With an author, or a
            # board and a tag together, COUNT stays, over that author's rows only (index
            # posts(author)) or the tag's (index post_tags(tag)).
            size = models.Post.visible_count(info.context.viewer, board, tag_name)
            return counted(info, rows, size)
        return rows

    @strawberry.field(graphql_type=Post | None, description="A post by its slug; null when unknown or not visible to you.")
    async def post(
        self, info: Info, slug: Annotated[str, strawberry.argument(description="The post's slug.")]
    ) -> models.Post | None:
        return await get_by_column(models.Post.visible_to(info.context.viewer), "slug", slug)

    @strawberry.field(graphql_type=list[Board], description="All boards, in the site's order.")
    async def boards(self) -> list[models.Board]:
        return await lean.fetch(models.Board.all())
