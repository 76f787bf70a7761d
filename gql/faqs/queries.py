"""FAQs and their categories: the list and the look-up by slug."""

from __future__ import annotations

from typing import Annotated

import strawberry
from tortoise.expressions import Q

from gql.core.bounds import bounded, column_bounded
from gql.core.context import Info
from gql.core.loaders import counted
from gql.core.relay import Connection, Listing, connection
from gql.faqs.loaders import prepare_faq_page
from gql.faqs.types import Faq, FaqCategory, FaqOrder
from models import faqs as models
from models import lean
from models.base import get_by_column


@strawberry.type
class FaqQueries:
    @connection('FAQs; "most popular" first by default. `query` matches title or answer, as plain text (at most '
                f'{models.QUERY_MAX} characters); a `category` or `label` longer than its column is BAD_USER_INPUT.',
                on_page=prepare_faq_page, graphql_type=Connection[Faq])
    def faqs(
        self,
        info: Info,
        category: Annotated[str | None, strawberry.argument(description="A category's slug.")] = None,
        label: Annotated[str | None, strawberry.argument(description="A label (case does not matter).")] = None,
        query: Annotated[str | None, strawberry.argument(description=(
            "Words to find in the title or answer, as plain text; blank matches everything."))] = None,
        order_by: Annotated[FaqOrder, strawberry.argument(description="The order; POPULAR by default.")] = FaqOrder.POPULAR,
    ) -> Listing[models.Faq]:
        column_bounded(category, "category", models.FaqCategory, "slug")
        column_bounded(label, "label", models.FaqLabel, "name")
        bounded(query, "query", models.QUERY_MAX)
        queryset = models.Faq.visible_to(info.context.viewer)
        if category is not None:
            queryset = queryset.filter(category__slug=category)
        if label is not None:
            queryset = queryset.filter(labels__name=label.strip().lower())
        text = query.strip() if query else ""
        searched = bool(text)
        if searched:
            queryset = queryset.filter(Q(title__icontains=text) | Q(body__icontains=text))
        rows = queryset.order_by(*models.FAQ_ORDERINGS[order_by.value])
        if label is None and not searched:
            # All FAQs, or a category's: `totalCount` from counters. A label bounds its rows through
            # its index; a text search matches what it matches: COUNT stays for those.
            return counted(info, rows, models.Faq.visible_count(info.context.viewer, category))
        return rows

    @strawberry.field(graphql_type=Faq | None, description="An FAQ by its slug; null when unknown or unpublished.")
    async def faq(self, info: Info,
                  slug: Annotated[str, strawberry.argument(description="The FAQ's slug.")]) -> models.Faq | None:
        return await get_by_column(models.Faq.visible_to(info.context.viewer), "slug", slug)

    @strawberry.field(graphql_type=list[FaqCategory], description="All FAQ categories, in the site's order.")
    async def faq_categories(self) -> list[models.FaqCategory]:
        return await lean.fetch(models.FaqCategory.all())
