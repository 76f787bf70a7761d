"""FAQ categories, articles, their labels and the readers' ratings."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class FaqStatus(str, Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class FaqCategory(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)

    class Meta:
        table = "faq_categories"
        ordering = ["position", "id"]


class Faq(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=120, unique=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    category = fields.ForeignKeyField(
        "models.FaqCategory", related_name="faqs", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(FaqStatus, max_length=16, default=FaqStatus.DRAFT)
    views = fields.IntField(default=0)
    helpful_count = fields.IntField(default=0)
    not_helpful_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(db_index=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "faqs"
        ordering = ["-views", "id"]
        indexes = [("status", "views"), ("status", "category_id"), ("status", "updated_at")]


class FaqLabel(Model):
    id = fields.IntField(primary_key=True)
    faq = fields.ForeignKeyField("models.Faq", related_name="labels", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=40, db_index=True)

    class Meta:
        table = "faq_labels"
        unique_together = [("faq", "name")]
        ordering = ["name"]


class FaqRating(Model):
    # One reader's "was this helpful?" answer; a reader may change it but not repeat it.

    id = fields.IntField(primary_key=True)
    faq = fields.ForeignKeyField("models.Faq", related_name="ratings", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="faq_ratings", on_delete=fields.CASCADE)
    helpful = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "faq_ratings"
        unique_together = [("faq", "user")]
