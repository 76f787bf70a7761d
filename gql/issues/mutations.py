"""Ongoing issues: members mark themselves affected and follow them; staff open them and post updates,
which reach subscribers (gql/issues/subscriptions.py) once committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from gql.core.context import Info
from gql.core.markdown import MARKDOWN_SOURCE
from gql.core.mutations import MutationPayload, mutate
from gql.core.relay import pk_of
from gql.issues.types import Issue, IssueStatus, IssueUpdate, Platform
from gql.live import events
from gql.permissions import holding
from models import issues as rules
from models.accounts import Capability, User


@strawberry.input(description="The issue a member marks, unmarks, follows or unfollows.")
class IssueInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue; marking a RESOLVED one is refused (RESOLVED).")
    client_mutation_id: str | None = None


@strawberry.input(description="A new entry on an issue's timeline.")
class PostIssueUpdateInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue to update.")
    status: IssueStatus = strawberry.field(description=(
        "The issue's status from now on: the same or a later one (INVALID_TRANSITION), or any to reopen a RESOLVED one."))
    body: str = strawberry.field(description=MARKDOWN_SOURCE)
    client_mutation_id: str | None = None


@strawberry.input(description="A new ongoing issue.")
class CreateIssueInput:
    title: str = strawberry.field(description="A one-line summary, as plain text.")
    description: str = strawberry.field(description=MARKDOWN_SOURCE)
    platforms: list[Platform] = strawberry.field(description="Where it shows up.")
    client_mutation_id: str | None = None


@strawberry.type(description="The result of a mutation on an issue.")
class IssuePayload(MutationPayload):
    issue: rules.Issue | None = strawberry.field(default=None, graphql_type=Issue | None, description=(
        "The issue as it is now (`affectedCount`, `viewerIsAffected`, `viewerIsSubscribed`); null on userErrors."))


@strawberry.type(description="The result of `postIssueUpdate`.")
class PostIssueUpdatePayload(MutationPayload):
    issue: rules.Issue | None = strawberry.field(default=None, graphql_type=Issue | None,
                                                 description="The issue with its new status; null on userErrors.")
    update: rules.IssueUpdate | None = strawberry.field(default=None, graphql_type=IssueUpdate | None,
                                                        description="The new timeline entry; null on userErrors.")


# A member's change to their own row on an issue: (viewer, issue id) -> the issue as it is after.
MarkChange = Callable[[User, int], Awaitable[rules.Issue]]


async def _mark(info: Info, input: IssueInput, change: MarkChange) -> IssuePayload:
    async def mark(viewer: User) -> IssuePayload:
        return IssuePayload(issue=await change(viewer, pk_of(input.issue_id, "Issue")))

    return await mutate(info, IssuePayload, input, mark)


async def _count_affected(info: Info, input: IssueInput, change: MarkChange) -> IssuePayload:
    """A mark or unmark, then `issueUpdated` for its new `affectedCount`: published after the
    commit, and only when the count moved (a refused change, e.g. ALREADY_MARKED, has no issue)."""
    payload = await _mark(info, input, change)
    await events.issue_changed(info.context.broker, payload.issue, to_followers=False)
    return payload


_MARKS = holding(Capability.MARK_ISSUES)
_STAFF = holding(Capability.MANAGE_CONTENT)


@strawberry.type
class IssueMutations:
    @strawberry.mutation(description='"I have this too": count yourself as affected (once). '
                                     "Publishes `issueUpdated`.", permission_classes=[_MARKS])
    async def mark_issue_affected(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _count_affected(info, input, rules.mark_affected)

    @strawberry.mutation(description="Take back your affected mark. Publishes `issueUpdated`.", permission_classes=[_MARKS])
    async def unmark_issue_affected(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _count_affected(info, input, rules.unmark_affected)

    @strawberry.mutation(description="Hear about this issue's updates (issueUpdated subscription).",
                         permission_classes=[_MARKS])
    async def subscribe_to_issue(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _mark(info, input, rules.subscribe)

    @strawberry.mutation(description="Stop hearing about this issue.", permission_classes=[_MARKS])
    async def unsubscribe_from_issue(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _mark(info, input, rules.unsubscribe)

    @strawberry.mutation(description="Staff: add a timeline entry and move the issue's status.", permission_classes=[_STAFF])
    async def post_issue_update(self, info: Info, input: PostIssueUpdateInput) -> PostIssueUpdatePayload:
        async def post(viewer: User) -> PostIssueUpdatePayload:
            issue, update = await rules.post_update(viewer, pk_of(input.issue_id, "Issue"), input.status, input.body)
            return PostIssueUpdatePayload(issue=issue, update=update)

        payload = await mutate(info, PostIssueUpdatePayload, input, post)
        await events.issue_changed(info.context.broker, payload.issue)
        return payload

    @strawberry.mutation(description="Staff: open a new ongoing issue (status INVESTIGATING).", permission_classes=[_STAFF])
    async def create_issue(self, info: Info, input: CreateIssueInput) -> IssuePayload:
        async def create(viewer: User) -> IssuePayload:
            return IssuePayload(issue=await rules.create_issue(viewer, input.title, input.description, input.platforms))

        return await mutate(info, IssuePayload, input, create)
