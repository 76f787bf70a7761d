"""`node(id:)` and `nodes(ids:)`: fetch any object by its global ID."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import strawberry

from gql.core.context import Info
from gql.core.costs import sized_by
from gql.core.errors import BadUserInput
from gql.core.relay import Node, from_global_id, model_for
from models import lean


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by its global ID; null when it does not exist.")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global ID (`id` of any Node).")]
    ) -> Node | None:
        return (await _load(info, [id]))[0]

    @strawberry.field(description="Objects by global ID, in the order asked; null for each missing one.",
                      metadata=sized_by("ids"))
    async def nodes(
        self, info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global IDs, at most 100 (the page size maximum).")],
    ) -> list[Node | None]:
        limit = info.context.settings.page_size_max
        if len(ids) > limit:
            raise BadUserInput(f"`ids` takes at most {limit} IDs, got {len(ids)}", argument="ids")
        return await _load(info, ids)


async def _load(info: Info, ids: list[str]) -> list[object | None]:
    # Decode everything first: one malformed ID refuses the whole call before any SQL runs.
    decoded = [from_global_id(global_id) for global_id in ids]
    wanted: dict[str, set[int]] = defaultdict(set)
    for typename, pk in decoded:
        wanted[typename].add(pk)
    found: dict[tuple[str, int], object] = {}
    for typename, pks in wanted.items():
        # Every node model says who may see its rows (node_type refuses one that does not).
        queryset = model_for(typename).visible_to(info.context.viewer)  # type: ignore[attr-defined]
        for row in await lean.fetch(queryset.filter(pk__in=pks)):
            found[(typename, row.pk)] = row
    return [found.get(key) for key in decoded]
