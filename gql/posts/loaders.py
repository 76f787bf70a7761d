from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from gql.accounts.loaders import UserByIdLoader
from gql.loaders import (
    CountByKeyLoader,
    ModelByIdLoader,
    PageRowsByKeyLoader,
    RowsByKeyLoader,
    ViewerRowByTargetLoader,
    page_filler,
)
from models.posts import Board, Kudo, PostStatus, PostTag, Reply, Post


class BoardByIdLoader(ModelByIdLoader):
    model = Board


class PostByIdLoader(ModelByIdLoader):
    model = Post


class ReplyByIdLoader(ModelByIdLoader):
    model = Reply


class TagsByPostIdLoader(RowsByKeyLoader):
    key_field = "post_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return PostTag.filter(post_id__in=keys).select_related("tag").order_by("tag__name")

    def value(self, row: Any) -> Any:
        return row.tag.name


class PublishedReplyCountByPostIdLoader(CountByKeyLoader):
    key_field = "post_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return Reply.filter(post_id__in=keys, status=PostStatus.PUBLISHED)


class PublishedRepliesByPostIdLoader(PageRowsByKeyLoader):
    """One page of each post's published replies, oldest first (a thread may hold thousands)."""

    key_field = "post_id"
    count_loader = PublishedReplyCountByPostIdLoader

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return Reply.filter(post_id__in=keys, status=PostStatus.PUBLISHED).order_by("created_at", "id")


class ViewerKudoByPostIdLoader(ViewerRowByTargetLoader):
    model = Kudo
    target_field = "post_id"


class PublishedPostCountByBoardIdLoader(CountByKeyLoader):
    key_field = "board_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return Post.filter(board_id__in=keys, status=PostStatus.PUBLISHED)


def with_authors(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Posts joined with their authors, so that authors need no query of their own."""
    return queryset.select_related("author")


_fill_post_fields = page_filler(
    board=(BoardByIdLoader, "board_id"), tags=(TagsByPostIdLoader, "pk"), replies=(PublishedRepliesByPostIdLoader, "pk")
)


async def prepare_page(info: Any, posts: list[Any]) -> None:
    """Let a page of posts resolve without a loop turn per post: authors came with the join,
    boards, tags and a page of replies (when asked for) are loaded for the whole page at once."""
    info.context.loaders.prime_many(UserByIdLoader, (post.author for post in posts))
    await _fill_post_fields(info, posts)
