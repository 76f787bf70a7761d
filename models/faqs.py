"""FAQ categories, articles, their labels and the readers' ratings."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model

from models.accounts import User
from models.errors import violation


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


# --- Rules for readers' ratings ------------------------------------------------------------------


async def rate(user: User, faq_id: int, helpful: bool) -> Faq:
    """Record or change the reader's answer; counters move with it, in the same transaction."""
    faq = await Faq.get_or_none(id=faq_id, status=FaqStatus.PUBLISHED)
    if faq is None:
        raise violation("No published FAQ has that ID", "NOT_FOUND", "faqId")
    counter = {True: "helpful_count", False: "not_helpful_count"}
    previous = await FaqRating.get_or_none(faq_id=faq_id, user_id=user.pk)
    if previous is None:
        try:
            await FaqRating.create(faq_id=faq_id, user_id=user.pk, helpful=helpful)
        except IntegrityError:
            raise violation("Your rating is being saved already; try again", "CONFLICT", "faqId") from None
        await Faq.filter(id=faq_id).update(**{counter[helpful]: F(counter[helpful]) + 1})
    elif previous.helpful != helpful:
        # Conditional on the old answer, so two racing changes cannot both move the counters.
        if await FaqRating.filter(id=previous.pk, helpful=previous.helpful).update(helpful=helpful):
            await Faq.filter(id=faq_id).update(
                **{counter[helpful]: F(counter[helpful]) + 1, counter[not helpful]: F(counter[not helpful]) - 1}
            )
    return await Faq.get(id=faq_id)
