from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Awaitable

import strawberry

from gql.context import Info
from gql.faqs.loaders import (
    FaqCategoryByIdLoader,
    LabelsByFaqIdLoader,
    PublishedFaqCountByCategoryIdLoader,
    ViewerRatingByFaqIdLoader,
)
from gql.loaders import viewer_row
from gql.markdown import html_of
from gql.relay import Node, node_type
from models import faqs as models

FaqStatus = strawberry.enum(models.FaqStatus)


@strawberry.enum(description="How to order FAQs.")
class FaqOrder(Enum):
    POPULAR = "POPULAR"
    HELPFUL = "HELPFUL"
    RECENTLY_UPDATED = "RECENTLY_UPDATED"
    TITLE = "TITLE"


@node_type(models.FaqCategory)
@strawberry.type(description="A group of FAQs (Account, Payment, Playback, ...).")
class FaqCategory(Node):
    slug: str
    name: str
    description: str

    @strawberry.field(graphql_type=int, description="Published FAQs in the category.")
    def faq_count(self, info: Info) -> Awaitable[int]:
        return info.context.loaders[PublishedFaqCountByCategoryIdLoader].get(self.pk)  # type: ignore[attr-defined]


@node_type(models.Faq)
@strawberry.type(description="A frequently asked question and its answer.")
class Faq(Node):
    slug: str
    title: str
    body: str = strawberry.field(description="The answer's Markdown (CommonMark) source.")
    body_html = html_of("body", "The answer")
    status: FaqStatus
    views: int = strawberry.field(description=(
        "Readers who opened it, each counted once a window (`recordFaqView`): what POPULAR orders by."))
    helpful_count: int
    not_helpful_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @strawberry.field(graphql_type=FaqCategory)
    def category(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[FaqCategoryByIdLoader].get(self.category_id)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[str])
    def labels(self, info: Info) -> Awaitable[list[str]]:
        return info.context.loaders[LabelsByFaqIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=bool | None,
                      description="Your answer to \"was this helpful?\"; null when you have not rated it (or are anonymous).")
    def viewer_rating(self, info: Info) -> Awaitable[bool | None]:
        return viewer_row(info, ViewerRatingByFaqIdLoader, self.pk)  # type: ignore[attr-defined]
