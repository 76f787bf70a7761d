from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import strawberry

from gql.core.context import Info
from gql.core.documented import embedded
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
from models import wizard as models


@strawberry.type(description=embedded("Where an answer leads: suggested FAQs, ongoing issues and a board to ask on."))
class WizardResolution:
    # The root object is the WizardOption that resolves.

    @strawberry.field(description="What the answers so far point to, in a sentence.")
    def summary(self) -> str:
        return self.resolution_summary  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[Faq], description="FAQs that may answer it, in the wizard's order.")
    def faqs(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[FaqsByWizardOptionIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[Issue], description="Known issues that may be the cause, in the wizard's order.")
    def issues(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[IssuesByWizardOptionIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=Board | None, description="The board to ask on when nothing helps.")
    def board(self, info: Info) -> Awaitable[Any] | None:
        board_id = self.resolution_board_id  # type: ignore[attr-defined]
        return info.context.loaders[BoardByIdLoader].get(board_id) if board_id else None


@strawberry.type(description=embedded("An answer to a wizard step: it leads to the next step or to a resolution."))
class WizardOption:
    label: str = strawberry.field(description="The answer, as the button shows it.")

    @strawberry.field(description="The step this answer leads to; null when it resolves.")
    def next(self, info: Info) -> WizardStep | None:
        next_id = self.next_step_id  # type: ignore[attr-defined]
        # A loader future: the executor awaits it.
        return info.context.loaders[WizardStepByIdLoader].get(next_id) if next_id else None  # type: ignore[return-value]

    @strawberry.field(description="Where this answer ends the wizard; null when it leads to a `next` step.")
    def resolution(self) -> WizardResolution | None:
        return self if self.resolution_summary else None  # type: ignore[attr-defined,return-value]


@node_type(models.WizardStep)
@strawberry.type(description="One question of the Help Wizard.")
class WizardStep(Node):
    step_number: int = strawberry.field(description="Its place in the wizard, from 1 (the first step).")
    title: str = strawberry.field(description="The step's heading.")
    prompt: str = strawberry.field(description="The question asked.")

    @strawberry.field(graphql_type=list[WizardOption], description="The possible answers, in the wizard's order.")
    def options(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[OptionsByStepIdLoader].get(self.pk)  # type: ignore[attr-defined]


@strawberry.type(description=embedded("The Help Wizard: a few questions that lead to the right help."))
class HelpWizard:
    first_step: WizardStep = strawberry.field(description="Where the wizard starts.")

    @strawberry.field(graphql_type=list[WizardOption], description="The first step's options: what help is about.")
    def topics(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[OptionsByStepIdLoader].get(self.first_step.pk)  # type: ignore[attr-defined]
