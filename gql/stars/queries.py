"""The Stars program page and its members."""

from __future__ import annotations

import strawberry

from gql.accounts.loaders import prepare_user_page
from gql.accounts.types import User
from gql.core.context import Info
from gql.core.errors import NotFound
from gql.core.loaders import counted
from gql.core.relay import Connection, Listing, connection
from gql.stars.types import StarsProgram
from models import accounts, lean
from models import stars as models


@strawberry.type
class StarsQueries:
    @strawberry.field(graphql_type=StarsProgram, description="The Stars program page.")
    async def stars_program(self) -> models.StarsProgram:
        program = await lean.first(models.StarsProgram.all())
        if program is None:
            raise NotFound("The Stars program is not set up yet (run `community-api seed`)")
        return program

    @connection("All Stars program members, longest-serving first.", on_page=prepare_user_page,
                graphql_type=Connection[User])
    def stars(self, info: Info) -> Listing[accounts.User]:
        return counted(info, models.star_members(), models.star_members_count())
