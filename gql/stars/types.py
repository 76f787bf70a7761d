from __future__ import annotations

from typing import Any, Awaitable

import strawberry

from gql.context import Info
from gql.loaders import counted
from gql.posts.loaders import prepare_page
from gql.posts.types import Post
from gql.relay import Connection, connection
from gql.stars.loaders import EligibilityByProgramIdLoader, PerksByProgramIdLoader, ValuesByProgramIdLoader
from models import posts as post_models
from models import stars as stars_models


@strawberry.type(description="A condition to join the Stars program, as the program page states it.")
class EligibilityRequirement:
    code: str
    description: str


@strawberry.type(description="Something Stars get.")
class Perk:
    title: str


Icon = strawberry.enum(stars_models.ProgramIcon, name="Icon", description=(
    "The icon a program value is drawn with. The whole set, one per value on the program page: RESPECT "
    "(Respect), INCLUSION (Inclusion), SUPPORT (Support), TEAMWORK (Teamwork), FUN (Fun), RESPONSIBILITY "
    "(Responsibility). The API names the icon; the frontend ships the drawing of each, and a new value comes "
    "with a new icon here first."))


@strawberry.type(description="One of the program's values.")
class ProgramValue:
    name: str
    description: str
    icon: Icon = strawberry.field(description="Which of the documented set of icons (`Icon`) shows the value.")


@strawberry.type(description="The Stars program: who it is for, what it offers, what it stands for.")
class StarsProgram:
    name: str
    tagline: str
    description: str
    become_a_star: str = strawberry.field(description='The "Become a Star" text.')
    applications_open: bool

    @strawberry.field(graphql_type=list[EligibilityRequirement])
    def eligibility(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[EligibilityByProgramIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[Perk])
    def perks(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[PerksByProgramIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @strawberry.field(graphql_type=list[ProgramValue])
    def values(self, info: Info) -> Awaitable[Any]:
        return info.context.loaders[ValuesByProgramIdLoader].get(self.pk)  # type: ignore[attr-defined]

    @connection('"Meet the Stars": the Stars blog, newest first.', on_page=prepare_page)
    def blog_posts(self, info: Info) -> Connection[Post]:
        queryset = post_models.Post.visible_to(info.context.viewer).filter(board__slug=stars_models.STARS_BLOG)
        size = post_models.Post.visible_count(info.context.viewer, stars_models.STARS_BLOG)
        return counted(info, queryset.order_by("-published_at", "-id"), size)  # type: ignore[return-value]
