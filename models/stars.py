"""The Stars program: its description, requirements, perks and values, members and applications."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class ApplicationStatus(str, Enum):
    SUBMITTED = "SUBMITTED"
    IN_REVIEW = "IN_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    NEEDS_INFO = "NEEDS_INFO"
    WITHDRAWN = "WITHDRAWN"


# An application in one of these states blocks a new one.
OPEN_APPLICATION_STATUSES = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.IN_REVIEW,
    ApplicationStatus.NEEDS_INFO,
)


class StarsProgram(Model):
    # The program's page copy; one row.

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    tagline = fields.TextField(default="")
    description = fields.TextField()
    become_a_star = fields.TextField(default="")
    applications_open = fields.BooleanField(default=True)

    class Meta:
        table = "stars_program"


class EligibilityRequirement(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=40, unique=True)
    description = fields.TextField()
    position = fields.IntField(default=0)

    class Meta:
        table = "stars_eligibility_requirements"
        ordering = ["position", "id"]


class Perk(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    position = fields.IntField(default=0)

    class Meta:
        table = "stars_perks"
        ordering = ["position", "id"]


class ProgramValue(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=60, unique=True)
    description = fields.TextField()
    icon = fields.CharField(max_length=60)
    position = fields.IntField(default=0)

    class Meta:
        table = "stars_values"
        ordering = ["position", "id"]


class StarProfile(Model):
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="star_profile", on_delete=fields.CASCADE)
    star_since = fields.DatetimeField(db_index=True)
    languages = fields.JSONField(default=list)

    class Meta:
        table = "star_profiles"
        ordering = ["star_since", "id"]


class StarApplication(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="star_applications", on_delete=fields.CASCADE)
    status = fields.CharEnumField(ApplicationStatus, max_length=16, default=ApplicationStatus.SUBMITTED)
    date_of_birth = fields.DateField()
    motivation = fields.TextField()
    weekly_minutes = fields.IntField()
    languages = fields.JSONField(default=list)
    submitted_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    reviewer = fields.ForeignKeyField(
        "models.User", related_name="reviewed_applications", null=True, on_delete=fields.SET_NULL
    )
    review_note = fields.TextField(null=True)

    class Meta:
        table = "star_applications"
        ordering = ["-submitted_at", "-id"]
        indexes = [("status", "submitted_at"), ("user_id", "status")]
