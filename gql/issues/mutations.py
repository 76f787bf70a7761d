from __future__ import annotations

from typing import Awaitable, Callable

import strawberry

from gql import events
from gql.context import Info
from gql.issues.types import Issue, IssueStatus, IssueUpdate, Platform
from gql.mutations import MutationPayload, perform, require_viewer
from gql.relay import pk_of
from models import issues as rules
from models.accounts import Capability, User


@strawberry.input
class IssueInput:
    issue_id: strawberry.ID
    client_mutation_id: str | None = None


@strawberry.input
class PostIssueUpdateInput:
    issue_id: strawberry.ID
    status: IssueStatus
    body: str
    client_mutation_id: str | None = None


@strawberry.input
class CreateIssueInput:
    title: str
    description: str
    platforms: list[Platform]
    client_mutation_id: str | None = None


@strawberry.type
class IssuePayload(MutationPayload):
    issue: Issue | None = None


@strawberry.type
class PostIssueUpdatePayload(MutationPayload):
    issue: Issue | None = None
    update: IssueUpdate | None = None


async def _mark(
    info: Info, input: IssueInput, change: Callable[[User, int], Awaitable[rules.Issue]]
) -> IssuePayload:
    viewer = require_viewer(info, Capability.MARK_ISSUES)
    issue_id = pk_of(input.issue_id, "Issue")

    async def work() -> dict:
        return {"issue": await change(viewer, issue_id)}

    return await perform(IssuePayload, input.client_mutation_id, work)


@strawberry.type
class IssueMutations:
    @strawberry.mutation(description='"I have this too": count yourself as affected (once).')
    async def mark_issue_affected(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _mark(info, input, rules.mark_affected)

    @strawberry.mutation(description="Take back your affected mark.")
    async def unmark_issue_affected(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _mark(info, input, rules.unmark_affected)

    @strawberry.mutation(description="Hear about this issue's updates (issueUpdated subscription).")
    async def subscribe_to_issue(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _mark(info, input, rules.subscribe)

    @strawberry.mutation(description="Stop hearing about this issue.")
    async def unsubscribe_from_issue(self, info: Info, input: IssueInput) -> IssuePayload:
        return await _mark(info, input, rules.unsubscribe)

    @strawberry.mutation(description="Staff: add a timeline entry and move the issue's status.")
    async def post_issue_update(self, info: Info, input: PostIssueUpdateInput) -> PostIssueUpdatePayload:
        viewer = require_viewer(info, Capability.MANAGE_CONTENT)
        issue_id = pk_of(input.issue_id, "Issue")

        async def work() -> dict:
            issue, update = await rules.post_update(viewer, issue_id, input.status, input.body)  # type: ignore[arg-type]
            return {"issue": issue, "update": update}

        payload = await perform(PostIssueUpdatePayload, input.client_mutation_id, work)
        await events.issue_changed(info.context, payload.issue)
        return payload

    @strawberry.mutation(description="Staff: open a new ongoing issue (status INVESTIGATING).")
    async def create_issue(self, info: Info, input: CreateIssueInput) -> IssuePayload:
        viewer = require_viewer(info, Capability.MANAGE_CONTENT)

        async def work() -> dict:
            return {"issue": await rules.create_issue(viewer, input.title, input.description, input.platforms)}  # type: ignore[arg-type]

        return await perform(IssuePayload, input.client_mutation_id, work)
