"""The Help Wizard as GraphQL shows it: steps and options are their models' rows; a resolution is
the option row that resolves."""

from __future__ import annotations

import strawberry

from gql.core.context import Info
from gql.core.documented import embedded
from gql.core.loaders import Loaded
from gql.core.relay import Node, node_type
from gql.faqs.types import Faq
from gql.issues.types import Issue
from gql.posts.loaders import BoardByIdLoader
from gql.posts.types import Board
from gql.wizard.loaders import (
    FaqsByWizardOptionIdLoader,
    IssuesByWizardOptionIdLoader,
    OptionsByStepIdLoader,
    WizardStepByIdLoader,
)
from models import faqs, issues, posts
from models import wizard as models


@strawberry.type(description=embedded("Where an answer leads: suggested FAQs, ongoing issues and a board to ask on."))
class WizardResolution:
    # The root object is the WizardOption that resolves.

    @strawberry.field(description="What the answers so far point to, in a sentence.")
    @staticmethod
    def summary(option: strawberry.Parent[models.WizardOption]) -> str:
        # `resolution` answers only the options that have a summary.
        return option.resolution_summary or ""

    @strawberry.field(graphql_type=list[Faq], description="FAQs that may answer it, in the wizard's order.")
    @staticmethod
    def faqs(option: strawberry.Parent[models.WizardOption], info: Info) -> Loaded[list[faqs.Faq]]:
        return info.context.loaders[FaqsByWizardOptionIdLoader].get(option.pk)

    @strawberry.field(graphql_type=list[Issue], description="Known issues that may be the cause, in the wizard's order.")
    @staticmethod
    def issues(option: strawberry.Parent[models.WizardOption], info: Info) -> Loaded[list[issues.Issue]]:
        return info.context.loaders[IssuesByWizardOptionIdLoader].get(option.pk)

    @strawberry.field(graphql_type=Board | None, description="The board to ask on when nothing helps.")
    @staticmethod
    def board(option: strawberry.Parent[models.WizardOption], info: Info) -> Loaded[posts.Board | None]:
        board_id = option.resolution_board_id
        return info.context.loaders[BoardByIdLoader].get(board_id) if board_id else None


@strawberry.type(description=embedded("An answer to a wizard step: it leads to the next step or to a resolution."))
class WizardOption:
    label: str = strawberry.field(description="The answer, as the button shows it.")

    # Named as text: WizardStep comes below (its options are this type), Strawberry resolves it here.
    @strawberry.field(graphql_type="WizardStep | None", description="The step this answer leads to; null when it resolves.")
    @staticmethod
    def next(option: strawberry.Parent[models.WizardOption], info: Info) -> Loaded[models.WizardStep | None]:
        next_id = option.next_step_id
        return info.context.loaders[WizardStepByIdLoader].get(next_id) if next_id else None

    @strawberry.field(graphql_type=WizardResolution | None,
                      description="Where this answer ends the wizard; null when it leads to a `next` step.")
    @staticmethod
    def resolution(option: strawberry.Parent[models.WizardOption]) -> models.WizardOption | None:
        return option if option.resolution_summary else None


@node_type(models.WizardStep)
@strawberry.type(description="One question of the Help Wizard.")
class WizardStep(Node):
    step_number: int = strawberry.field(description="Its place in the wizard, from 1 (the first step).")
    title: str = strawberry.field(description="The step's heading.")
    prompt: str = strawberry.field(description="The question asked.")

    @strawberry.field(graphql_type=list[WizardOption], description="The possible answers, in the wizard's order.")
    @staticmethod
    def options(step: strawberry.Parent[models.WizardStep], info: Info) -> Loaded[list[models.WizardOption]]:
        return info.context.loaders[OptionsByStepIdLoader].get(step.pk)


@strawberry.type(description=embedded("The Help Wizard: a few questions that lead to the right help."))
class HelpWizard:
    first_step: models.WizardStep = strawberry.field(graphql_type=WizardStep, description="Where the wizard starts.")

    @strawberry.field(graphql_type=list[WizardOption], description="The first step's options: what help is about.")
    def topics(self, info: Info) -> Loaded[list[models.WizardOption]]:
        return info.context.loaders[OptionsByStepIdLoader].get(self.first_step.pk)
