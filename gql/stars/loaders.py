from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from gql.core.loaders import Loader
from models import lean
from models.stars import EligibilityRequirement, Perk, ProgramValue

# The program's lists are a handful of rows each: one query each, keyed by the program row.


class _ProgramListLoader(Loader):
    model: Any

    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        rows = await lean.fetch(self.model.all())
        return {key: rows for key in keys}

    def missing(self) -> Any:
        return []


class EligibilityByProgramIdLoader(_ProgramListLoader):
    model = EligibilityRequirement


class PerksByProgramIdLoader(_ProgramListLoader):
    model = Perk


class ValuesByProgramIdLoader(_ProgramListLoader):
    model = ProgramValue
