"""Community boards, posts, replies, tags and kudos."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class PostStatus(str, Enum):
    PENDING = "PENDING"
    PUBLISHED = "PUBLISHED"
    HIDDEN = "HIDDEN"
    REJECTED = "REJECTED"
    SPAM = "SPAM"


class Board(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)

    class Meta:
        table = "boards"
        ordering = ["position", "id"]


class Post(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=160, unique=True)
    board = fields.ForeignKeyField("models.Board", related_name="posts", on_delete=fields.RESTRICT)
    author = fields.ForeignKeyField("models.User", related_name="posts", on_delete=fields.RESTRICT)
    title = fields.CharField(max_length=200)
    excerpt = fields.TextField(default="")
    body = fields.TextField()
    status = fields.CharEnumField(PostStatus, max_length=16, default=PostStatus.PENDING)
    locked = fields.BooleanField(default=False)
    pinned = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    published_at = fields.DatetimeField(null=True)
    # Counters kept exact by atomic UPDATEs in the transaction that adds or removes the row.
    kudos_count = fields.IntField(default=0)
    reply_count = fields.IntField(default=0)

    class Meta:
        table = "posts"
        ordering = ["-published_at", "-id"]
        indexes = [
            ("status", "published_at"),
            ("board_id", "status", "published_at"),
            ("author_id", "status", "published_at"),
        ]


class Reply(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="replies", on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("models.User", related_name="replies", on_delete=fields.RESTRICT)
    body = fields.TextField()
    status = fields.CharEnumField(PostStatus, max_length=16, default=PostStatus.PUBLISHED)
    created_at = fields.DatetimeField()

    class Meta:
        table = "replies"
        ordering = ["created_at", "id"]
        indexes = [("post_id", "created_at")]


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40, unique=True)

    class Meta:
        table = "tags"


class PostTag(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="tag_rows", on_delete=fields.CASCADE)
    tag = fields.ForeignKeyField("models.Tag", related_name="post_rows", on_delete=fields.CASCADE)

    class Meta:
        table = "post_tags"
        unique_together = [("post", "tag")]
        indexes = [("tag_id", "post_id")]


class Kudo(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="kudos", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="kudos_given", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "kudos"
        unique_together = [("post", "user")]
