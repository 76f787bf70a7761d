from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from gql.core.loaders import CounterByIdLoader, ModelByIdLoader, RowsByKeyLoader, ViewerRowByTargetLoader, page_filler
from models.faqs import FaqCategory, FaqLabel, FaqRating


class FaqCategoryByIdLoader(ModelByIdLoader):
    model = FaqCategory


class LabelsByFaqIdLoader(RowsByKeyLoader):
    key_field = "faq_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return FaqLabel.filter(faq_id__in=keys).order_by("name")

    def value(self, row: Any) -> Any:
        return row.name


class PublishedFaqCountByCategoryIdLoader(CounterByIdLoader):
    model = FaqCategory
    column = "published_faq_count"


class ViewerRatingByFaqIdLoader(ViewerRowByTargetLoader):
    model = FaqRating
    target_field = "faq_id"
    value_field = "helpful"


prepare_faq_page = page_filler(category=(FaqCategoryByIdLoader, "category_id"), labels=(LabelsByFaqIdLoader, "pk"))
