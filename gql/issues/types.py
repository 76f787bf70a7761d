"""Issues and their timelines as GraphQL shows them; each type's root value is its model's row."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gql.core.context import Info
from gql.core.documented import described_enum
from gql.core.loaders import KeyedRows, Loaded, MaybeAwaitable, rows_of, then, viewer_row
from gql.core.markdown import html_of
from gql.core.relay import Connection, Node, connection, node_type
from gql.issues.loaders import (
    PlatformsByIssueIdLoader,
    UpdatesByIssueIdLoader,
    ViewerAffectedMarkByIssueIdLoader,
    ViewerSubscriptionByIssueIdLoader,
)
from models import issues as models

IssueStatus = models.IssueStatus
described_enum(IssueStatus, (
    "Where an issue stands: INVESTIGATING -> IDENTIFIED -> MONITORING -> RESOLVED, forward only (staff may "
    "reopen a RESOLVED one)."), {
    "INVESTIGATING": "Reported; the team is looking for the cause.",
    "IDENTIFIED": "The cause is known; a fix is on its way.",
    "MONITORING": "A fix is out; the team watches that it holds.",
    "RESOLVED": "Fixed: no marks or updates until staff reopen it; not an ongoing issue.",
})
Platform = models.Platform
described_enum(Platform, "Where an issue shows up.", {
    "ANDROID": "Android phones and tablets.",
    "IOS": "iPhone and iPad.",
    "WINDOWS": "The Windows desktop app.",
    "MACOS": "The macOS desktop app.",
    "LINUX": "The Linux desktop app.",
    "WEB": "The web player in a browser.",
    "SMART_TV": "Smart TVs and streaming boxes.",
    "SPEAKER": "Smart and connected speakers.",
    "CAR": "Car systems.",
    "GAME_CONSOLE": "Game consoles.",
    "WEARABLE": "Watches and other wearables.",
})


class IssueOrder(Enum):
    """The orders of issue lists (models/issues.py ISSUE_ORDERINGS by value)."""

    MOST_AFFECTED = "MOST_AFFECTED"
    RECENTLY_UPDATED = "RECENTLY_UPDATED"
    NEWEST = "NEWEST"


described_enum(IssueOrder, "How to order issues; ties go to the newer issue.", {
    "MOST_AFFECTED": 'Most "I have this too" marks first (`affectedCount`).',
    "RECENTLY_UPDATED": "Most recently updated first (`updatedAt`).",
    "NEWEST": "Most recently opened first (`createdAt`).",
}, name="IssueOrder")


@node_type(models.IssueUpdate)
@strawberry.type(description="One entry on an issue's timeline.")
class IssueUpdate(Node):
    status: IssueStatus = strawberry.field(description="The issue's status this entry moved it to (or kept).")
    body: str = strawberry.field(description="What staff said, as Markdown (CommonMark) source.")
    body_html = html_of("body", "What staff said")
    posted_at: datetime = strawberry.field(description="When staff posted it.")


@node_type(models.Issue)
@strawberry.type(description="A known problem the team is working on.")
class Issue(Node):
    number: int = strawberry.field(description="The issue's public number (`issue(number:)`, `issueUpdated(number:)`).")
    title: str = strawberry.field(description="A one-line summary, as plain text.")
    description: str = strawberry.field(description="The problem, as Markdown (CommonMark) source.")
    description_html = html_of("description", "The description")
    status: IssueStatus = strawberry.field(description="Where the issue stands.")
    affected_count: int = strawberry.field(description='Members who said "I have this too".')
    created_at: datetime = strawberry.field(description="When it was opened.")
    updated_at: datetime = strawberry.field(description="When staff last posted an update (or it was opened).")

    @strawberry.field(graphql_type=list[Platform], description="Where it shows up, in alphabetical order.")
    @staticmethod
    def platforms(issue: strawberry.Parent[models.Issue], info: Info) -> Loaded[list[models.Platform]]:
        return info.context.loaders[PlatformsByIssueIdLoader].get(issue.pk)

    @connection("The timeline, newest first.", graphql_type=Connection[IssueUpdate])
    @staticmethod
    def updates(issue: strawberry.Parent[models.Issue], info: Info) -> KeyedRows[models.IssueUpdate]:
        # This page of the timeline; when a page of issues filled the loader, it needs no wait.
        return rows_of(info, UpdatesByIssueIdLoader, issue.pk)

    @strawberry.field(graphql_type=IssueUpdate | None,
                      description="The newest timeline entry, as `updates(first: 1)` shows it (null when none): a "
                                  "field without arguments, so a subscription selecting it refreshes every card.")
    @staticmethod
    def latest_update(issue: strawberry.Parent[models.Issue], info: Info) -> MaybeAwaitable[models.IssueUpdate | None]:
        # Read as `updates(first: 1)` reads it: a list of issues asks one statement for all, none
        # more when it selects both.
        window = rows_of(info, UpdatesByIssueIdLoader, issue.pk).head(1)
        return then(window, lambda rows: rows[0] if rows else None)

    @strawberry.field(graphql_type=bool, description='Whether you said "I have this too" (false when anonymous).')
    @staticmethod
    def viewer_is_affected(issue: strawberry.Parent[models.Issue], info: Info) -> Loaded[bool]:
        return viewer_row(info, ViewerAffectedMarkByIssueIdLoader, issue.pk)

    @strawberry.field(graphql_type=bool, description="Whether you follow this issue's updates (false when anonymous).")
    @staticmethod
    def viewer_is_subscribed(issue: strawberry.Parent[models.Issue], info: Info) -> Loaded[bool]:
        return viewer_row(info, ViewerSubscriptionByIssueIdLoader, issue.pk)
