"""The Stars program's applications: members apply and withdraw; reviewers claim and decide."""

from __future__ import annotations

from datetime import date

import strawberry

from gql.core.context import Info
from gql.core.mutations import MutationPayload, mutate
from gql.core.refreshes import RefreshesViewer
from gql.core.relay import pk_of
from gql.permissions import holding
from gql.stars.applications import Decision, StarApplication
from models import stars as rules
from models.accounts import Capability, User


@strawberry.input(description="The Stars application form.")
class ApplyToStarsProgramInput:
    date_of_birth: date = strawberry.field(description="Stars must be 18 or older.")
    motivation: str = strawberry.field(description="Why you want to be a Star (50–2000 characters by default).")
    weekly_minutes: int = strawberry.field(description="Minutes a week you can spend in the program (at most 10080, a week).")
    languages: list[str] = strawberry.field(default_factory=list, description="Languages you can help in: at most 20, of at most 50 characters each.")
    client_mutation_id: str | None = None


@strawberry.input(description="The application to withdraw.")
class WithdrawStarApplicationInput:
    application_id: strawberry.ID = strawberry.field(description="Your own application, SUBMITTED, IN_REVIEW or NEEDS_INFO.")
    client_mutation_id: str | None = None


@strawberry.input(description="The application to claim.")
class ClaimStarApplicationInput:
    application_id: strawberry.ID = strawberry.field(description="A SUBMITTED application.")
    client_mutation_id: str | None = None


@strawberry.input(description="A reviewer's decision.")
class ReviewStarApplicationInput:
    application_id: strawberry.ID = strawberry.field(description="An application SUBMITTED or IN_REVIEW.")
    decision: rules.Decision = strawberry.field(graphql_type=Decision, description="Approve, reject or ask for more information.")
    note: str = strawberry.field(default="", description="Required to reject or ask for more information.")
    client_mutation_id: str | None = None


@strawberry.type(description="The result of a mutation on a Stars application.")
class StarApplicationPayload(MutationPayload, RefreshesViewer):
    application: rules.StarApplication | None = strawberry.field(default=None, graphql_type=StarApplication | None,
                                                                 description="The application as it is now; null on userErrors.")


def _form(input: ApplyToStarsProgramInput) -> rules.ApplicationForm:
    return rules.ApplicationForm(input.date_of_birth, input.motivation, input.weekly_minutes, tuple(input.languages))


@strawberry.type
class StarMutations:
    @strawberry.mutation(description="Apply to the Stars program, or resubmit after a request for information.",
                         permission_classes=[holding(Capability.APPLY_TO_STARS)])
    async def apply_to_stars_program(self, info: Info, input: ApplyToStarsProgramInput) -> StarApplicationPayload:
        async def apply(viewer: User) -> StarApplicationPayload:
            policy = info.context.settings.eligibility_policy
            return StarApplicationPayload(application=await rules.apply(viewer, policy, _form(input)))

        return await mutate(info, StarApplicationPayload, input, apply)

    @strawberry.mutation(description="Withdraw your open application.",
                         permission_classes=[holding(Capability.APPLY_TO_STARS)])
    async def withdraw_star_application(self, info: Info, input: WithdrawStarApplicationInput) -> StarApplicationPayload:
        async def withdraw(viewer: User) -> StarApplicationPayload:
            application_id = pk_of(input.application_id, "StarApplication")
            return StarApplicationPayload(application=await rules.withdraw(viewer, application_id))

        return await mutate(info, StarApplicationPayload, input, withdraw)

    @strawberry.mutation(description="Take a SUBMITTED application IN_REVIEW as its reviewer; of two reviewers claiming at once, one wins.",
                         permission_classes=[holding(Capability.REVIEW_STAR_APPLICATIONS)])
    async def claim_star_application(self, info: Info, input: ClaimStarApplicationInput) -> StarApplicationPayload:
        async def claim(viewer: User) -> StarApplicationPayload:
            application_id = pk_of(input.application_id, "StarApplication")
            return StarApplicationPayload(application=await rules.claim(viewer, application_id))

        return await mutate(info, StarApplicationPayload, input, claim)

    @strawberry.mutation(description="Approve (grants the STAR role), reject, or ask the applicant for more information.",
                         permission_classes=[holding(Capability.REVIEW_STAR_APPLICATIONS)])
    async def review_star_application(self, info: Info, input: ReviewStarApplicationInput) -> StarApplicationPayload:
        async def review(viewer: User) -> StarApplicationPayload:
            application_id = pk_of(input.application_id, "StarApplication")
            return StarApplicationPayload(
                application=await rules.review(viewer, application_id, input.decision, input.note))

        return await mutate(info, StarApplicationPayload, input, review)
