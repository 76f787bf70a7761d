from __future__ import annotations

import strawberry

from gql.context import Info
from gql.faqs.types import Faq
from gql.mutations import MutationPayload, perform, require_viewer
from gql.relay import pk_of
from models import faqs as rules
from models.accounts import Capability


@strawberry.input
class RateFaqInput:
    faq_id: strawberry.ID
    helpful: bool
    client_mutation_id: str | None = None


@strawberry.type
class FaqPayload(MutationPayload):
    faq: Faq | None = None


@strawberry.input
class CreateFaqInput:
    slug: str
    title: str
    body: str
    category: str = strawberry.field(description="The category's slug.")
    labels: list[str] = strawberry.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input
class UpdateFaqInput:
    faq_id: strawberry.ID
    slug: str | None = None
    title: str | None = None
    body: str | None = None
    category: str | None = None
    labels: list[str] | None = strawberry.field(default=None, description="Replaces all labels when given.")
    client_mutation_id: str | None = None


@strawberry.input
class PublishFaqInput:
    faq_id: strawberry.ID
    client_mutation_id: str | None = None


@strawberry.type
class FaqMutations:
    @strawberry.mutation(description='Answer "was this helpful?"; answering again changes your answer.')
    async def rate_faq(self, info: Info, input: RateFaqInput) -> FaqPayload:
        viewer = require_viewer(info, Capability.RATE_FAQS)
        faq_id = pk_of(input.faq_id, "Faq")

        async def work() -> dict:
            return {"faq": await rules.rate(viewer, faq_id, input.helpful)}

        return await perform(FaqPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Staff: write a new FAQ as a draft.")
    async def create_faq(self, info: Info, input: CreateFaqInput) -> FaqPayload:
        viewer = require_viewer(info, Capability.MANAGE_CONTENT)

        async def work() -> dict:
            faq = await rules.save_faq(viewer, None, slug=input.slug, title=input.title, body=input.body,
                                       category_slug=input.category, labels=input.labels)
            return {"faq": faq}

        return await perform(FaqPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Staff: change the fields given.")
    async def update_faq(self, info: Info, input: UpdateFaqInput) -> FaqPayload:
        viewer = require_viewer(info, Capability.MANAGE_CONTENT)
        faq_id = pk_of(input.faq_id, "Faq")

        async def work() -> dict:
            faq = await rules.save_faq(viewer, faq_id, slug=input.slug, title=input.title, body=input.body,
                                       category_slug=input.category, labels=input.labels)
            return {"faq": faq}

        return await perform(FaqPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Staff: publish a draft FAQ.")
    async def publish_faq(self, info: Info, input: PublishFaqInput) -> FaqPayload:
        viewer = require_viewer(info, Capability.MANAGE_CONTENT)
        faq_id = pk_of(input.faq_id, "Faq")

        async def work() -> dict:
            return {"faq": await rules.publish(viewer, faq_id)}

        return await perform(FaqPayload, input.client_mutation_id, work)
