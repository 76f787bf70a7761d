"""Batched reads of the Stars program's lists (requirements, perks, values)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from tortoise.models import Model

from gql.core.loaders import Loader
from models import lean
from models.stars import EligibilityRequirement, Perk, ProgramValue

M = TypeVar("M", bound=Model)


class _ProgramListLoader(Loader[int, list[M]]):
    """One of the program's lists by the program's id: a handful of rows, one query."""

    model: type[M]

    async def fetch(self, keys: list[int]) -> Mapping[int, list[M]]:
        rows = await lean.fetch(self.model.all())
        return {key: rows for key in keys}

    def missing(self) -> list[M]:
        return []


class EligibilityByProgramIdLoader(_ProgramListLoader[EligibilityRequirement]):
    model = EligibilityRequirement


class PerksByProgramIdLoader(_ProgramListLoader[Perk]):
    model = Perk


class ValuesByProgramIdLoader(_ProgramListLoader[ProgramValue]):
    model = ProgramValue
