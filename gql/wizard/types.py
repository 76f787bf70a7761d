from __future__ import annotations

from typing import Any, Awaitable

import strawberry

from gql.context import Info
from gql.faqs.types import Faq
from gql.issues.types import Issue
from gql.posts.loaders import BoardByIdLoader
from gql.posts.types import Board
from gql.relay import Node, node_type
from gql.wizard.loaders import (
    FaqsByWizardOptionIdLoader,
    IssuesByWizardOptionIdLoader,
    OptionsByStepIdLoader,
    WizardStepByIdLoader,
)
from models import wizard as models


@strawberry.type(description="Where an answer leads: suggested FAQs, ongoing issues and a board to ask on.")
class WizardResolution:
    # The root object is the WizardOption that resolves.

    @strawberry.field
    def summary(self) -> str:
        return self.resolution_summary  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[Faq])
    def faqs(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[FaqsByWizardOptionIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[Issue])
    def issues(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[IssuesByWizardOptionIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=Board | None, description="The board to ask on when nothing helps.")
    def board(self, info: Info) -> Awaitable[Any] | None:
        board_id = self.resolution_board_id  # type: ignore[attr-defined]
        return info.context.loaders[BoardByIdLoader].get(board_id) if board_id else None


@strawberry.type(description="An answer to a wizard step: it leads to the next step or to a resolution.")
class WizardOption:
    label: str

    @strawberry.field(description="The step this answer leads to; null when it resolves.")
    def next(self, info: Info) -> WizardStep | None:
        next_id = self.next_step_id  # type: ignore[attr-defined]
        # A loader future: the executor awaits it.
        return info.context.loaders[WizardStepByIdLoader].get(next_id) if next_id else None  # type: ignore[return-value]

    @strawberry.field
    def resolution(self) -> WizardResolution | None:
        return self if self.resolution_summary else None  # type: ignore[attr-defined,return-value]


@node_type(models.WizardStep)
@strawberry.type(description="One question of the Help Wizard.")
class WizardStep(Node):
    step_number: int
    title: str
    prompt: str

    @strawberry.field(graphql_type=list[WizardOption])
    def options(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[OptionsByStepIdLoader].get(self.pk)  # type: ignore[attr-defined]


@strawberry.type(description="The Help Wizard: a few questions that lead to the right help.")
class HelpWizard:
    first_step: WizardStep

    @strawberry.field(graphql_type=list[WizardOption], description="The first step's options: what help is about.")
    def topics(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[OptionsByStepIdLoader].get(self.first_step.pk)  # type: ignore[attr-defined]
