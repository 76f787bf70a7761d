"""FAQ categories, articles, their labels and the readers' ratings."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.accounts import User, is_staff
from models.audit import TargetKind, record_action
from models.base import Section, column_max, get_by_column, utcnow
from models.counted import Size, add_counted, tally_names
from models.errors import Problems, violation
from models.guarded import guarded_change

logger = logging.getLogger(__name__)


class FaqStatus(str, Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class FaqCategory(Section):
    # Kept by triggers (models/counted.py): FAQs in the category in any status, and published ones.
    faq_count = fields.IntField(default=0, db_default=0)
    published_faq_count = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "faq_categories"
        ordering = ["position", "id"]


class Faq(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=120, unique=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    category: fields.ForeignKeyRelation[FaqCategory] = fields.ForeignKeyField(
        "models.FaqCategory", related_name="faqs", on_delete=fields.RESTRICT
    )
    category_id: int  # the column's attribute, added by Tortoise
    status = fields.CharEnumField(FaqStatus, max_length=16, default=FaqStatus.DRAFT)
    views = fields.IntField(default=0)
    helpful_count = fields.IntField(default=0)
    not_helpful_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(db_index=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "faqs"
        ordering = ["-views", "id"]
        indexes = [("status", "views"), ("status", "category_id"), ("status", "updated_at")]

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet[Faq]:
        """Drafts are for staff; everyone else reads published FAQs."""
        if is_staff(viewer):
            return cls.all()
        return cls.filter(status=FaqStatus.PUBLISHED)

    @classmethod
    def visible_count(cls, viewer: User | None, category_slug: str | None = None) -> Size:
        """How many FAQs `visible_to(viewer)` holds (in the category `category_slug` when given),
        read from counters: published ones, or every status for staff."""
        staff = is_staff(viewer)
        if category_slug is None:
            return Size(tallies=tally_names("faqs", tuple(FaqStatus) if staff else (FaqStatus.PUBLISHED,)))
        column = "faq_count" if staff else "published_faq_count"
        return Size(parent=FaqCategory.filter(slug=category_slug), columns=(column,))


# Orderings clients may ask for; each ends in the id so pages are stable.
FAQ_ORDERINGS: dict[str, tuple[str, ...]] = {
    "POPULAR": ("-views", "id"),
    "HELPFUL": ("-helpful_count", "id"),
    "RECENTLY_UPDATED": ("-updated_at", "-id"),
    "TITLE": ("title", "id"),
}


# The most characters `faqs(query:)` matches on, as `search(query:)`.
QUERY_MAX = 200


class FaqLabel(Model):
    id = fields.IntField(primary_key=True)
    faq: fields.ForeignKeyRelation[Faq] = fields.ForeignKeyField(
        "models.Faq", related_name="labels", on_delete=fields.CASCADE
    )
    faq_id: int
    name = fields.CharField(max_length=40, db_index=True)

    class Meta:
        table = "faq_labels"
        unique_together = [("faq", "name")]
        ordering = ["name"]


class FaqRating(Model):
    # One reader's "was this helpful?" answer; a reader may change it but not repeat it.

    id = fields.IntField(primary_key=True)
    faq: fields.ForeignKeyRelation[Faq] = fields.ForeignKeyField(
        "models.Faq", related_name="ratings", on_delete=fields.CASCADE
    )
    faq_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="faq_ratings", on_delete=fields.CASCADE
    )
    user_id: int
    helpful = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "faq_ratings"
        unique_together = [("faq", "user")]


# --- Rules for readers' ratings ------------------------------------------------------------------


async def rate(user: User, faq_id: int, helpful: bool) -> Faq:
    """Record or change the reader's answer; counters move with it, in the same transaction."""
    faq = await Faq.get_or_none(id=faq_id, status=FaqStatus.PUBLISHED)
    if faq is None:
        raise violation("No published FAQ has that ID", "NOT_FOUND", "faqId")
    counter = {True: "helpful_count", False: "not_helpful_count"}
    previous = await FaqRating.get_or_none(faq_id=faq_id, user_id=user.pk)
    if previous is None:
        await add_counted(
            FaqRating(faq_id=faq_id, user_id=user.pk, helpful=helpful), Faq.filter(id=faq_id), counter[helpful],
            duplicate=violation("Your rating is being saved already; try again", "CONFLICT", "faqId"),
        )
    elif previous.helpful != helpful:
        # Conditional on the old answer, so two racing changes cannot both move the counters.
        changed = await FaqRating.filter(id=previous.pk, helpful=previous.helpful).update(helpful=helpful)
        if changed:
            await Faq.filter(id=faq_id).update(
                **{counter[helpful]: F(counter[helpful]) + 1, counter[not helpful]: F(counter[not helpful]) - 1}
            )
    return await Faq.get(id=faq_id)


# --- Counting views --------------------------------------------------------------------------------


class FaqView(Model):
    """A visitor's counted view of an FAQ in one window of time.

    Why a row per view counted: the unique key (faq, visitor, window) is what makes "once per
    visitor per window" exact: of two racing requests, across workers, one inserts and the other
    hits the constraint, where a check beforehand would let both count. Rows of past windows are
    deleted by `prune_views`.
    """

    id = fields.BigIntField(primary_key=True)
    faq: fields.ForeignKeyRelation[Faq] = fields.ForeignKeyField(
        "models.Faq", related_name="view_marks", on_delete=fields.CASCADE
    )
    faq_id: int
    # SHA-256 (hex) of "user:<id>" or "ip:<client address>": the address is never stored as such.
    visitor = fields.CharField(max_length=64)
    window_start = fields.DatetimeField(db_index=True)

    class Meta:
        table = "faq_views"
        unique_together = [("faq", "visitor", "window_start")]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def view_window_start(now: datetime, window_seconds: int) -> datetime:
    """The start of the window `now` falls in: windows are fixed, aligned on multiples of
    `window_seconds` since 1970 (UTC midnights for a day), the same in every process."""
    elapsed = int((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % window_seconds)


def visitor_key(user_id: int | None, client_address: str) -> str:
    """Who a view is counted for: the signed-in user (on any device), else the client address."""
    who = f"user:{user_id}" if user_id is not None else f"ip:{client_address}"
    return hashlib.sha256(who.encode()).hexdigest()


async def record_view(slug: str, visitor: str, window_seconds: int) -> Faq:
    """Count a view of the published FAQ `slug` unless `visitor` was counted in this window.

    In the caller's transaction: the visitor's row first (in a savepoint, so that a duplicate
    leaves the transaction usable on PostgreSQL), then `views + 1` in one UPDATE, only when the
    row was new. Either both happen or neither."""
    faq = await get_by_column(Faq.filter(status=FaqStatus.PUBLISHED), "slug", slug)
    if faq is None:
        raise violation("No published FAQ has that slug", "NOT_FOUND", "slug")
    window_start = view_window_start(utcnow(), window_seconds)
    try:
        async with in_transaction():
            await FaqView.create(faq_id=faq.pk, visitor=visitor, window_start=window_start)
    except IntegrityError:
        return faq  # counted already in this window
    await Faq.filter(id=faq.pk).update(views=F("views") + 1)
    return await Faq.get(id=faq.pk)


async def prune_views(window_seconds: int) -> int:
    """Delete the rows of windows that have ended (they can no longer refuse a view); how many.

    Its own statement, outside any request's transaction: see `ViewPruner`."""
    return await FaqView.filter(window_start__lt=view_window_start(utcnow(), window_seconds)).delete()


class ViewPruner:
    """Prunes once per window per process: the first view counted in a new window deletes the
    rows of the ones before, so the table holds about one window of rows, never more than two.

    After the view's commit and in a statement of its own, so a request never waits for (or
    rolls back with) the pruning; a prune that fails (another worker's racing the same rows) is
    logged and tried again on the next view."""

    def __init__(self) -> None:
        self.pruned_window: datetime | None = None

    async def after_view(self, window_seconds: int) -> None:
        current = view_window_start(utcnow(), window_seconds)
        if self.pruned_window == current:
            return
        try:
            deleted = await prune_views(window_seconds)
        except OperationalError as error:
            logger.warning("pruning faq_views failed, will retry: %s", error)
            return
        self.pruned_window = current
        if deleted:
            logger.info("pruned %d faq_views rows of past windows", deleted)


# One per process: each worker prunes at most once per window.
view_pruner = ViewPruner()


# --- Rules for staff editing FAQs -----------------------------------------------------------------

# One character, then one class: nothing to backtrack; `slug_ok` reads the length first.
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
SLUG_MIN, SLUG_MAX = 3, column_max(Faq, "slug")
LABEL_MAX = column_max(FaqLabel, "name")


def slug_ok(slug: str) -> bool:
    return SLUG_MIN <= len(slug) <= SLUG_MAX and SLUG_PATTERN.fullmatch(slug) is not None


async def save_faq(
    author: User,
    faq_id: int | None,
    *,
    slug: str | None,
    title: str | None,
    body: str | None,
    category_slug: str | None,
    labels: list[str] | None,
) -> Faq:
    """Create a draft (faq_id None: every field required) or change the fields given."""
    creating = faq_id is None
    problems = Problems()
    values: dict[str, Any] = {}  # the columns to write, by name
    faq = None if creating else await Faq.get_or_none(id=faq_id)
    if not creating and faq is None:
        raise violation("No FAQ has that ID", "NOT_FOUND", "faqId")
    if slug is not None or creating:
        slug = slug or ""
        if len(slug) <= SLUG_MAX:  # the length first: nothing reads a longer value
            slug = slug.strip().lower()
        if not slug_ok(slug):
            problems.add(f"The slug is {SLUG_MIN}–{SLUG_MAX} lower-case letters, digits and hyphens", "INVALID", "slug")
        elif await Faq.filter(slug=slug).exclude(id=faq_id or 0).exists():
            problems.add("Another FAQ has that slug", "TAKEN", "slug")
        values["slug"] = slug
    if title is not None or creating:
        values["title"] = problems.check_text(title or "", "title", minimum=5, maximum=200, label="The title")
    if body is not None or creating:
        values["body"] = problems.check_markdown(body or "", "body", maximum=20_000, label="The answer")
    if category_slug is not None or creating:
        category_slug = category_slug or ""
        category = await get_by_column(FaqCategory, "slug", category_slug)
        if category is None:
            problems.add("No FAQ category has that slug", "NOT_FOUND", "category")
        values["category"] = category
    names = list(dict.fromkeys(label.strip().lower() for label in labels or []))
    if any(not 1 <= len(name) <= LABEL_MAX for name in names):
        problems.add(f"Labels are 1–{LABEL_MAX} characters", "INVALID", "labels")
    problems.raise_if_any()

    now = utcnow()
    if faq is None:  # creating (a missing FAQ to change was refused above)
        faq = await Faq.create(**values, status=FaqStatus.DRAFT, created_at=now, updated_at=now)
    else:
        await Faq.filter(id=faq.pk).update(**values, updated_at=now)
    if labels is not None:
        await FaqLabel.filter(faq_id=faq.pk).delete()
        await FaqLabel.bulk_create([FaqLabel(faq_id=faq.pk, name=name) for name in names])
    await record_action(author, TargetKind.FAQ, faq.pk, "CREATE" if creating else "UPDATE", str(values.get("title", "")))
    return await Faq.get(id=faq.pk)


async def publish(author: User, faq_id: int) -> Faq:
    now = utcnow()
    faq = Faq.filter(id=faq_id)
    await guarded_change(
        faq.filter(status=FaqStatus.DRAFT).update(status=FaqStatus.PUBLISHED, published_at=now, updated_at=now), faq,
        missing=violation("No FAQ has that ID", "NOT_FOUND", "faqId"),
        refused=lambda _: violation("The FAQ is already published", "INVALID_STATE", "faqId"),
    )
    await record_action(author, TargetKind.FAQ, faq_id, "PUBLISH")
    return await Faq.get(id=faq_id)
