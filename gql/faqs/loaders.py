"""Batched reads about FAQs: categories, labels, counts, and the viewer's rating."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from gql.core.loaders import CounterByIdLoader, ModelByIdLoader, RowsByKeyLoader, ViewerValueByTargetLoader, page_filler
from models.faqs import FaqCategory, FaqLabel, FaqRating


class FaqCategoryByIdLoader(ModelByIdLoader[FaqCategory]):
    model = FaqCategory


class LabelsByFaqIdLoader(RowsByKeyLoader[str]):
    key_field = "faq_id"

    def queryset(self, keys: list[int]) -> QuerySet[FaqLabel]:
        return FaqLabel.filter(faq_id__in=keys).order_by("name")

    def value(self, row: FaqLabel) -> str:
        return row.name


class PublishedFaqCountByCategoryIdLoader(CounterByIdLoader):
    model = FaqCategory
    column = "published_faq_count"


class ViewerRatingByFaqIdLoader(ViewerValueByTargetLoader[bool]):
    model = FaqRating
    target_field = "faq_id"
    value_field = "helpful"


prepare_faq_page = page_filler(category=(FaqCategoryByIdLoader, "category_id"), labels=(LabelsByFaqIdLoader, "pk"))
