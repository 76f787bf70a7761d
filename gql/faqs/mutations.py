"""FAQs: readers count views and rate answers; staff write, change and publish them."""

from __future__ import annotations

import strawberry

from gql.core.context import Info
from gql.core.markdown import MARKDOWN_SOURCE
from gql.core.mutations import MutationPayload, mutate, perform
from gql.core.relay import pk_of
from gql.faqs.types import Faq
from gql.limits.guard import client_address
from gql.permissions import holding
from models import faqs as rules
from models.accounts import Capability, User


@strawberry.input(description='An answer to "was this helpful?".')
class RateFaqInput:
    faq_id: strawberry.ID = strawberry.field(description="A published FAQ.")
    helpful: bool = strawberry.field(description="True for helpful, false for not helpful.")
    client_mutation_id: str | None = None


@strawberry.type(description="The result of a mutation on an FAQ.")
class FaqPayload(MutationPayload):
    faq: rules.Faq | None = strawberry.field(default=None, graphql_type=Faq | None, description=(
        "The FAQ as it is now (its counts, `viewerRating`); null on userErrors."))


@strawberry.input(description="A new FAQ (a draft).")
class CreateFaqInput:
    slug: str = strawberry.field(description="Lower-case letters, digits and hyphens; unique.")
    title: str = strawberry.field(description="The question, as plain text.")
    body: str = strawberry.field(description=MARKDOWN_SOURCE)
    category: str = strawberry.field(description="The category's slug.")
    labels: list[str] = strawberry.field(default_factory=list, description="Labels (stored in lower case).")
    client_mutation_id: str | None = None


@strawberry.input(description="Changes to an FAQ: only the fields given change.")
class UpdateFaqInput:
    faq_id: strawberry.ID = strawberry.field(description="The FAQ to change.")
    slug: str | None = strawberry.field(default=None, description="A new slug.")
    title: str | None = strawberry.field(default=None, description="A new question.")
    body: str | None = strawberry.field(default=None, description=MARKDOWN_SOURCE)
    category: str | None = strawberry.field(default=None, description="Another category's slug.")
    labels: list[str] | None = strawberry.field(default=None, description="Replaces all labels when given.")
    client_mutation_id: str | None = None


@strawberry.input(description="The draft FAQ to publish.")
class PublishFaqInput:
    faq_id: strawberry.ID = strawberry.field(description="A DRAFT FAQ (INVALID_STATE when already published).")
    client_mutation_id: str | None = None


@strawberry.input(description="A reader opened an FAQ.")
class RecordFaqViewInput:
    slug: str = strawberry.field(description="The published FAQ's slug.")
    client_mutation_id: str | None = None


@strawberry.type
class FaqMutations:
    @strawberry.mutation(description=(
        "Count a view of a published FAQ, so that \"most popular\" (`faqs(orderBy: POPULAR)`) moves: once per "
        "visitor and FAQ per window of FAQ_VIEW_WINDOW_SECONDS (a day by default; fixed windows, UTC midnights), a "
        "visitor being the signed-in user, or the client address when anonymous. A repeat in the window changes "
        "nothing and is no error. Anyone may call it; it is charged like every mutation. An unknown or "
        "unpublished slug is a NOT_FOUND userError."))
    async def record_faq_view(self, info: Info, input: RecordFaqViewInput) -> FaqPayload:
        context = info.context
        viewer_id = context.viewer.pk if context.viewer is not None else None
        visitor = rules.visitor_key(viewer_id, client_address(context.request))
        window = context.settings.faq_view_window_seconds

        async def record() -> FaqPayload:
            return FaqPayload(faq=await rules.record_view(input.slug, visitor, window))

        payload = await perform(FaqPayload, input, record)
        if payload.faq is not None:
            await rules.view_pruner.after_view(window)
        return payload

    @strawberry.mutation(description='Answer "was this helpful?"; answering again changes your answer.',
                         permission_classes=[holding(Capability.RATE_FAQS)])
    async def rate_faq(self, info: Info, input: RateFaqInput) -> FaqPayload:
        async def rate(viewer: User) -> FaqPayload:
            return FaqPayload(faq=await rules.rate(viewer, pk_of(input.faq_id, "Faq"), input.helpful))

        return await mutate(info, FaqPayload, input, rate)

    @strawberry.mutation(description="Staff: write a new FAQ as a draft.", permission_classes=[holding(Capability.MANAGE_CONTENT)])
    async def create_faq(self, info: Info, input: CreateFaqInput) -> FaqPayload:
        async def create(viewer: User) -> FaqPayload:
            return FaqPayload(faq=await rules.save_faq(viewer, None, slug=input.slug, title=input.title, body=input.body,
                                                       category_slug=input.category, labels=input.labels))

        return await mutate(info, FaqPayload, input, create)

    @strawberry.mutation(description="Staff: change the fields given.", permission_classes=[holding(Capability.MANAGE_CONTENT)])
    async def update_faq(self, info: Info, input: UpdateFaqInput) -> FaqPayload:
        async def update(viewer: User) -> FaqPayload:
            return FaqPayload(faq=await rules.save_faq(
                viewer, pk_of(input.faq_id, "Faq"), slug=input.slug, title=input.title, body=input.body,
                category_slug=input.category, labels=input.labels))

        return await mutate(info, FaqPayload, input, update)

    @strawberry.mutation(description="Staff: publish a draft FAQ.", permission_classes=[holding(Capability.MANAGE_CONTENT)])
    async def publish_faq(self, info: Info, input: PublishFaqInput) -> FaqPayload:
        async def publish(viewer: User) -> FaqPayload:
            return FaqPayload(faq=await rules.publish(viewer, pk_of(input.faq_id, "Faq")))

        return await mutate(info, FaqPayload, input, publish)
