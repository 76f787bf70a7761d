from __future__ import annotations

import strawberry

from gql import events
from gql.context import Info
from gql.mutations import MutationPayload, perform, require_viewer
from gql.posts.types import Post, Reply
from gql.relay import pk_of
from models import posts as rules
from models.accounts import Capability


@strawberry.input
class CreatePostInput:
    board: str = strawberry.field(description="The board's slug.")
    title: str
    body: str
    tags: list[str] = strawberry.field(default_factory=list, description="Up to 5 tags.")
    client_mutation_id: str | None = None


@strawberry.input
class ReplyToPostInput:
    post_id: strawberry.ID
    body: str
    client_mutation_id: str | None = None


@strawberry.input
class KudoInput:
    post_id: strawberry.ID
    client_mutation_id: str | None = None


@strawberry.type
class PostPayload(MutationPayload):
    post: Post | None = None


@strawberry.type
class ReplyPayload(MutationPayload):
    reply: Reply | None = None
    post: Post | None = None


@strawberry.type
class PostMutations:
    @strawberry.mutation(description="Write a post. A member's first post waits for a moderator (status PENDING).")
    async def create_post(self, info: Info, input: CreatePostInput) -> PostPayload:
        viewer = require_viewer(info, Capability.POST)

        async def work() -> dict:
            return {"post": await rules.create_post(viewer, input.board, input.title, input.body, input.tags)}

        payload = await perform(PostPayload, input.client_mutation_id, work)
        if payload.post is not None and payload.post.status is rules.PostStatus.PENDING:  # type: ignore[attr-defined]
            await events.queue_changed(info.context, payload.post.pk)  # type: ignore[attr-defined]
        return payload

    @strawberry.mutation(description="Reply to a published post that is not locked.")
    async def reply_to_post(self, info: Info, input: ReplyToPostInput) -> ReplyPayload:
        viewer = require_viewer(info, Capability.POST)
        post_id = pk_of(input.post_id, "Post")

        async def work() -> dict:
            reply = await rules.reply_to(viewer, post_id, input.body)
            return {"reply": reply, "post": await rules.Post.get(id=post_id)}

        return await perform(ReplyPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Give a post kudos (once per member; not your own posts).")
    async def give_kudo(self, info: Info, input: KudoInput) -> PostPayload:
        viewer = require_viewer(info, Capability.GIVE_KUDOS)
        post_id = pk_of(input.post_id, "Post")

        async def work() -> dict:
            return {"post": await rules.give_kudo(viewer, post_id)}

        return await perform(PostPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Take back your kudos.")
    async def remove_kudo(self, info: Info, input: KudoInput) -> PostPayload:
        viewer = require_viewer(info, Capability.GIVE_KUDOS)
        post_id = pk_of(input.post_id, "Post")

        async def work() -> dict:
            return {"post": await rules.remove_kudo(viewer, post_id)}

        return await perform(PostPayload, input.client_mutation_id, work)
