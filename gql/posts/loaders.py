"""Batched reads about posts: boards, posts and replies by id, tags, replies a page at a time,
kudos, counts; and the page hook that fills them for a whole page of posts."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from gql.accounts.loaders import UserByIdLoader
from gql.core.loaders import (
    CounterByIdLoader,
    ModelByIdLoader,
    PageRowsByKeyLoader,
    RowsByKeyLoader,
    ViewerMarkByTargetLoader,
    page_filler,
)
from models.posts import Board, Kudo, Post, PostStatus, PostTag, Reply


class BoardByIdLoader(ModelByIdLoader[Board]):
    model = Board


class PostByIdLoader(ModelByIdLoader[Post]):
    model = Post


class ReplyByIdLoader(ModelByIdLoader[Reply]):
    model = Reply


class TagsByPostIdLoader(RowsByKeyLoader[str]):
    key_field = "post_id"
    value_column = "tag__name"

    def queryset(self, keys: list[int]) -> QuerySet[PostTag]:
        return PostTag.filter(post_id__in=keys).order_by("tag__name")


class PublishedReplyCountByPostIdLoader(CounterByIdLoader):
    """Each post's published replies: its `reply_count` (the same figure as `replyCount`)."""

    model = Post
    column = "reply_count"


class PublishedRepliesByPostIdLoader(PageRowsByKeyLoader[Reply]):
    """One page of each post's published replies, oldest first (a thread may hold thousands)."""

    key_field = "post_id"
    count_loader = PublishedReplyCountByPostIdLoader

    def queryset(self, keys: list[int]) -> QuerySet[Reply]:
        return Reply.filter(post_id__in=keys, status=PostStatus.PUBLISHED).order_by("created_at", "id")


class ViewerKudoByPostIdLoader(ViewerMarkByTargetLoader):
    model = Kudo
    target_field = "post_id"


class PublishedPostCountByBoardIdLoader(CounterByIdLoader):
    model = Board
    column = "published_post_count"


# The `on_page` hook of post lists: a page of posts resolves without a loop turn per post, as its
# authors, boards, tags and a page of replies (when asked for) are loaded for the whole page at
# once. Authors come by a second statement rather than a join: splitting joined rows into two
# instances cost more than the round trip (bench/RESULTS.md).
prepare_page = page_filler(
    author=(UserByIdLoader, "author_id"),
    board=(BoardByIdLoader, "board_id"),
    tags=(TagsByPostIdLoader, "pk"),
    replies=(PublishedRepliesByPostIdLoader, "pk"),
)
