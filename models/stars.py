"""The Stars program: its description, requirements, perks and values, members and applications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import Role, User
from models.base import utcnow
from models.errors import Problem, RuleViolation, violation
from models.moderation import TargetKind, record_action
from models.posts import Post, PostStatus


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

    @classmethod
    def visible_to(cls, viewer: "User | None") -> "QuerySet[StarApplication]":
        """Applicants see their own applications; reviewers see all; everyone else none."""
        if viewer is None:
            return cls.filter(id__in=[])
        if viewer.role.at_least(Role.MODERATOR):
            return cls.all()
        return cls.filter(user_id=viewer.pk)


# --- Eligibility and the application workflow ---------------------------------------------------


class RequirementStatus(str, Enum):
    MET = "MET"
    UNMET = "UNMET"
    # Depends on what the application form says (date of birth, minutes a week, motivation).
    CHECKED_ON_APPLY = "CHECKED_ON_APPLY"


class Decision(str, Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REQUEST_INFO = "REQUEST_INFO"


@dataclass(frozen=True)
class EligibilityPolicy:
    min_age: int = 18
    min_approved_posts: int = 5
    min_account_age_days: int = 90
    min_weekly_minutes: int = 30
    motivation_min_chars: int = 50
    motivation_max_chars: int = 2000
    rejection_cooldown_days: int = 30


@dataclass(frozen=True)
class RequirementCheck:
    code: str
    status: RequirementStatus
    detail: str
    # The input field a failing check points at, for userErrors.
    field: str | None = None

    @property
    def met(self) -> bool:
        return self.status is RequirementStatus.MET


@dataclass(frozen=True)
class ApplicationForm:
    date_of_birth: date
    motivation: str
    weekly_minutes: int
    languages: tuple[str, ...] = ()


def _check(code: str, met: bool, ok: str, not_ok: str, field: str | None = None) -> RequirementCheck:
    return RequirementCheck(code, RequirementStatus.MET if met else RequirementStatus.UNMET, ok if met else not_ok, field)


def _pending(code: str, detail: str, field: str) -> RequirementCheck:
    return RequirementCheck(code, RequirementStatus.CHECKED_ON_APPLY, detail, field)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


async def check_eligibility(
    user: User, policy: EligibilityPolicy, form: ApplicationForm | None = None
) -> list[RequirementCheck]:
    """Every requirement, met or not and why; form-dependent ones wait for a form."""
    now = utcnow()
    checks: list[RequirementCheck] = []
    if form is None:
        checks.append(_pending("AGE_18_PLUS", f"You must be {policy.min_age} or older; give your date of birth when you apply", "dateOfBirth"))
    elif form.date_of_birth > now.date():
        checks.append(_check("AGE_18_PLUS", False, "", "The date of birth is in the future", "dateOfBirth"))
    else:
        age = age_on(form.date_of_birth, now.date())
        checks.append(_check("AGE_18_PLUS", age >= policy.min_age, f"You are {policy.min_age} or older",
                             f"You must be {policy.min_age} or older to join", "dateOfBirth"))

    posts = await Post.filter(author_id=user.pk, status=PostStatus.PUBLISHED).count()
    checks.append(_check("APPROVED_POSTS", posts >= policy.min_approved_posts,
                         f"You have {posts} published posts",
                         f"You have {posts} published posts; {policy.min_approved_posts} are needed"))

    age_days = (now - user.created_at).days
    checks.append(_check("ACCOUNT_AGE", age_days >= policy.min_account_age_days,
                         f"Your account is {age_days} days old",
                         f"Your account is {age_days} days old; it must be at least {policy.min_account_age_days}"))

    if form is None:
        checks.append(_pending("WEEKLY_MINUTES", f"You can spend at least {policy.min_weekly_minutes} minutes a week", "weeklyMinutes"))
        checks.append(_pending("MOTIVATION", f"Tell us why in {policy.motivation_min_chars}–{policy.motivation_max_chars} characters", "motivation"))
    else:
        checks.append(_check("WEEKLY_MINUTES", form.weekly_minutes >= policy.min_weekly_minutes,
                             f"{form.weekly_minutes} minutes a week",
                             f"At least {policy.min_weekly_minutes} minutes a week are needed", "weeklyMinutes"))
        length = len(form.motivation.strip())
        checks.append(_check("MOTIVATION", policy.motivation_min_chars <= length <= policy.motivation_max_chars,
                             "Your motivation has the right length",
                             f"The motivation must be {policy.motivation_min_chars}–{policy.motivation_max_chars} characters, it has {length}",
                             "motivation"))

    open_application = await StarApplication.filter(
        user_id=user.pk, status__in=(ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW)
    ).exists()
    checks.append(_check("NO_OPEN_APPLICATION", not open_application, "You have no application under review",
                         "You already have an application under review"))

    is_star = user.role is not Role.MEMBER or await StarProfile.filter(user_id=user.pk).exists()
    checks.append(_check("NOT_ALREADY_STAR", not is_star, "You are not a Star yet",
                         "You are already a Star or a member of staff"))

    cutoff = now - timedelta(days=policy.rejection_cooldown_days)
    recent_rejection = await StarApplication.filter(
        user_id=user.pk, status=ApplicationStatus.REJECTED, decided_at__gte=cutoff
    ).exists()
    checks.append(_check("REJECTION_COOLDOWN", not recent_rejection, "No recent rejection",
                         f"An application was rejected less than {policy.rejection_cooldown_days} days ago"))
    return checks


async def apply(user: User, policy: EligibilityPolicy, form: ApplicationForm) -> StarApplication:
    """Submit an application, or resubmit the one that needs more information."""
    unmet = [check for check in await check_eligibility(user, policy, form) if not check.met]
    if unmet:
        raise RuleViolation(*(
            Problem(check.detail, check.code, ("input", check.field) if check.field else ()) for check in unmet
        ))
    now = utcnow()
    values = {
        "date_of_birth": form.date_of_birth,
        "motivation": form.motivation.strip(),
        "weekly_minutes": form.weekly_minutes,
        "languages": list(form.languages),
        "status": ApplicationStatus.SUBMITTED,
        "submitted_at": now,
        "updated_at": now,
    }
    waiting = await StarApplication.filter(user_id=user.pk, status=ApplicationStatus.NEEDS_INFO).first()
    if waiting is not None:
        # Guarded like every transition: only a NEEDS_INFO application can be resubmitted.
        if await StarApplication.filter(id=waiting.pk, status=ApplicationStatus.NEEDS_INFO).update(**values):
            return await StarApplication.get(id=waiting.pk)
        raise violation("The application changed meanwhile; reload it", "CONFLICT")
    return await StarApplication.create(user_id=user.pk, **values)


async def withdraw(user: User, application_id: int) -> StarApplication:
    changed = await StarApplication.filter(
        id=application_id, user_id=user.pk, status__in=OPEN_APPLICATION_STATUSES
    ).update(status=ApplicationStatus.WITHDRAWN, updated_at=utcnow())
    if not changed:
        current = await StarApplication.get_or_none(id=application_id, user_id=user.pk)
        if current is None:
            raise violation("No application of yours has that ID", "NOT_FOUND", "applicationId")
        raise violation(f"The application is {current.status.value} and can no longer be withdrawn", "INVALID_STATE", "applicationId")
    return await StarApplication.get(id=application_id)


_DECIDABLE = (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW)
_OUTCOME = {
    Decision.APPROVE: ApplicationStatus.APPROVED,
    Decision.REJECT: ApplicationStatus.REJECTED,
    Decision.REQUEST_INFO: ApplicationStatus.NEEDS_INFO,
}


async def review(reviewer: User, application_id: int, decision: Decision, note: str) -> StarApplication:
    """Decide an application. The conditional UPDATE lets exactly one of two racing reviewers win."""
    note = note.strip()
    if decision is not Decision.APPROVE and not note:
        raise violation("Say why in a note: the applicant reads it", "BLANK", "note")
    if len(note) > 2000:
        raise violation("The note takes at most 2000 characters", "TOO_LONG", "note")
    now = utcnow()
    changed = await StarApplication.filter(id=application_id, status__in=_DECIDABLE).update(
        status=_OUTCOME[decision], reviewer_id=reviewer.pk, review_note=note or None, decided_at=now, updated_at=now
    )
    if not changed:
        current = await StarApplication.get_or_none(id=application_id)
        if current is None:
            raise violation("No application has that ID", "NOT_FOUND", "applicationId")
        raise violation(f"The application is already {current.status.value}", "INVALID_STATE", "applicationId")
    application = await StarApplication.get(id=application_id).select_related("user")
    if decision is Decision.APPROVE:
        await _make_star(application.user, now, application.languages)
    await record_action(reviewer, TargetKind.STAR_APPLICATION, application_id, decision.value, note)
    return application


async def _make_star(user: User, since: datetime, languages: list[str]) -> None:
    # Staff keep their higher role; a member becomes a Star.
    await User.filter(id=user.pk, role=Role.MEMBER).update(role=Role.STAR)
    await StarProfile.get_or_create(user_id=user.pk, defaults={"star_since": since, "languages": languages})


def star_members() -> QuerySet[User]:
    """Members holding the STAR role, in the order they joined the program."""
    return User.filter(role=Role.STAR).order_by("star_profile__star_since", "id")
