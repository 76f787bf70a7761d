"""The Stars program page as GraphQL shows it: the program, its lists and its blog are rows."""

from __future__ import annotations

import strawberry

from gql.core.codes import RequirementCode
from gql.core.context import Info
from gql.core.documented import described_enum, embedded
from gql.core.loaders import Loaded, counted
from gql.core.relay import Connection, Listing, connection
from gql.posts.loaders import prepare_page
from gql.posts.types import Post
from gql.stars.loaders import EligibilityByProgramIdLoader, PerksByProgramIdLoader, ValuesByProgramIdLoader
from models import posts as post_models
from models import stars as stars_models


@strawberry.type(description=embedded("A condition to join the Stars program, as the program page states it."))
class EligibilityRequirement:
    code: str = strawberry.field(graphql_type=RequirementCode, description=(
        "Which requirement: the `code` of the viewer's matching EligibilityCheck, and of the userError when unmet."))
    description: str = strawberry.field(description="The requirement in words, as plain text.")


@strawberry.type(description=embedded("Something Stars get."))
class Perk:
    title: str = strawberry.field(description="The perk, in a few words.")


Icon = stars_models.ProgramIcon
described_enum(Icon, (
    "The icon a program value is drawn with. The whole set, one per value on the program page: RESPECT "
    "(Respect), INCLUSION (Inclusion), SUPPORT (Support), TEAMWORK (Teamwork), FUN (Fun), RESPONSIBILITY "
    "(Responsibility). The API names the icon; the frontend ships the drawing of each, and a new value comes "
    "with a new icon here first."), {
    "RESPECT": "For the value Respect.",
    "INCLUSION": "For the value Inclusion.",
    "SUPPORT": "For the value Support.",
    "TEAMWORK": "For the value Teamwork.",
    "FUN": "For the value Fun.",
    "RESPONSIBILITY": "For the value Responsibility.",
}, name="Icon")


@strawberry.type(description=embedded("One of the program's values."))
class ProgramValue:
    name: str = strawberry.field(description="The value's name.")
    description: str = strawberry.field(description="What it means for a Star, as plain text.")
    icon: Icon = strawberry.field(description="Which of the documented set of icons (`Icon`) shows the value.")


@strawberry.type(description=embedded("The Stars program: who it is for, what it offers, what it stands for (one "
                                      "program: a cache keeps it under `starsProgram`)."))
class StarsProgram:
    name: str = strawberry.field(description="The program's name.")
    tagline: str = strawberry.field(description="One line under the name.")
    description: str = strawberry.field(description="What the program is, as plain text.")
    become_a_star: str = strawberry.field(description='The "Become a Star" text.')
    applications_open: bool = strawberry.field(description=(
        "Whether `applyToStarsProgram` takes applications now; when false, APPLICATIONS_OPEN is an unmet requirement."))

    @strawberry.field(graphql_type=list[EligibilityRequirement], description="The requirements, in the page's order.")
    @staticmethod
    def eligibility(program: strawberry.Parent[stars_models.StarsProgram],
                    info: Info) -> Loaded[list[stars_models.EligibilityRequirement]]:
        return info.context.loaders[EligibilityByProgramIdLoader].get(program.pk)

    @strawberry.field(graphql_type=list[Perk], description="What Stars get, in the page's order.")
    @staticmethod
    def perks(program: strawberry.Parent[stars_models.StarsProgram], info: Info) -> Loaded[list[stars_models.Perk]]:
        return info.context.loaders[PerksByProgramIdLoader].get(program.pk)

    @strawberry.field(graphql_type=list[ProgramValue], description="What the program stands for, in the page's order.")
    @staticmethod
    def values(program: strawberry.Parent[stars_models.StarsProgram],
               info: Info) -> Loaded[list[stars_models.ProgramValue]]:
        return info.context.loaders[ValuesByProgramIdLoader].get(program.pk)

    @connection('"Meet the Stars": the Stars blog, newest first.', on_page=prepare_page, graphql_type=Connection[Post])
    @staticmethod
    def blog_posts(info: Info) -> Listing[post_models.Post]:
        queryset = post_models.Post.visible_to(info.context.viewer).filter(board__slug=stars_models.STARS_BLOG)
        size = post_models.Post.visible_count(info.context.viewer, stars_models.STARS_BLOG)
        return counted(info, queryset.order_by("-published_at", "-id"), size)
