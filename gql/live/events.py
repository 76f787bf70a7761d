"""Subscription channels and what mutations publish on them, after their transaction commits."""

from __future__ import annotations

from gql.live.broker import Broker
from models.issues import Issue

MODERATION_CHANNEL = "moderation-queue"
# A user's token, suspension or role changed: open WebSockets of theirs re-admit their operations.
ACCOUNTS_CHANNEL = "accounts"
# Every issue update, for followers' `subscribedIssueUpdated` (each picks the issues it follows).
ISSUES_CHANNEL = "issues"


def issue_channel(number: int) -> str:
    return f"issue:{number}"


async def issue_changed(broker: Broker, issue: Issue | None, *, to_followers: bool = True) -> None:
    """The issue changed: its `issueUpdated` subscribers hear it, and, unless `to_followers` is
    false, the followers' `subscribedIssueUpdated` too (staff updates notify followers; members'
    affected marks only move the counter live on the issue's own channel)."""
    if issue is not None:
        event = {"issueId": issue.pk}
        await broker.publish(issue_channel(issue.number), event)
        if to_followers:
            await broker.publish(ISSUES_CHANNEL, event)


async def account_changed(broker: Broker, user_id: int | None) -> None:
    if user_id is not None:
        await broker.publish(ACCOUNTS_CHANNEL, {"userId": user_id})


async def queue_changed(broker: Broker, post_id: int | None) -> None:
    if post_id is not None:
        await broker.publish(MODERATION_CHANNEL, {"postId": post_id})
