"""Subscriptions over WebSocket (graphql-transport-ws): issue updates and the moderation queue.

Channels carry IDs; each event is read fresh from the database with fresh loaders, because a
subscription's context lives as long as its connection and cached rows would go stale.
"""

from __future__ import annotations

from typing import Any, AsyncGenerator

import strawberry

from gql.context import Info
from gql.errors import NotFound
from gql.events import ISSUES_CHANNEL, MODERATION_CHANNEL, issue_channel
from gql.issues.types import Issue
from gql.loaders import Loaders
from gql.moderation.types import ModerationItem
from gql.mutations import require_reader, require_viewer
from models.accounts import Capability
from models.issues import Issue as IssueModel
from models.issues import IssueSubscription
from models.posts import Post as PostModel

@strawberry.type
class Subscription:
    @strawberry.subscription(description="The issue, each time staff post an update to it.")
    async def issue_updated(self, info: Info, number: int) -> AsyncGenerator[Issue, None]:
        if not await IssueModel.filter(number=number).exists():
            raise NotFound(f"No issue number {number}", argument="number")
        async for event in info.context.broker.subscribe(issue_channel(number)):
            issue = await _fresh(info, IssueModel, event["issueId"])
            if issue is not None:
                yield issue

    @strawberry.subscription(description="Any issue you follow (`subscribeToIssue`), each time staff post an "
                                         "update to it. Needs a sign-in.")
    async def subscribed_issue_updated(self, info: Info) -> AsyncGenerator[Issue, None]:
        viewer = require_viewer(info)
        async for event in info.context.broker.subscribe(ISSUES_CHANNEL):
            # Followed at the time of the update, so that unfollowing takes effect at once.
            if await IssueSubscription.filter(user_id=viewer.pk, issue_id=event["issueId"]).exists():
                issue = await _fresh(info, IssueModel, event["issueId"])
                if issue is not None:
                    yield issue

    @strawberry.subscription(description="A post that entered, changed in or left the moderation queue (moderators).")
    async def moderation_queue_changed(self, info: Info) -> AsyncGenerator[ModerationItem, None]:
        require_reader(info, Capability.MODERATE)
        async for event in info.context.broker.subscribe(MODERATION_CHANNEL):
            post = await _fresh(info, PostModel, event["postId"])
            if post is not None:
                yield post


async def _fresh(info: Info, model: Any, pk: int) -> Any:
    """The event's row as it is now, with loaders of its own (see the module's docstring)."""
    info.context.loaders = Loaders()
    return await model.get_or_none(id=pk)
