"""FAQs and their categories as GraphQL shows them; each type's root value is its model's row."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gql.core.context import Info
from gql.core.documented import described_enum
from gql.core.loaders import Loaded, viewer_row
from gql.core.markdown import html_of
from gql.core.relay import Node, node_type
from gql.faqs.loaders import (
    FaqCategoryByIdLoader,
    LabelsByFaqIdLoader,
    PublishedFaqCountByCategoryIdLoader,
    ViewerRatingByFaqIdLoader,
)
from models import faqs as models

FaqStatus = models.FaqStatus
described_enum(FaqStatus, "Whether readers see an FAQ.", {
    "DRAFT": "Written, not yet published: staff only.",
    "PUBLISHED": "Seen by everyone.",
})


class FaqOrder(Enum):
    """The orders of FAQ lists (models/faqs.py FAQ_ORDERINGS by value)."""

    POPULAR = "POPULAR"
    HELPFUL = "HELPFUL"
    RECENTLY_UPDATED = "RECENTLY_UPDATED"
    TITLE = "TITLE"


described_enum(FaqOrder, "How to order FAQs.", {
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
    @staticmethod
    def faq_count(category: strawberry.Parent[models.FaqCategory], info: Info) -> Loaded[int]:
        return info.context.loaders[PublishedFaqCountByCategoryIdLoader].get(category.pk)


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
    @staticmethod
    def category(faq: strawberry.Parent[models.Faq], info: Info) -> Loaded[models.FaqCategory | None]:
        return info.context.loaders[FaqCategoryByIdLoader].get(faq.category_id)

    @strawberry.field(graphql_type=list[str], description="Its labels (lower case), in alphabetical order.")
    @staticmethod
    def labels(faq: strawberry.Parent[models.Faq], info: Info) -> Loaded[list[str]]:
        return info.context.loaders[LabelsByFaqIdLoader].get(faq.pk)

    @strawberry.field(graphql_type=bool | None,
                      description="Your answer to \"was this helpful?\"; null when you have not rated it (or are anonymous).")
    @staticmethod
    def viewer_rating(faq: strawberry.Parent[models.Faq], info: Info) -> Loaded[bool | None]:
        return viewer_row(info, ViewerRatingByFaqIdLoader, faq.pk)
