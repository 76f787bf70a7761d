"""Ongoing issues, their status timeline, the platforms they hit and who they affect."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.accounts import User
from models.audit import TargetKind, record_action
from models.base import PubliclyVisible, UserMark, utcnow
from models.counted import Size, add_counted, remove_counted, tally_names
from models.errors import Problems, RuleViolation, violation


class IssueStatus(str, Enum):
    INVESTIGATING = "INVESTIGATING"
    IDENTIFIED = "IDENTIFIED"
    MONITORING = "MONITORING"
    RESOLVED = "RESOLVED"


OPEN_STATUSES = (IssueStatus.INVESTIGATING, IssueStatus.IDENTIFIED, IssueStatus.MONITORING)


def count_in(statuses: Iterable[IssueStatus]) -> Size:
    """How many issues are in these statuses, from their counters (each status once)."""
    return Size(tallies=tally_names("issues", dict.fromkeys(statuses)))

# Orderings clients may ask for; each ends in the id so pages are stable.
ISSUE_ORDERINGS: dict[str, tuple[str, ...]] = {
    "MOST_AFFECTED": ("-affected_count", "-id"),
    "RECENTLY_UPDATED": ("-updated_at", "-id"),
    "NEWEST": ("-created_at", "-id"),
}


class Platform(str, Enum):
    ANDROID = "ANDROID"
    IOS = "IOS"
    WINDOWS = "WINDOWS"
    MACOS = "MACOS"
    LINUX = "LINUX"
    WEB = "WEB"
    SMART_TV = "SMART_TV"
    SPEAKER = "SPEAKER"
    CAR = "CAR"
    GAME_CONSOLE = "GAME_CONSOLE"
    WEARABLE = "WEARABLE"


class Issue(Model, PubliclyVisible):
    id = fields.IntField(primary_key=True)
    number = fields.IntField(unique=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    status = fields.CharEnumField(IssueStatus, max_length=16, default=IssueStatus.INVESTIGATING)
    # Kept in step with IssueAffected rows by an atomic UPDATE in the same transaction.
    affected_count = fields.IntField(default=0)
    # Kept by triggers (models/counted.py): entries on the issue's timeline.
    update_count = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(db_index=True)
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="issues_created", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None  # the column's attribute, added by Tortoise

    class Meta:
        table = "issues"
        ordering = ["-affected_count", "-id"]
        indexes = [("status", "affected_count"), ("status", "updated_at")]


class IssuePlatform(Model):
    id = fields.IntField(primary_key=True)
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "models.Issue", related_name="platform_rows", on_delete=fields.CASCADE
    )
    issue_id: int
    platform = fields.CharEnumField(Platform, max_length=16, db_index=True)

    class Meta:
        table = "issue_platforms"
        unique_together = [("issue", "platform")]
        ordering = ["platform"]


class IssueUpdate(Model, PubliclyVisible):
    # One entry on an issue's timeline: the status it moved to and what staff said.

    id = fields.IntField(primary_key=True)
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "models.Issue", related_name="updates", on_delete=fields.CASCADE
    )
    issue_id: int
    status = fields.CharEnumField(IssueStatus, max_length=16)
    body = fields.TextField()
    posted_at = fields.DatetimeField()
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="issue_updates", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None

    class Meta:
        table = "issue_updates"
        ordering = ["-posted_at", "-id"]
        indexes = [("issue_id", "posted_at")]


class IssueAffected(UserMark):
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "models.Issue", related_name="affected_marks", on_delete=fields.CASCADE
    )
    issue_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="affected_marks", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "issue_affected"
        unique_together = [("issue", "user")]


class IssueSubscription(UserMark):
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "models.Issue", related_name="subscriptions", on_delete=fields.CASCADE
    )
    issue_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="issue_subscriptions", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "issue_subscriptions"
        unique_together = [("issue", "user")]
        # `viewer { subscribedIssues }` and `subscribedIssueUpdated` look up by follower.
        indexes = [("user_id", "issue_id")]


# --- Rules for members' marks and staff updates -------------------------------------------------

# Staff move an issue forward through these; RESOLVED may be reopened to INVESTIGATING.
_ORDER = {status: position for position, status in enumerate(IssueStatus)}
UPDATE_BODY_MAX = 5000


async def mark_affected(user: User, issue_id: int) -> Issue:
    """"I have this too": one mark per user, the counter moves in the same transaction."""
    issue = await _open_issue(issue_id)
    await add_counted(
        IssueAffected(issue_id=issue.pk, user_id=user.pk), Issue.filter(id=issue.pk), "affected_count",
        duplicate=violation("You already marked this issue", "ALREADY_MARKED", "issueId"),
    )
    return await Issue.get(id=issue.pk)


async def unmark_affected(user: User, issue_id: int) -> Issue:
    await remove_counted(
        IssueAffected.filter(issue_id=issue_id, user_id=user.pk), Issue.filter(id=issue_id), "affected_count",
        missing=_no_such_issue(),
        absent=violation("You had not marked this issue", "NOT_MARKED", "issueId"),
    )
    return await Issue.get(id=issue_id)


async def subscribe(user: User, issue_id: int) -> Issue:
    issue = await _existing_issue(issue_id)
    await IssueSubscription.get_or_create(issue_id=issue.pk, user_id=user.pk)
    return issue


async def unsubscribe(user: User, issue_id: int) -> Issue:
    issue = await _existing_issue(issue_id)
    await IssueSubscription.filter(issue_id=issue.pk, user_id=user.pk).delete()
    return issue


async def post_update(author: User, issue_id: int, status: IssueStatus, body: str) -> tuple[Issue, IssueUpdate]:
    """Add a timeline entry and move the issue to `status` in one step."""
    problems = Problems()
    body = problems.check_markdown(body, "body", maximum=UPDATE_BODY_MAX, label="The update")
    problems.raise_if_any()
    issue = await _existing_issue(issue_id)
    reopening = issue.status is IssueStatus.RESOLVED and status is IssueStatus.INVESTIGATING
    if _ORDER[status] < _ORDER[issue.status] and not reopening:
        raise violation(
            f"An issue moves forward: it is {issue.status.value}, it cannot go back to {status.value}",
            "INVALID_TRANSITION", "status",
        )
    now = utcnow()
    # Guard against a concurrent update having moved the issue meanwhile.
    if not await Issue.filter(id=issue.pk, status=issue.status).update(status=status, updated_at=now):
        raise violation("The issue changed meanwhile; reload it", "CONFLICT", "issueId")
    update = await IssueUpdate.create(issue_id=issue.pk, status=status, body=body, posted_at=now, author_id=author.pk)
    await record_action(author, TargetKind.ISSUE, issue.pk, f"UPDATE_{status.value}", body[:200])
    return await Issue.get(id=issue.pk), update


async def create_issue(author: User, title: str, description: str, platforms: list[Platform]) -> Issue:
    problems = Problems()
    title = problems.check_text(title, "title", minimum=5, maximum=200, label="The title")
    description = problems.check_markdown(description, "description", maximum=10_000, label="The description")
    if not platforms:
        problems.add("Name at least one platform", "BLANK", "platforms")
    problems.raise_if_any()
    now = utcnow()
    for _attempt in range(3):
        latest = await Issue.all().order_by("-number").first()
        number = (latest.number if latest else 1000) + 1
        try:
            async with in_transaction():
                issue = await Issue.create(number=number, title=title, description=description, author_id=author.pk,
                                           status=IssueStatus.INVESTIGATING, created_at=now, updated_at=now)
        except IntegrityError:
            continue  # another issue took the number: take the next one
        await IssuePlatform.bulk_create([IssuePlatform(issue_id=issue.pk, platform=p) for p in dict.fromkeys(platforms)])
        await IssueUpdate.create(issue_id=issue.pk, status=issue.status, body=description, posted_at=now, author_id=author.pk)
        await record_action(author, TargetKind.ISSUE, issue.pk, "CREATE", title)
        return issue
    raise violation("Could not number the issue; try again", "CONFLICT")


async def _existing_issue(issue_id: int) -> Issue:
    issue = await Issue.get_or_none(id=issue_id)
    if issue is None:
        raise _no_such_issue()
    return issue


def _no_such_issue() -> RuleViolation:
    return violation("No issue has that ID", "NOT_FOUND", "issueId")


async def _open_issue(issue_id: int) -> Issue:
    issue = await _existing_issue(issue_id)
    if issue.status is IssueStatus.RESOLVED:
        raise violation("This issue is resolved", "RESOLVED", "issueId")
    return issue
