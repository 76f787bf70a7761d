from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gql.core.context import Info
from gql.core.documented import described_enum
from gql.core.loaders import viewer_row
from gql.core.markdown import html_of
from gql.core.relay import Node, node_type
from gql.faqs.loaders import (
    FaqCategoryByIdLoader,
    LabelsByFaqIdLoader,
    PublishedFaqCountByCategoryIdLoader,
    ViewerRatingByFaqIdLoader,
)
from models import faqs as models

FaqStatus = described_enum(models.FaqStatus, "Whether readers see an FAQ.", {
    "DRAFT": "Written, not yet published: staff only.",
    "PUBLISHED": "Seen by everyone.",
})


class _FaqOrder(Enum):
    POPULAR = "POPULAR"
    HELPFUL = "HELPFUL"
    RECENTLY_UPDATED = "RECENTLY_UPDATED"
    TITLE = "TITLE"


FaqOrder = described_enum(_FaqOrder, "How to order FAQs.", {
    "POPULAR": "Most viewed first (`views`), then oldest first.",
    "HELPFUL": 'Most "helpful" ratings first (`helpfulCount`), then oldest first.',
    "RECENTLY_UPDATED": "Most recently changed first (`updatedAt`).",
    "TITLE": "By title, A to Z.",
}, name="FaqOrder")


@node_type(models.FaqCategory)
@strawberry.type(description="A group of FAQs (Account, Payment, Playback, ...).")
class FaqCategory(Node):
    slug: str = strawberry.field(description="Stable name in URLs and filters (`faqs(category:)`).")
    name: str = strawberry.field(description="The category's title.")
    description: str = strawberry.field(description="What the category covers, as plain text.")

    @strawberry.field(graphql_type=int, description="Published FAQs in the category.")
    def faq_count(self, info: Info) -> Awaitable[int]:
        return info.context.loaders[PublishedFaqCountByCategoryIdLoader].get(self.pk)  # type: ignore[attr-defined]


@node_type(models.Faq)
@strawberry.type(description="A frequently asked question and its answer.")
class Faq(Node):
    slug: str = strawberry.field(description="Stable name in URLs (`faq(slug:)`, `recordFaqView`).")
    title: str = strawberry.field(description="The question, as plain text.")
    body: str = strawberry.field(description="The answer's Markdown (CommonMark) source.")
    body_html = html_of("body", "The answer")
    status: FaqStatus = strawberry.field(description="DRAFT or PUBLISHED; readers see PUBLISHED FAQs only.")
    views: int = strawberry.field(description=(
        "Readers who opened it, each counted once a window (`recordFaqView`): what POPULAR orders by."))
    helpful_count: int = strawberry.field(description='"Was this helpful?" answered yes.')
    not_helpful_count: int = strawberry.field(description='"Was this helpful?" answered no.')
    created_at: datetime = strawberry.field(description="When it was written.")
    updated_at: datetime = strawberry.field(description="When staff last changed or published it.")
    published_at: datetime | None = strawberry.field(description=(
        "When it was published. Null exactly while it is a DRAFT, which only staff see: every FAQ a reader "
        "sees has a date."))

    @strawberry.field(graphql_type=FaqCategory, description="The category it is filed under.")
    def category(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[FaqCategoryByIdLoader].get(self.category_id)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[str], description="Its labels (lower case), in alphabetical order.")
    def labels(self, info: Info) -> Awaitable[list[str]]:
        return info.context.loaders[LabelsByFaqIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=bool | None,
                      description="Your answer to \"was this helpful?\"; null when you have not rated it (or are anonymous).")
    def viewer_rating(self, info: Info) -> Awaitable[bool | None]:
        return viewer_row(info, ViewerRatingByFaqIdLoader, self.pk)  # type: ignore[attr-defined]
