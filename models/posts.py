"""Community boards, posts, replies, tags and kudos."""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from enum import Enum

from tortoise import fields
from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import Role, User, is_staff
from models.base import Section, UserMark, column_max, get_by_column, utcnow
from models.counted import Size, add_counted, remove_counted, tally_names
from models.errors import Problems, violation
from models.text import excerpt


class PostStatus(str, Enum):
    PENDING = "PENDING"
    PUBLISHED = "PUBLISHED"
    HIDDEN = "HIDDEN"
    REJECTED = "REJECTED"
    SPAM = "SPAM"


class Board(Section):
    # Kept by triggers (models/counted.py): posts on the board in any status, and published ones.
    post_count = fields.IntField(default=0, db_default=0)
    published_post_count = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "boards"
        ordering = ["position", "id"]


UNPUBLISHED = tuple(status for status in PostStatus if status is not PostStatus.PUBLISHED)


class Post(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=160, unique=True)
    board: fields.ForeignKeyRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="posts", on_delete=fields.RESTRICT
    )
    board_id: int  # the column's attribute, added by Tortoise
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="posts", on_delete=fields.RESTRICT
    )
    author_id: int
    title = fields.CharField(max_length=200)
    # The body's plain-text preview (models/text.py), made when the body is written.
    excerpt = fields.TextField(default="")
    body = fields.TextField()
    status = fields.CharEnumField(PostStatus, max_length=16, default=PostStatus.PENDING)
    locked = fields.BooleanField(default=False)
    pinned = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    published_at = fields.DatetimeField(null=True)
    # Kept exact in the transaction that adds or removes the rows: kudos by an atomic UPDATE in
    # give_kudo/remove_kudo, published replies by triggers (models/counted.py).
    kudos_count = fields.IntField(default=0)
    reply_count = fields.IntField(default=0)
    # The Star a "Meet the Stars" post introduces (models/stars.py `feature_star`); null for others.
    featured_star: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="featured_in_posts", null=True, on_delete=fields.SET_NULL
    )
    featured_star_id: int | None

    class Meta:
        table = "posts"
        ordering = ["-published_at", "-id"]
        indexes = [
            ("status", "published_at"),
            ("board_id", "status", "published_at"),
            ("author_id", "status", "published_at"),
        ]

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet[Post]:
        """Published posts for everyone; authors also see their own; moderators see everything."""
        if is_staff(viewer):
            return cls.all()
        if viewer is not None:
            return cls.filter(Q(status=PostStatus.PUBLISHED) | Q(author_id=viewer.pk))
        return cls.filter(status=PostStatus.PUBLISHED)

    @classmethod
    def visible_count(cls, viewer: User | None, board_slug: str | None = None, tag_name: str | None = None) -> Size:
        """How many posts `visible_to(viewer)` holds (on the board `board_slug`, or with the tag
        `tag_name`, when given: not both), read from counters: the published ones for everyone,
        every status for moderators, and for a member also their own unpublished posts, counted
        through the (author, status) index: a handful, however large the table."""
        assert board_slug is None or tag_name is None, "no counter for a board and a tag at once"
        statuses = tuple(PostStatus) if is_staff(viewer) else (PostStatus.PUBLISHED,)
        column = "post_count" if is_staff(viewer) else "published_post_count"
        own = cls.filter(author_id=viewer.pk, status__in=UNPUBLISHED) if viewer is not None else None
        if board_slug is not None:
            size = Size(parent=Board.filter(slug=board_slug), columns=(column,))
            own = None if own is None else own.filter(board__slug=board_slug)
        elif tag_name is not None:
            size = Size(parent=Tag.filter(name=tag_name), columns=(column,))
            own = None if own is None else own.filter(tag_rows__tag__name=tag_name)
        else:
            size = Size(tallies=tally_names("posts", statuses))
        if own is None or is_staff(viewer):
            return size
        return replace(size, plus=own)


class Reply(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="replies", on_delete=fields.CASCADE
    )
    post_id: int
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="replies", on_delete=fields.RESTRICT
    )
    author_id: int
    body = fields.TextField()
    status = fields.CharEnumField(PostStatus, max_length=16, default=PostStatus.PUBLISHED)
    created_at = fields.DatetimeField()

    class Meta:
        table = "replies"
        ordering = ["created_at", "id"]
        indexes = [("post_id", "created_at")]

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet[Reply]:
        """Published replies (and one's own) on posts the viewer may see; moderators see all."""
        if is_staff(viewer):
            return cls.all()
        readable = Q(status=PostStatus.PUBLISHED)
        if viewer is not None:
            readable |= Q(author_id=viewer.pk)
        return cls.filter(readable, post_id__in=Subquery(Post.visible_to(viewer).values("id")))


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40, unique=True)
    # Kept by triggers on post_tags and posts (models/counted.py, COUNTED_LINKS): the tag's posts
    # in any status, and its published ones. Never `save()` a loaded tag (stale counters).
    post_count = fields.IntField(default=0, db_default=0)
    published_post_count = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "tags"


class PostTag(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="tag_rows", on_delete=fields.CASCADE
    )
    post_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="post_rows", on_delete=fields.CASCADE
    )
    tag_id: int

    class Meta:
        table = "post_tags"
        unique_together = [("post", "tag")]
        indexes = [("tag_id", "post_id")]


class Kudo(UserMark):
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="kudos", on_delete=fields.CASCADE
    )
    post_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="kudos_given", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "kudos"
        unique_together = [("post", "user")]


# --- Rules for writing, replying and kudos -------------------------------------------------------

# One bounded character class after one character: no overlapping quantifiers, nothing to
# backtrack; and `tag_ok` reads the length before the pattern reads the text.
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
TAG_MAX = column_max(Tag, "name")
MAX_TAGS = 5


def tag_ok(name: str) -> bool:
    return 1 <= len(name) <= TAG_MAX and TAG_PATTERN.fullmatch(name) is not None


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:100].rstrip("-")
    return f"{slug or 'post'}-{secrets.token_hex(3)}"


async def create_post(author: User, board_slug: str, title: str, body: str, tags: list[str]) -> Post:
    """A member's first post waits for a moderator; after that, and for Stars and staff, posts publish at once."""
    problems = Problems()
    title = problems.check_text(title, "title", minimum=5, maximum=200, label="The title")
    body = problems.check_markdown(body, "body", maximum=20_000, label="The post")
    names = list(dict.fromkeys(tag.strip().lower() for tag in tags))
    if len(names) > MAX_TAGS:
        problems.add(f"At most {MAX_TAGS} tags", "TOO_MANY", "tags")
    elif not all(map(tag_ok, names)):
        problems.add(f"Tags are 1–{TAG_MAX} lower-case letters, digits and hyphens", "INVALID", "tags")
    board = await get_by_column(Board, "slug", board_slug)
    if board is None:
        problems.add("No board has that slug", "NOT_FOUND", "board")
    problems.raise_if_any()

    trusted = author.role is not Role.MEMBER or await Post.filter(author_id=author.pk, status=PostStatus.PUBLISHED).exists()
    now = utcnow()
    post = await Post.create(
        slug=slugify(title), board=board, author_id=author.pk, title=title, body=body, excerpt=excerpt(body),
        status=PostStatus.PUBLISHED if trusted else PostStatus.PENDING,
        created_at=now, published_at=now if trusted else None,
    )
    tag_ids = [(await Tag.get_or_create(name=name))[0].pk for name in names]
    # In id order: each link's trigger locks its tag's counters until commit (models/counted.py),
    # and two posts tagging the same tags must take those locks in one order.
    for tag_id in sorted(tag_ids):
        await PostTag.create(post_id=post.pk, tag_id=tag_id)
    return post


async def reply_to(author: User, post_id: int, body: str) -> Reply:
    problems = Problems()
    body = problems.check_markdown(body, "body", maximum=10_000, label="The reply")
    problems.raise_if_any()
    post = await _published(post_id)
    if post.locked:
        raise violation("This thread is locked", "LOCKED", "postId")
    # The post's `reply_count` moves with the row, by trigger (models/counted.py).
    return await Reply.create(post_id=post.pk, author_id=author.pk, body=body, status=PostStatus.PUBLISHED,
                              created_at=utcnow())


async def give_kudo(user: User, post_id: int) -> Post:
    """One kudo per member and post, never on one's own post; the counter moves with the row."""
    post = await _published(post_id)
    if post.author_id == user.pk:
        raise violation("You cannot give kudos to your own post", "OWN_POST", "postId")
    await add_counted(
        Kudo(post_id=post.pk, user_id=user.pk), Post.filter(id=post.pk), "kudos_count",
        duplicate=violation("You already gave this post kudos", "ALREADY_GIVEN", "postId"),
    )
    return await Post.get(id=post.pk)


async def remove_kudo(user: User, post_id: int) -> Post:
    await remove_counted(
        Kudo.filter(post_id=post_id, user_id=user.pk), Post.filter(id=post_id), "kudos_count",
        missing=violation("No post has that ID", "NOT_FOUND", "postId"),
        absent=violation("You had not given this post kudos", "NOT_GIVEN", "postId"),
    )
    return await Post.get(id=post_id)


async def _published(post_id: int) -> Post:
    post = await Post.get_or_none(id=post_id, status=PostStatus.PUBLISHED)
    if post is None:
        raise violation("No published post has that ID", "NOT_FOUND", "postId")
    return post
