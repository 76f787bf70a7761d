"""Posts: members write posts and replies and give kudos; staff link Stars-blog posts to their Star."""

from __future__ import annotations

import strawberry

from gql.core.context import Info
from gql.core.markdown import MARKDOWN_SOURCE
from gql.core.mutations import MutationPayload, mutate
from gql.core.relay import pk_of
from gql.live import events
from gql.permissions import holding
from gql.posts.types import Post, Reply
from models import posts as rules
from models import stars
from models.accounts import Capability, User


@strawberry.input(description="A new post.")
class CreatePostInput:
    board: str = strawberry.field(description="The board's slug.")
    title: str = strawberry.field(description="The title, as plain text.")
    body: str = strawberry.field(description=MARKDOWN_SOURCE)
    tags: list[str] = strawberry.field(default_factory=list, description="Up to 5 tags.")
    client_mutation_id: str | None = None


@strawberry.input(description="A reply to a post.")
class ReplyToPostInput:
    post_id: strawberry.ID = strawberry.field(description="The published, unlocked post to reply to.")
    body: str = strawberry.field(description=MARKDOWN_SOURCE)
    client_mutation_id: str | None = None


@strawberry.input(description="The post to give (or take back) kudos.")
class KudoInput:
    post_id: strawberry.ID = strawberry.field(description="A published post.")
    client_mutation_id: str | None = None


@strawberry.input(description="Link a Stars-blog post to the Star it introduces.")
class SetPostFeaturedStarInput:
    post_id: strawberry.ID = strawberry.field(description="A post on the Stars blog.")
    star_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Star (a User with a Star profile); null or omitted unlinks.")
    client_mutation_id: str | None = None


@strawberry.type(description="The result of a mutation on a post.")
class PostPayload(MutationPayload):
    post: rules.Post | None = strawberry.field(default=None, graphql_type=Post | None,
                                               description="The post as it is now; null on userErrors.")


@strawberry.type(description="The result of `replyToPost`.")
class ReplyPayload(MutationPayload):
    reply: rules.Reply | None = strawberry.field(default=None, graphql_type=Reply | None,
                                                 description="The new reply; null on userErrors.")
    post: rules.Post | None = strawberry.field(default=None, graphql_type=Post | None, description=(
        "The post replied to, as it is now (its `replyCount` moved); null on userErrors."))


@strawberry.type
class PostMutations:
    @strawberry.mutation(description="Write a post. A member's first post waits for a moderator (status PENDING).",
                         permission_classes=[holding(Capability.POST)])
    async def create_post(self, info: Info, input: CreatePostInput) -> PostPayload:
        async def create(viewer: User) -> PostPayload:
            return PostPayload(post=await rules.create_post(viewer, input.board, input.title, input.body, input.tags))

        payload = await mutate(info, PostPayload, input, create)
        if payload.post is not None and payload.post.status is rules.PostStatus.PENDING:
            await events.queue_changed(info.context.broker, payload.post.pk)
        return payload

    @strawberry.mutation(description="Reply to a published post that is not locked.",
                         permission_classes=[holding(Capability.POST)])
    async def reply_to_post(self, info: Info, input: ReplyToPostInput) -> ReplyPayload:
        async def reply(viewer: User) -> ReplyPayload:
            post_id = pk_of(input.post_id, "Post")
            added = await rules.reply_to(viewer, post_id, input.body)
            return ReplyPayload(reply=added, post=await rules.Post.get(id=post_id))

        return await mutate(info, ReplyPayload, input, reply)

    @strawberry.mutation(description="Give a post kudos (once per member; not your own posts).",
                         permission_classes=[holding(Capability.GIVE_KUDOS)])
    async def give_kudo(self, info: Info, input: KudoInput) -> PostPayload:
        async def give(viewer: User) -> PostPayload:
            return PostPayload(post=await rules.give_kudo(viewer, pk_of(input.post_id, "Post")))

        return await mutate(info, PostPayload, input, give)

    @strawberry.mutation(description="Take back your kudos.", permission_classes=[holding(Capability.GIVE_KUDOS)])
    async def remove_kudo(self, info: Info, input: KudoInput) -> PostPayload:
        async def remove(viewer: User) -> PostPayload:
            return PostPayload(post=await rules.remove_kudo(viewer, pk_of(input.post_id, "Post")))

        return await mutate(info, PostPayload, input, remove)

    @strawberry.mutation(description=(
        "Staff: say which Star a \"Meet the Stars\" post introduces (`Post.featuredStar`), or none. The post must be "
        "on the Stars blog (NOT_STARS_BLOG), the user a Star (NOT_A_STAR)."), permission_classes=[holding(Capability.MANAGE_CONTENT)])
    async def set_post_featured_star(self, info: Info, input: SetPostFeaturedStarInput) -> PostPayload:
        async def feature(viewer: User) -> PostPayload:
            star_id = pk_of(input.star_id, "User") if input.star_id is not None else None
            return PostPayload(post=await stars.feature_star(viewer, pk_of(input.post_id, "Post"), star_id))

        return await mutate(info, PostPayload, input, feature)
