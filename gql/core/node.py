"""`node(id:)` and `nodes(ids:)`: fetch any object by its global ID."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Annotated

import strawberry
from tortoise.models import Model

from gql.core.context import Info
from gql.core.costs import sized_by
from gql.core.errors import BadUserInput
from gql.core.relay import Node, from_global_id, visible_rows
from models import lean


@strawberry.type
class NodeQueries:
    @strawberry.field(graphql_type=Node | None, description="Any object by its global ID; null when it does not exist.")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global ID (`id` of any Node).")]
    ) -> Model | None:
        return (await _load(info, [id]))[0]

    @strawberry.field(graphql_type=list[Node | None],
                      description="Objects by global ID, in the order asked; null for each missing one.",
                      metadata=sized_by("ids"))
    async def nodes(
        self, info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global IDs, at most 100 (the page size maximum).")],
    ) -> list[Model | None]:
        limit = info.context.settings.page_size_max
        if len(ids) > limit:
            raise BadUserInput(f"`ids` takes at most {limit} IDs, got {len(ids)}", argument="ids")
        return await _load(info, ids)


async def _load(info: Info, ids: Sequence[str]) -> list[Model | None]:
    # Decode everything first: one malformed ID refuses the whole call before any SQL runs.
    decoded = [from_global_id(global_id) for global_id in ids]
    wanted: dict[str, set[int]] = defaultdict(set)
    for typename, pk in decoded:
        wanted[typename].add(pk)
    found: dict[tuple[str, int], Model] = {}
    for typename, pks in wanted.items():
        # Every node model says who may see its rows (node_type refuses one that does not).
        for row in await lean.fetch(visible_rows(typename, info.context.viewer).filter(pk__in=pks)):
            found[(typename, row.pk)] = row
    return [found.get(key) for key in decoded]
