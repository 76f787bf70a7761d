from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from gql.loaders import CountByKeyLoader, ModelByIdLoader, RowsByKeyLoader, ViewerRowByTargetLoader, page_filler
from models.faqs import Faq, FaqCategory, FaqLabel, FaqRating, FaqStatus


class FaqCategoryByIdLoader(ModelByIdLoader):
    model = FaqCategory


class LabelsByFaqIdLoader(RowsByKeyLoader):
    key_field = "faq_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return FaqLabel.filter(faq_id__in=keys).order_by("name")

    def value(self, row: Any) -> Any:
        return row.name


class PublishedFaqCountByCategoryIdLoader(CountByKeyLoader):
    key_field = "category_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return Faq.filter(category_id__in=keys, status=FaqStatus.PUBLISHED)


class ViewerRatingByFaqIdLoader(ViewerRowByTargetLoader):
    model = FaqRating
    target_field = "faq_id"
    value_field = "helpful"


prepare_faq_page = page_filler(category=(FaqCategoryByIdLoader, "category_id"), labels=(LabelsByFaqIdLoader, "pk"))
