"""Ongoing issues, their status timeline, the platforms they hit and who they affect."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class IssueStatus(str, Enum):
    INVESTIGATING = "INVESTIGATING"
    IDENTIFIED = "IDENTIFIED"
    MONITORING = "MONITORING"
    RESOLVED = "RESOLVED"


OPEN_STATUSES = (IssueStatus.INVESTIGATING, IssueStatus.IDENTIFIED, IssueStatus.MONITORING)


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


class Issue(Model):
    id = fields.IntField(primary_key=True)
    number = fields.IntField(unique=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    status = fields.CharEnumField(IssueStatus, max_length=16, default=IssueStatus.INVESTIGATING)
    # Kept in step with IssueAffected rows by an atomic UPDATE in the same transaction.
    affected_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(db_index=True)
    author = fields.ForeignKeyField(
        "models.User", related_name="issues_created", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "issues"
        ordering = ["-affected_count", "-id"]
        indexes = [("status", "affected_count"), ("status", "updated_at")]


class IssuePlatform(Model):
    id = fields.IntField(primary_key=True)
    issue = fields.ForeignKeyField("models.Issue", related_name="platform_rows", on_delete=fields.CASCADE)
    platform = fields.CharEnumField(Platform, max_length=16, db_index=True)

    class Meta:
        table = "issue_platforms"
        unique_together = [("issue", "platform")]
        ordering = ["platform"]


class IssueUpdate(Model):
    # One entry on an issue's timeline: the status it moved to and what staff said.

    id = fields.IntField(primary_key=True)
    issue = fields.ForeignKeyField("models.Issue", related_name="updates", on_delete=fields.CASCADE)
    status = fields.CharEnumField(IssueStatus, max_length=16)
    body = fields.TextField()
    posted_at = fields.DatetimeField()
    author = fields.ForeignKeyField(
        "models.User", related_name="issue_updates", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "issue_updates"
        ordering = ["-posted_at", "-id"]
        indexes = [("issue_id", "posted_at")]


class IssueAffected(Model):
    id = fields.IntField(primary_key=True)
    issue = fields.ForeignKeyField("models.Issue", related_name="affected_marks", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="affected_marks", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "issue_affected"
        unique_together = [("issue", "user")]


class IssueSubscription(Model):
    id = fields.IntField(primary_key=True)
    issue = fields.ForeignKeyField("models.Issue", related_name="subscriptions", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="issue_subscriptions", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "issue_subscriptions"
        unique_together = [("issue", "user")]
