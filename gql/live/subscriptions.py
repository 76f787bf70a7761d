"""Subscriptions over WebSocket (graphql-transport-ws): issue updates and the moderation queue.

Channels carry IDs; each event is read fresh from the database with fresh loaders, because a
subscription's context lives as long as its connection and cached rows would go stale.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated, Any

import strawberry

from gql.authentication import refresh
from gql.core.context import Info
from gql.core.errors import NotFound, Resolved, Unauthenticated
from gql.core.loaders import Loaders
from gql.core.mutations import require_reader, require_viewer
from gql.issues.types import Issue
from gql.live.events import ISSUES_CHANNEL, MODERATION_CHANNEL, issue_channel
from gql.moderation.types import ModerationItem
from models.accounts import Capability
from models.issues import Issue as IssueModel
from models.issues import IssueStatus, IssueSubscription
from models.posts import Post as PostModel

Authorized = Callable[[Info], object]


async def _deliveries(info: Info, channel: str, authorize: Authorized | None = None) -> AsyncIterator[dict[str, Any]]:
    """The channel's events for as long as the viewer may receive them: before each one the token
    is read again (revoked: the subscription ends UNAUTHENTICATED) and `authorize` runs again with
    the viewer's rights of now (lost: it ends FORBIDDEN)."""
    context = info.context
    if authorize is not None:
        authorize(info)
    async for event in context.broker.subscribe(channel):
        # Fresh loaders per event: this context lives as long as its connection.
        context.loaders = Loaders()
        if context.token is not None:
            found = await refresh(context.token)
            if found is None:
                raise Unauthenticated("Your token was revoked: sign in again")
            context.viewer, context.token = found
        if authorize is not None:
            authorize(info)
        yield event


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws): each event is the changed object.")
class Subscription:
    @strawberry.subscription(description="The issue, each time it changes: staff post an update, or a member marks or "
                                         "unmarks it affected (`affectedCount`). Ends with NOT_FOUND for an unknown "
                                         "issue, RESOLVED for a resolved one.")
    async def issue_updated(
        self, info: Info, number: Annotated[int, strawberry.argument(description="The issue's number.")]
    ) -> AsyncGenerator[Issue, None]:
        issue = await IssueModel.get_or_none(number=number)
        if issue is None:
            raise NotFound(f"No issue number {number}", argument="number")
        if issue.status is IssueStatus.RESOLVED:
            # Nothing would ever arrive: a resolved issue takes no marks, and only a reopening updates it.
            raise Resolved(f"Issue {number} is resolved: it gets no updates or marks until staff reopen it",
                           argument="number")
        async for event in _deliveries(info, issue_channel(number)):
            issue = await IssueModel.get_or_none(id=event["issueId"])
            if issue is not None:
                yield issue

    @strawberry.subscription(description="Any issue you follow (`subscribeToIssue`), each time staff post an "
                                         "update to it. Needs a sign-in.")
    async def subscribed_issue_updated(self, info: Info) -> AsyncGenerator[Issue, None]:
        async for event in _deliveries(info, ISSUES_CHANNEL, require_viewer):
            # Followed at the time of the update, so that unfollowing takes effect at once.
            viewer = info.context.viewer
            if viewer is not None and await IssueSubscription.filter(user_id=viewer.pk, issue_id=event["issueId"]).exists():
                issue = await IssueModel.get_or_none(id=event["issueId"])
                if issue is not None:
                    yield issue

    @strawberry.subscription(description="A post that entered, changed in or left the moderation queue (moderators).")
    async def moderation_queue_changed(self, info: Info) -> AsyncGenerator[ModerationItem, None]:
        async for event in _deliveries(info, MODERATION_CHANNEL, lambda info: require_reader(info, Capability.MODERATE)):
            post = await PostModel.get_or_none(id=event["postId"])
            if post is not None:
                yield post
