"""Stars program applications: eligibility, the applicant's view and the reviewers' queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import Private

from gql.accounts.loaders import UserByIdLoader
from gql.accounts.types import User
from gql.core.codes import RequirementCode
from gql.core.context import Info
from gql.core.documented import described_enum, embedded
from gql.core.loaders import Loaded, Loader
from gql.core.relay import Connection, Listing, Node, connection, node_type
from gql.permissions import reading
from models import accounts
from models import stars as models
from models.accounts import Capability

ApplicationStatus = models.ApplicationStatus
described_enum(ApplicationStatus, "Where an application is in review.", {
    "SUBMITTED": "Sent, waiting for a reviewer to claim it.",
    "IN_REVIEW": "A reviewer has claimed it.",
    "APPROVED": "Accepted: the applicant is a Star (role STAR).",
    "REJECTED": "Declined, with a note; a new application waits out the cooldown (REJECTION_COOLDOWN).",
    "NEEDS_INFO": "The reviewer asks for more (see `reviewNote`): apply again to resubmit it.",
    "WITHDRAWN": "Taken back by the applicant.",
})
RequirementStatus = models.RequirementStatus
described_enum(RequirementStatus, (
    "MET or UNMET; CHECKED_ON_APPLY when the requirement depends on a form answer "
    "(dateOfBirth, weeklyMinutes, motivation) that was not given to `starEligibility`: "
    "it is checked when you apply, or now if you pass the answer."), {
    "MET": "The viewer meets it.",
    "UNMET": "The viewer does not meet it (`detail` says why); applying now would be refused with its code.",
    "CHECKED_ON_APPLY": "Depends on a form answer not given: checked when you apply.",
})
Decision = models.Decision
described_enum(Decision, "A reviewer's decision on an application.", {
    "APPROVE": "Accept: the applicant becomes a Star (role STAR).",
    "REJECT": "Decline, saying why in the note.",
    "REQUEST_INFO": "Ask the applicant for more, in the note (status NEEDS_INFO).",
})


class RequirementDescriptionByCodeLoader(Loader[str, str]):
    """Each requirement's words, as the program page states them, by its code."""

    async def fetch(self, keys: list[str]) -> Mapping[str, str]:
        rows = await models.EligibilityRequirement.filter(code__in=keys)
        return {row.code: row.description for row in rows}

    def missing(self) -> str:
        return ""


@node_type(models.StarApplication)
@strawberry.type(description="An application to join the Stars program; visible to its applicant and to reviewers.")
class StarApplication(Node):
    status: ApplicationStatus = strawberry.field(description="Where it is in review.")
    date_of_birth: date = strawberry.field(description="The applicant's date of birth, as given.")
    motivation: str = strawberry.field(description="Why they want to be a Star, as plain text.")
    weekly_minutes: int = strawberry.field(description="Minutes a week they can give.")
    languages: list[str] = strawberry.field(description="Languages they can help in, as given (distinct, stripped).")
    submitted_at: datetime = strawberry.field(description="When it was (last) submitted.")
    updated_at: datetime = strawberry.field(description="When its status last changed.")
    decided_at: datetime | None = strawberry.field(description="When a reviewer decided; null until then.")
    review_note: str | None = strawberry.field(description="The reviewer's note to the applicant.")

    @strawberry.field(graphql_type=User, description="Who applied.")
    @staticmethod
    def applicant(application: strawberry.Parent[models.StarApplication], info: Info) -> Loaded[accounts.User | None]:
        return info.context.loaders[UserByIdLoader].get(application.user_id)

    @strawberry.field(graphql_type=User | None, description="The reviewer who claimed it; null until claimed.")
    @staticmethod
    def reviewer(application: strawberry.Parent[models.StarApplication], info: Info) -> Loaded[accounts.User | None]:
        reviewer_id = application.reviewer_id
        return info.context.loaders[UserByIdLoader].get(reviewer_id) if reviewer_id else None


@strawberry.type(description=embedded("One Stars requirement, checked against the viewer."))
class EligibilityCheck:
    code: str = strawberry.field(graphql_type=RequirementCode, description=(
        "Which requirement (`starsProgram.eligibility` lists them); an unmet one is refused on apply with this code."))
    status: RequirementStatus = strawberry.field(description="MET, UNMET or CHECKED_ON_APPLY.")
    detail: str = strawberry.field(description="Why it is met or not, in words for the applicant.")
    _description: Private[str]

    @strawberry.field(description=(
        "False only when the requirement is known to be unmet (status UNMET); true when it is met "
        "or CHECKED_ON_APPLY, so `eligible` is true exactly when every requirement is `met`. "
        "Read `status` to tell a met requirement from one still to be checked."
    ))
    def met(self) -> bool:
        return self.status is not models.RequirementStatus.UNMET

    @strawberry.field(description="The requirement as the program page states it.")
    def description(self) -> str:
        return self._description


@strawberry.type(description=embedded("Whether the viewer may apply to the Stars program now, and why not."))
class StarEligibility:
    requirements: list[EligibilityCheck] = strawberry.field(description="Every requirement, checked, in a fixed order.")

    @strawberry.field(description=(
        "True when every requirement is `met` (none UNMET): the viewer may apply, provided the "
        "form answers still CHECKED_ON_APPLY pass when they do."
    ))
    def eligible(self) -> bool:
        return all(check.met() for check in self.requirements)


async def star_eligibility(
    info: Info,
    date_of_birth: Annotated[date | None, strawberry.argument(description="Checks AGE_18_PLUS now.")] = None,
    weekly_minutes: Annotated[int | None, strawberry.argument(description="Checks WEEKLY_MINUTES now.")] = None,
    motivation: Annotated[str | None, strawberry.argument(description="Checks MOTIVATION now.")] = None,
) -> StarEligibility | None:
    """Resolver of `viewer.starEligibility`: the answers given are checked as `applyToStarsProgram` would."""
    viewer = info.context.viewer
    if viewer is None:
        return None
    answers = models.FormAnswers(date_of_birth, weekly_minutes, motivation)
    checks = await models.check_eligibility(viewer, info.context.settings.eligibility_policy, answers)
    descriptions = await info.context.loaders[RequirementDescriptionByCodeLoader].load_many([c.code for c in checks])
    return StarEligibility(requirements=[
        EligibilityCheck(code=c.code, status=c.status, detail=c.detail, _description=text)
        for c, text in zip(checks, descriptions, strict=True)
    ])


@strawberry.type
class StarApplicationQueries:
    @connection("Applications to review, oldest first (reviewers only).", graphql_type=Connection[StarApplication],
                permission_classes=[reading(Capability.REVIEW_STAR_APPLICATIONS)])
    def star_applications(
        self,
        info: Info,
        status: Annotated[list[ApplicationStatus] | None, strawberry.argument(description=(
            "Only applications in these statuses; every status when omitted."))] = None,
    ) -> Listing[models.StarApplication]:
        queryset = models.StarApplication.all().order_by("submitted_at", "id")
        if status:
            queryset = queryset.filter(status__in=status)
        return queryset
