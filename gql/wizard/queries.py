"""The Help Wizard, from its first step or any step by ID."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql.core.context import Info
from gql.core.errors import NotFound
from gql.core.relay import pk_of
from gql.wizard.loaders import WizardStepByIdLoader
from gql.wizard.types import HelpWizard, WizardStep
from models import lean
from models import wizard as models


@strawberry.type
class WizardQueries:
    @strawberry.field(description="The Help Wizard, from its first step.")
    async def help_wizard(self, info: Info) -> HelpWizard:
        first = await lean.first(models.WizardStep.filter(is_first=True))
        if first is None:
            raise NotFound("The Help Wizard has no first step yet")
        return HelpWizard(first_step=first)

    @strawberry.field(graphql_type=WizardStep | None, description=(
        "A wizard step by its ID; null when no step has it. Like every ID argument of ours, an ID of another "
        "type is NOT_FOUND and a malformed one BAD_USER_INPUT."))
    async def wizard_step(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A WizardStep's ID.")]
    ) -> models.WizardStep | None:
        pk = pk_of(id, "WizardStep")
        return await info.context.loaders[WizardStepByIdLoader].load(pk)
