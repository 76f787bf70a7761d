"""Live issues over WebSocket: one issue as it changes, and every issue a member follows."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from gql.core.context import Info
from gql.core.errors import NotFound, Resolved
from gql.core.subscriptions import deliveries
from gql.issues.types import Issue
from gql.live.events import ISSUES_CHANNEL, issue_channel
from gql.permissions import SignedIn
from models.issues import Issue as IssueModel
from models.issues import IssueStatus, IssueSubscription


@strawberry.type
class IssueSubscriptions:
    @strawberry.subscription(description="The issue, each time it changes: staff post an update, or a member marks or "
                                         "unmarks it affected (`affectedCount`). Ends with NOT_FOUND for an unknown "
                                         "issue, RESOLVED for a resolved one.", graphql_type=Issue)
    async def issue_updated(
        self, info: Info, number: Annotated[int, strawberry.argument(description="The issue's number.")]
    ) -> AsyncGenerator[IssueModel, None]:
        issue = await IssueModel.get_or_none(number=number)
        if issue is None:
            raise NotFound(f"No issue number {number}", argument="number")
        if issue.status is IssueStatus.RESOLVED:
            # Nothing would ever arrive: a resolved issue takes no marks, and only a reopening updates it.
            raise Resolved(f"Issue {number} is resolved: it gets no updates or marks until staff reopen it",
                           argument="number")
        async for event in deliveries(info, issue_channel(number)):
            issue = await IssueModel.get_or_none(id=event["issueId"])
            if issue is not None:
                yield issue

    @strawberry.subscription(description="Any issue you follow (`subscribeToIssue`), each time staff post an "
                                         "update to it. Needs a sign-in.", permission_classes=[SignedIn],
                             graphql_type=Issue)
    async def subscribed_issue_updated(self, info: Info) -> AsyncGenerator[IssueModel, None]:
        async for event in deliveries(info, ISSUES_CHANNEL):
            # Followed at the time of the update, so that unfollowing takes effect at once.
            viewer = info.context.viewer
            if viewer is not None and await IssueSubscription.filter(user_id=viewer.pk, issue_id=event["issueId"]).exists():
                issue = await IssueModel.get_or_none(id=event["issueId"])
                if issue is not None:
                    yield issue
