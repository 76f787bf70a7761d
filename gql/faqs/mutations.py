from __future__ import annotations

import strawberry

from gql.context import Info
from gql.faqs.types import Faq
from gql.mutations import MutationPayload, mutate, returning
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
        return await mutate(info, FaqPayload, input, Capability.RATE_FAQS,
                            lambda viewer: returning("faq", rules.rate(viewer, pk_of(input.faq_id, "Faq"), input.helpful)))

    @strawberry.mutation(description="Staff: write a new FAQ as a draft.")
    async def create_faq(self, info: Info, input: CreateFaqInput) -> FaqPayload:
        return await mutate(info, FaqPayload, input, Capability.MANAGE_CONTENT, lambda viewer: returning("faq", rules.save_faq(
            viewer, None, slug=input.slug, title=input.title, body=input.body, category_slug=input.category, labels=input.labels)))

    @strawberry.mutation(description="Staff: change the fields given.")
    async def update_faq(self, info: Info, input: UpdateFaqInput) -> FaqPayload:
        return await mutate(info, FaqPayload, input, Capability.MANAGE_CONTENT, lambda viewer: returning("faq", rules.save_faq(
            viewer, pk_of(input.faq_id, "Faq"), slug=input.slug, title=input.title, body=input.body,
            category_slug=input.category, labels=input.labels)))

    @strawberry.mutation(description="Staff: publish a draft FAQ.")
    async def publish_faq(self, info: Info, input: PublishFaqInput) -> FaqPayload:
        return await mutate(info, FaqPayload, input, Capability.MANAGE_CONTENT,
                            lambda viewer: returning("faq", rules.publish(viewer, pk_of(input.faq_id, "Faq"))))
