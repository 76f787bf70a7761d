"""`node(id:)` answers only what the viewer may see: IDs are guessable (base64 of `Type:pk`),
so every private or unpublished object must be as invisible through them as through its list."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest

from gql.core.relay import to_global_id
from models.accounts import AccessToken, Role, User
from models.base import utcnow
from models.audit import ModerationAction, TargetKind, record_action
from models.moderation import Report, ReportReason
from models.posts import PostStatus, Reply
from tests.factories import make_board, make_post, make_user, token_for
from tests.support import GraphQLClient

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
VIEWERS = ("anonymous", "member", "owner", "moderator")


async def _reply(status: PostStatus, post_status: PostStatus) -> tuple[Reply, User]:
    author = await make_user("vis_author")
    # The post's replyCount counts a published reply by itself (a trigger: models/counted.py).
    post = await make_post(author, await make_board("vis"), status=post_status)
    return await Reply.create(post=post, author=author, body="a reply", status=status, created_at=utcnow()), author


async def hidden_reply() -> tuple[Any, User]:
    return await _reply(PostStatus.HIDDEN, PostStatus.PUBLISHED)


async def reply_on_pending_post() -> tuple[Any, User]:
    return await _reply(PostStatus.PUBLISHED, PostStatus.PENDING)


async def published_reply() -> tuple[Any, User]:
    return await _reply(PostStatus.PUBLISHED, PostStatus.PUBLISHED)


async def report() -> tuple[Any, User]:
    reporter = await make_user("vis_reporter")
    post = await make_post(await make_user("vis_target"), await make_board("vis"))
    row = await Report.create(reporter=reporter, target_kind=TargetKind.POST, target_id=post.pk,
                              reason=ReportReason.ABUSE, note="private note", created_at=utcnow())
    return row, reporter


async def audit_entry() -> tuple[Any, User]:
    moderator = await make_user("vis_mod", Role.MODERATOR)
    return await record_action(moderator, TargetKind.USER, moderator.pk, "SUSPEND", "a reason"), moderator


async def access_token() -> tuple[Any, User]:
    owner = await make_user("vis_token_owner")
    await token_for(owner)
    return await AccessToken.filter(user_id=owner.pk).first(), owner


# (what, who sees it among VIEWERS); the owner is the author, reporter, actor or token holder.
CASES: list[tuple[Callable[[], Awaitable[tuple[Any, User]]], set[str]]] = [
    (published_reply, {"anonymous", "member", "owner", "moderator"}),
    (hidden_reply, {"owner", "moderator"}),
    (reply_on_pending_post, {"owner", "moderator"}),
    (report, {"owner", "moderator"}),
    (audit_entry, {"owner", "moderator"}),  # the owner here is the acting moderator
    (access_token, {"owner"}),  # not even moderators read other people's tokens
]


@pytest.mark.parametrize(("make", "allowed"), CASES, ids=[make.__name__ for make, _ in CASES])
async def test_node_shows_an_object_only_to_who_may_see_it(
    client: GraphQLClient, make: Callable[[], Awaitable[tuple[Any, User]]], allowed: set[str]
) -> None:
    row, owner = await make()
    gid = to_global_id(type(row).__name__, row.pk)
    tokens = {
        "anonymous": None,
        "member": await token_for(await make_user("vis_member")),
        "owner": await token_for(owner),
        "moderator": await token_for(await make_user("vis_moderator", Role.MODERATOR)),
    }
    seen = {viewer for viewer in VIEWERS if (await client.query(NODE, {"id": gid}, token=tokens[viewer]))["node"]}
    assert seen == allowed
    listed = await client.query("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [gid]})
    assert listed["nodes"] == ([{"id": gid}] if "anonymous" in allowed else [None])


@pytest.mark.parametrize("pk", [2**31, 2**40, 0, -1])
async def test_ids_outside_the_key_range_are_bad_input_not_500(client: GraphQLClient, pk: int) -> None:
    before = await ModerationAction.all().count()
    errors = await client.errors(NODE, {"id": to_global_id("Post", pk)})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    member = await token_for(await make_user("vis_range"))
    give = "mutation($id: ID!) { giveKudo(input: {postId: $id}) { userErrors { code } } }"
    errors = await client.errors(give, {"id": to_global_id("Post", pk)}, token=member)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await ModerationAction.all().count() == before
