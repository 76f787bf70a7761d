"""Boards, posts and replies as GraphQL shows them; each type's root value is its model's row."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql.accounts.loaders import UserByIdLoader
from gql.accounts.types import User
from gql.core.context import Info
from gql.core.documented import described_enum
from gql.core.loaders import KeyedRows, Loaded, rows_of, viewer_row
from gql.core.markdown import html_of
from gql.core.relay import Connection, Node, connection, node_type
from gql.posts.loaders import (
    BoardByIdLoader,
    PublishedPostCountByBoardIdLoader,
    PublishedRepliesByPostIdLoader,
    TagsByPostIdLoader,
    ViewerKudoByPostIdLoader,
)
from models import accounts
from models import posts as models

PostStatus = models.PostStatus
described_enum(PostStatus, "Where a post (or reply) stands in moderation.", {
    "PENDING": "Waiting for a moderator's approval (a member's first post); seen by its author and staff.",
    "PUBLISHED": "Seen by everyone.",
    "HIDDEN": "Hidden by a moderator; seen by its author and staff.",
    "REJECTED": "Refused by a moderator; seen by its author and staff.",
    "SPAM": "Marked as spam by a Star or moderator, waiting for a moderator's verdict; seen by its author and staff.",
})


@node_type(models.Board)
@strawberry.type(description="A community board (Help, Ideas, the Stars blog, ...).")
class Board(Node):
    slug: str = strawberry.field(description="Stable name in URLs and filters (`posts(board:)`).")
    name: str = strawberry.field(description="The board's title.")
    description: str = strawberry.field(description="What the board is for, as plain text.")

    @strawberry.field(graphql_type=int, description="Published posts on the board.")
    @staticmethod
    def post_count(board: strawberry.Parent[models.Board], info: Info) -> Loaded[int]:
        return info.context.loaders[PublishedPostCountByBoardIdLoader].get(board.pk)


@node_type(models.Reply)
@strawberry.type(description="A reply in a post's thread.")
class Reply(Node):
    body: str = strawberry.field(description="The reply's Markdown (CommonMark) source.")
    body_html = html_of("body", "The reply")
    status: PostStatus = strawberry.field(description="PUBLISHED, or HIDDEN by a moderator.")
    created_at: datetime = strawberry.field(description="When it was written.")

    @strawberry.field(graphql_type=User, description="Who wrote it.")
    @staticmethod
    def author(reply: strawberry.Parent[models.Reply], info: Info) -> Loaded[accounts.User | None]:
        return info.context.loaders[UserByIdLoader].get(reply.author_id)


@node_type(models.Post)
@strawberry.type(description="A post on a community board.")
class Post(Node):
    slug: str = strawberry.field(description="Stable name in URLs (`post(slug:)`).")
    title: str = strawberry.field(description="The title, as plain text.")
    excerpt: str = strawberry.field(description=(
        "The start of the body as plain text (not HTML), at most 200 characters: markup dropped, "
        "entities decoded, whitespace collapsed, cut between two words and ended with \"…\" when cut."))
    body: str = strawberry.field(description="The post's Markdown (CommonMark) source.")
    body_html = html_of("body", "The post")
    status: PostStatus = strawberry.field(description="Where it stands in moderation; readers see PUBLISHED posts only.")
    locked: bool = strawberry.field(description="A locked thread takes no new replies (LOCKED).")
    pinned: bool = strawberry.field(description="Pinned by a moderator to the top of its board.")
    created_at: datetime = strawberry.field(description="When it was written.")
    published_at: datetime | None = strawberry.field(description=(
        "When it was first published. Null only while it never has been (PENDING, or REJECTED, SPAM or HIDDEN "
        "before any approval): such a post is seen by its author and staff alone, so every post an anonymous "
        "reader or another member sees has a date. Posts lists sort on it (newest first; nulls as the database "
        "sorts them, see the README)."))
    kudos_count: int = strawberry.field(description="Kudos given to the post.")
    reply_count: int = strawberry.field(description="Published replies in its thread.")

    @strawberry.field(graphql_type=User, description="Who wrote it.")
    @staticmethod
    def author(post: strawberry.Parent[models.Post], info: Info) -> Loaded[accounts.User | None]:
        return info.context.loaders[UserByIdLoader].get(post.author_id)

    @strawberry.field(graphql_type=User | None, description=(
        "The Star a \"Meet the Stars\" post introduces; null for other posts. Set by staff (`setPostFeaturedStar`)."))
    @staticmethod
    def featured_star(post: strawberry.Parent[models.Post], info: Info) -> Loaded[accounts.User | None]:
        star_id = post.featured_star_id
        return None if star_id is None else info.context.loaders[UserByIdLoader].get(star_id)

    @strawberry.field(graphql_type=Board, description="The board it is on.")
    @staticmethod
    def board(post: strawberry.Parent[models.Post], info: Info) -> Loaded[models.Board | None]:
        return info.context.loaders[BoardByIdLoader].get(post.board_id)

    @strawberry.field(graphql_type=list[str], description="Its tags (lower case), in alphabetical order.")
    @staticmethod
    def tags(post: strawberry.Parent[models.Post], info: Info) -> Loaded[list[str]]:
        return info.context.loaders[TagsByPostIdLoader].get(post.pk)

    @strawberry.field(graphql_type=bool, description="Whether you gave this post kudos (false when anonymous).")
    @staticmethod
    def viewer_has_given_kudo(post: strawberry.Parent[models.Post], info: Info) -> Loaded[bool]:
        return viewer_row(info, ViewerKudoByPostIdLoader, post.pk)

    @connection("Published replies, oldest first.", graphql_type=Connection[Reply])
    @staticmethod
    def replies(post: strawberry.Parent[models.Post], info: Info) -> KeyedRows[models.Reply]:
        # One window of the thread: the page's rows only, one statement for the page's posts.
        return rows_of(info, PublishedRepliesByPostIdLoader, post.pk)
