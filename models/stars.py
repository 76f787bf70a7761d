"""The Stars program: its description, requirements, perks and values, members and applications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import Role, User, is_staff
from models.audit import TargetKind, record_action
from models.base import nothing, utcnow
from models.counted import Size, tally_names
from models.errors import Problems, violation
from models.guarded import guarded_change
from models.posts import Board, Post, PostStatus

# The board of "Meet the Stars": the Stars blog.
STARS_BLOG = "stars-blog"


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


class ProgramIcon(str, Enum):
    """The icons the program's values are drawn with: one per value on the page, and no others,
    so that a frontend can ship the whole set (the API names an icon, it does not draw it)."""

    RESPECT = "respect"
    INCLUSION = "inclusion"
    SUPPORT = "support"
    TEAMWORK = "teamwork"
    FUN = "fun"
    RESPONSIBILITY = "responsibility"


class ProgramValue(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=60, unique=True)
    description = fields.TextField()
    icon = fields.CharEnumField(ProgramIcon, max_length=60)
    position = fields.IntField(default=0)

    class Meta:
        table = "stars_values"
        ordering = ["position", "id"]


class StarProfile(Model):
    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="star_profile", on_delete=fields.CASCADE
    )
    user_id: int  # the column's attribute, added by Tortoise
    star_since = fields.DatetimeField(db_index=True)
    languages: fields.JSONField[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "star_profiles"
        ordering = ["star_since", "id"]


class StarApplication(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="star_applications", on_delete=fields.CASCADE
    )
    user_id: int
    status = fields.CharEnumField(ApplicationStatus, max_length=16, default=ApplicationStatus.SUBMITTED)
    date_of_birth = fields.DateField()
    motivation = fields.TextField()
    weekly_minutes = fields.IntField()
    languages: fields.JSONField[list[str]] = fields.JSONField(default=list)
    submitted_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    reviewer: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reviewed_applications", null=True, on_delete=fields.SET_NULL
    )
    reviewer_id: int | None
    review_note = fields.TextField(null=True)

    class Meta:
        table = "star_applications"
        ordering = ["-submitted_at", "-id"]
        indexes = [("status", "submitted_at"), ("user_id", "status")]

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet[StarApplication]:
        """Applicants see their own applications; reviewers see all; everyone else none."""
        if is_staff(viewer):
            return cls.all()
        return nothing(cls) if viewer is None else cls.filter(user_id=viewer.pk)


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
    def unmet(self) -> bool:
        return self.status is RequirementStatus.UNMET


@dataclass(frozen=True)
class FormAnswers:
    """The form answers some requirements depend on; None where not given (yet)."""

    date_of_birth: date | None = None
    weekly_minutes: int | None = None
    motivation: str | None = None


@dataclass(frozen=True)
class ApplicationForm:
    date_of_birth: date
    motivation: str
    weekly_minutes: int
    languages: tuple[str, ...] = ()

    @property
    def answers(self) -> FormAnswers:
        return FormAnswers(self.date_of_birth, self.weekly_minutes, self.motivation)


MINUTES_IN_A_WEEK = 7 * 24 * 60
LANGUAGES_MAX = 20
LANGUAGE_MAX_CHARS = 50


def _check(code: str, met: bool, ok: str, not_ok: str, field: str | None = None) -> RequirementCheck:
    return RequirementCheck(code, RequirementStatus.MET if met else RequirementStatus.UNMET, ok if met else not_ok, field)


def _pending(code: str, detail: str, field: str) -> RequirementCheck:
    return RequirementCheck(code, RequirementStatus.CHECKED_ON_APPLY, detail, field)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _age(policy: EligibilityPolicy, born: date | None, today: date) -> RequirementCheck:
    code, field = "AGE_18_PLUS", "dateOfBirth"
    if born is None:
        return _pending(code, f"You must be {policy.min_age} or older; give your date of birth when you apply", field)
    if born > today:
        return _check(code, False, "", "The date of birth is in the future", field)
    return _check(code, age_on(born, today) >= policy.min_age, f"You are {policy.min_age} or older",
                  f"You must be {policy.min_age} or older to join", field)


def _weekly_minutes(policy: EligibilityPolicy, minutes: int | None) -> RequirementCheck:
    code, field = "WEEKLY_MINUTES", "weeklyMinutes"
    if minutes is None:
        return _pending(code, f"You can spend at least {policy.min_weekly_minutes} minutes a week", field)
    if minutes > MINUTES_IN_A_WEEK:
        return _check(code, False, "", f"A week has {MINUTES_IN_A_WEEK} minutes; give at most that", field)
    return _check(code, minutes >= policy.min_weekly_minutes, f"{minutes} minutes a week",
                  f"At least {policy.min_weekly_minutes} minutes a week are needed", field)


def _motivation(policy: EligibilityPolicy, motivation: str | None) -> RequirementCheck:
    code, field = "MOTIVATION", "motivation"
    lower, upper = policy.motivation_min_chars, policy.motivation_max_chars
    if motivation is None:
        return _pending(code, f"Tell us why in {lower}–{upper} characters", field)
    length = len(motivation.strip())
    return _check(code, lower <= length <= upper, "Your motivation has the right length",
                  f"The motivation must be {lower}–{upper} characters, it has {length}", field)


async def check_eligibility(
    user: User, policy: EligibilityPolicy, answers: FormAnswers = FormAnswers()
) -> list[RequirementCheck]:
    """Every requirement, met or not and why; those on form answers not given are CHECKED_ON_APPLY."""
    now = utcnow()
    checks: list[RequirementCheck] = []
    # Listed only while closed: an open program is the normal case, not a requirement on the page.
    if await StarsProgram.filter(applications_open=False).exists():
        checks.append(_check("APPLICATIONS_OPEN", False, "", "The Stars program is not taking applications right now"))
    checks.append(_age(policy, answers.date_of_birth, now.date()))

    posts = await Post.filter(author_id=user.pk, status=PostStatus.PUBLISHED).count()
    checks.append(_check("APPROVED_POSTS", posts >= policy.min_approved_posts,
                         f"You have {posts} published posts",
                         f"You have {posts} published posts; {policy.min_approved_posts} are needed"))

    age_days = (now - user.created_at).days
    checks.append(_check("ACCOUNT_AGE", age_days >= policy.min_account_age_days,
                         f"Your account is {age_days} days old",
                         f"Your account is {age_days} days old; it must be at least {policy.min_account_age_days}"))

    checks.append(_weekly_minutes(policy, answers.weekly_minutes))
    checks.append(_motivation(policy, answers.motivation))

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


def _languages(given: Sequence[str], problems: Problems) -> list[str]:
    """Distinct and stripped, blanks dropped; too long or too many are refused, never cut."""
    stripped = (problems.check_text(language, "languages", minimum=0, maximum=LANGUAGE_MAX_CHARS, label="A language")
                for language in given)
    languages = [language for language in dict.fromkeys(stripped) if language]
    if len(languages) > LANGUAGES_MAX:
        problems.add(f"Give at most {LANGUAGES_MAX} languages", "TOO_MANY", "languages")
    return languages


async def apply(user: User, policy: EligibilityPolicy, form: ApplicationForm) -> StarApplication:
    """Submit an application, or resubmit the one that needs more information."""
    # Lock the applicant's row first: concurrent applies then take turns, so each one's
    # NO_OPEN_APPLICATION check sees the application the one before it made.
    applicant = await User.select_for_update().get(id=user.pk)
    problems = Problems()
    languages = _languages(form.languages, problems)
    for check in await check_eligibility(applicant, policy, form.answers):
        if check.unmet:
            problems.add(check.detail, check.code, *((check.field,) if check.field else ()))
    problems.raise_if_any()
    now = utcnow()
    values: dict[str, Any] = {  # the columns an application (re)submitted sets
        "date_of_birth": form.date_of_birth,
        "motivation": form.motivation.strip(),
        "weekly_minutes": form.weekly_minutes,
        "languages": languages,
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


async def _transition(application_id: int, allowed: tuple[ApplicationStatus, ...], verb: str,
                      owner_id: int | None = None, **values: object) -> StarApplication:
    """Move an application out of one of `allowed`; of two requests racing on it exactly one wins."""
    scope = StarApplication.filter(id=application_id)
    if owner_id is not None:
        scope = scope.filter(user_id=owner_id)
    whose = "of yours " if owner_id is not None else ""
    await guarded_change(
        scope.filter(status__in=allowed).update(**{"updated_at": utcnow(), **values}), scope,
        missing=violation(f"No application {whose}has that ID", "NOT_FOUND", "applicationId"),
        refused=lambda current: violation(
            f"The application is {current.status.value} and cannot be {verb} now", "INVALID_STATE", "applicationId"
        ),
    )
    return await StarApplication.get(id=application_id)


async def withdraw(user: User, application_id: int) -> StarApplication:
    return await _transition(application_id, OPEN_APPLICATION_STATUSES, "withdrawn", owner_id=user.pk,
                             status=ApplicationStatus.WITHDRAWN)


async def claim(reviewer: User, application_id: int) -> StarApplication:
    """Take a submitted application into review, as its reviewer."""
    application = await _transition(application_id, (ApplicationStatus.SUBMITTED,), "claimed",
                                    status=ApplicationStatus.IN_REVIEW, reviewer_id=reviewer.pk)
    await record_action(reviewer, TargetKind.STAR_APPLICATION, application_id, "CLAIM")
    return application


_DECIDABLE = (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW)
_OUTCOME = {
    Decision.APPROVE: ApplicationStatus.APPROVED,
    Decision.REJECT: ApplicationStatus.REJECTED,
    Decision.REQUEST_INFO: ApplicationStatus.NEEDS_INFO,
}
NOTE_MAX_CHARS = 2000


async def review(reviewer: User, application_id: int, decision: Decision, note: str) -> StarApplication:
    """Decide an application, submitted or in review; exactly one of two racing reviewers wins."""
    note = note.strip()
    if decision is not Decision.APPROVE and not note:
        raise violation("Say why in a note: the applicant reads it", "BLANK", "note")
    if len(note) > NOTE_MAX_CHARS:
        raise violation(f"The note takes at most {NOTE_MAX_CHARS} characters", "TOO_LONG", "note")
    now = utcnow()
    application = await _transition(application_id, _DECIDABLE, "decided", status=_OUTCOME[decision],
                                    reviewer_id=reviewer.pk, review_note=note or None, decided_at=now, updated_at=now)
    if decision is Decision.APPROVE:
        await _admit(application)
    await record_action(reviewer, TargetKind.STAR_APPLICATION, application_id, decision.value, note)
    return application


async def _admit(application: StarApplication) -> None:
    # Locked: a suspension or role change arriving meanwhile waits for this decision instead of racing it.
    applicant = await User.select_for_update().get(id=application.user_id)
    if applicant.is_suspended:
        raise violation("The applicant is suspended: lift the suspension before approving",
                        "APPLICANT_SUSPENDED", "applicationId")
    if applicant.role is Role.MEMBER:  # staff keep their higher role
        await change_role(applicant.pk, Role.STAR, application.languages)


async def change_role(user_id: int, role: Role, languages: Sequence[str] = ()) -> bool:
    """Give a user `role` with the Star profile that goes with it, in the caller's transaction.

    A STAR has a profile (`stars` and `starSince` read it); a MEMBER has none, so a demoted Star
    may apply again. Staff keep theirs, and with it their first `starSince` should they step back
    down to STAR. False when the user already had the role (or does not exist): nothing changes.
    """
    if not await User.filter(id=user_id).exclude(role=role).update(role=role):
        return False
    if role is Role.STAR:
        await StarProfile.get_or_create(user_id=user_id, defaults={"star_since": utcnow(), "languages": list(languages)})
    elif role is Role.MEMBER:
        await StarProfile.filter(user_id=user_id).delete()
    return True


def star_members() -> QuerySet[User]:
    """Members holding the STAR role, in the order they joined the program."""
    return User.filter(role=Role.STAR).order_by("star_profile__star_since", "id")


def star_members_count() -> Size:
    """How many `star_members()` there are: the users holding the STAR role, from their counter."""
    return Size(tallies=tally_names("users", (Role.STAR,)))


# --- "Meet the Stars" ------------------------------------------------------------------------------


async def feature_star(editor: User, post_id: int, star_id: int | None) -> Post:
    """Link a Stars-blog post to the Star it introduces (`featuredStar`), or unlink it (None).

    A Star is whoever has a Star profile: the STAR role, or staff who were Stars before."""
    post = await Post.get_or_none(id=post_id)
    if post is None:
        raise violation("No post has that ID", "NOT_FOUND", "postId")
    if not await Board.filter(id=post.board_id, slug=STARS_BLOG).exists():
        raise violation("Only posts on the Stars blog introduce a Star", "NOT_STARS_BLOG", "postId")
    handle = ""
    if star_id is not None:
        star = await User.get_or_none(id=star_id)
        if star is None or not await StarProfile.filter(user_id=star_id).exists():
            raise violation("No Star has that ID", "NOT_A_STAR", "starId")
        handle = star.handle
    await Post.filter(id=post_id).update(featured_star_id=star_id)
    await record_action(editor, TargetKind.POST, post_id, "FEATURE_STAR", handle)
    return await Post.get(id=post_id)
