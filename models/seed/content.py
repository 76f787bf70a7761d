"""Loads the landing-page content from the TOML files beside this module.

Idempotent by natural keys (handle, slug, code, number, key, ...): a row that exists is left as it
is, including counters users have moved since, and its children are only added with it.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.accounts import Role, User, hash_password
from models.announcements import Announcement
from models.base import utcnow
from models.faqs import Faq, FaqCategory, FaqLabel, FaqStatus
from models.issues import Issue, IssueAffected, IssuePlatform, IssueStatus, IssueUpdate, Platform
from models.posts import Board, Kudo, Post, PostStatus, PostTag, Reply, Tag
from models.stars import EligibilityRequirement, Perk, ProgramValue, StarProfile, StarsProgram
from models.text import excerpt
from models.wizard import WizardOption, WizardOptionFaq, WizardOptionIssue, WizardStep

HERE = Path(__file__).parent
DEMO_PASSWORD = "demo-password"


def read(name: str) -> dict[str, Any]:
    return tomllib.loads((HERE / name).read_text(encoding="utf-8"))


class Loader:
    """Creates what is missing and counts what it created, by model."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self._password_hash: str | None = None

    async def ensure(self, model: type[Model], key: dict[str, Any], **values: Any) -> tuple[Any, bool]:
        row = await model.get_or_none(**key)
        if row is not None:
            return row, False
        self.created[model.__name__] += 1
        return await model.create(**key, **values), True

    def password_hash(self) -> str:
        # argon2 is slow on purpose: hash the shared demo password once.
        if self._password_hash is None:
            self._password_hash = hash_password(DEMO_PASSWORD)
        return self._password_hash


async def load_page_content() -> dict[str, int]:
    """Load everything; returns rows created per model (empty when all was there already)."""
    loader = Loader()
    async with in_transaction():
        await _program(loader, read("program.toml"))
        community = read("community.toml")
        users = await _users(loader, community["users"])
        boards = await _boards(loader, community["boards"])
        await _announcements(loader, community["announcements"])
        help_content = read("help.toml")
        faqs = await _faqs(loader, help_content)
        issues = await _issues(loader, help_content["issues"], users)
        await _posts(loader, community["posts"], users, boards)
        await _wizard(loader, help_content["wizard_steps"], faqs, issues, boards)
    return dict(loader.created)


async def _program(loader: Loader, data: dict[str, Any]) -> None:
    program = data["program"]
    await loader.ensure(StarsProgram, {"name": program["name"]}, **{k: v for k, v in program.items() if k != "name"})
    for position, item in enumerate(data["eligibility"]):
        await loader.ensure(EligibilityRequirement, {"code": item["code"]}, description=item["description"], position=position)
    for position, item in enumerate(data["perks"]):
        await loader.ensure(Perk, {"title": item["title"]}, position=position)
    for position, item in enumerate(data["values"]):
        await loader.ensure(ProgramValue, {"name": item["name"]}, description=item["description"], icon=item["icon"], position=position)


async def _users(loader: Loader, items: list[dict[str, Any]]) -> dict[str, User]:
    users: dict[str, User] = {}
    for item in items:
        created_at = item.get("created_at") or utcnow() - timedelta(days=item["created_days_ago"])
        user, created = await loader.ensure(
            User, {"handle": item["handle"]},
            display_name=item["display_name"], role=Role(item["role"]), bio=item.get("bio", ""),
            created_at=created_at, password_hash=loader.password_hash() if item.get("password") else None,
        )
        if created and "star_since" in item:
            await loader.ensure(StarProfile, {"user_id": user.pk}, star_since=item["star_since"], languages=item.get("languages", []))
        users[user.handle] = user
    return users


async def _boards(loader: Loader, items: list[dict[str, Any]]) -> dict[str, Board]:
    boards = {}
    for position, item in enumerate(items):
        board, _ = await loader.ensure(Board, {"slug": item["slug"]}, name=item["name"], description=item["description"], position=position)
        boards[board.slug] = board
    return boards


async def _announcements(loader: Loader, items: list[dict[str, Any]]) -> None:
    for item in items:
        await loader.ensure(
            Announcement, {"title": item["title"]}, body=item["body"], pinned=item.get("pinned", False),
            published_at=item["published_at"], expires_at=item.get("expires_at"),
            link_url=item.get("link", {}).get("url"), link_label=item.get("link", {}).get("label"),
        )


async def _faqs(loader: Loader, data: dict[str, Any]) -> dict[str, Faq]:
    categories = {}
    for position, item in enumerate(data["faq_categories"]):
        category, _ = await loader.ensure(FaqCategory, {"slug": item["slug"]}, name=item["name"], description=item["description"], position=position)
        categories[category.slug] = category
    faqs = {}
    for item in data["faqs"]:
        status = FaqStatus(item.get("status", "PUBLISHED"))
        updated_at: datetime = item["updated_at"]
        created_at = updated_at - timedelta(days=200)
        faq, created = await loader.ensure(
            Faq, {"slug": item["slug"]},
            title=item["title"], body=item["body"], category=categories[item["category"]], status=status,
            views=item["views"], helpful_count=item["helpful"], not_helpful_count=item["not_helpful"],
            created_at=created_at, updated_at=updated_at,
            published_at=created_at if status is FaqStatus.PUBLISHED else None,
        )
        if created:
            for name in item.get("labels", []):
                await loader.ensure(FaqLabel, {"faq_id": faq.pk, "name": name})
        faqs[faq.slug] = faq
    return faqs


async def _issues(loader: Loader, items: list[dict[str, Any]], users: dict[str, User]) -> dict[int, Issue]:
    issues = {}
    for item in items:
        updates = item["updates"]
        issue, created = await loader.ensure(
            Issue, {"number": item["number"]},
            title=item["title"], description=item["description"], status=IssueStatus(item["status"]),
            affected_count=len(item.get("affected_by", [])),
            created_at=item["created_at"], updated_at=updates[-1]["posted_at"],
        )
        if created:
            for platform in item["platforms"]:
                await loader.ensure(IssuePlatform, {"issue_id": issue.pk, "platform": Platform(platform)})
            for update in updates:
                await loader.ensure(IssueUpdate, {"issue_id": issue.pk, "posted_at": update["posted_at"]},
                                    status=IssueStatus(update["status"]), body=update["body"])
            for handle in item.get("affected_by", []):
                await loader.ensure(IssueAffected, {"issue_id": issue.pk, "user_id": users[handle].pk})
        issues[issue.number] = issue
    return issues


async def _posts(loader: Loader, items: list[dict[str, Any]], users: dict[str, User], boards: dict[str, Board]) -> None:
    for item in items:
        status = PostStatus(item.get("status", "PUBLISHED"))
        published_at = item.get("published_at")
        replies = item.get("replies", [])
        kudos_from = item.get("kudos_from", [])
        post, created = await loader.ensure(
            Post, {"slug": item["slug"]},
            board=boards[item["board"]], author=users[item["author"]], title=item["title"], body=item["body"],
            excerpt=excerpt(item["body"]), status=status, locked=item.get("locked", False),
            created_at=published_at or datetime.fromisoformat("2025-06-01T12:00:00+00:00"),
            published_at=published_at if status is not PostStatus.PENDING else None,
            kudos_count=len(kudos_from),  # reply_count: the replies' trigger counts them below
            featured_star=users[item["featured_star"]] if "featured_star" in item else None,
        )
        if not created:
            continue
        for name in item.get("tags", []):
            tag, _ = await loader.ensure(Tag, {"name": name})
            await loader.ensure(PostTag, {"post_id": post.pk, "tag_id": tag.pk})
        for handle in kudos_from:
            await loader.ensure(Kudo, {"post_id": post.pk, "user_id": users[handle].pk})
        for reply in replies:
            when = post.created_at + timedelta(days=reply["days_after"], hours=1)
            await loader.ensure(Reply, {"post_id": post.pk, "author_id": users[reply["author"]].pk, "body": reply["body"]},
                                created_at=when, status=PostStatus.PUBLISHED)


async def _wizard(
    loader: Loader, items: list[dict[str, Any]], faqs: dict[str, Faq], issues: dict[int, Issue], boards: dict[str, Board]
) -> None:
    steps = {}
    for item in items:
        step, _ = await loader.ensure(
            WizardStep, {"key": item["key"]},
            step_number=item["step_number"], title=item["title"], prompt=item["prompt"], is_first=item.get("first", False),
        )
        steps[step.key] = step
    for item in items:
        for position, option in enumerate(item["options"]):
            row, created = await loader.ensure(
                WizardOption, {"step_id": steps[item["key"]].pk, "position": position},
                label=option["label"],
                next_step=steps[option["next"]] if "next" in option else None,
                resolution_summary=option.get("summary"),
                resolution_board=boards[option["board"]] if "board" in option else None,
            )
            if not created:
                continue
            for rank, slug in enumerate(option.get("faqs", [])):
                await loader.ensure(WizardOptionFaq, {"option_id": row.pk, "faq_id": faqs[slug].pk}, position=rank)
            for rank, number in enumerate(option.get("issues", [])):
                await loader.ensure(WizardOptionIssue, {"option_id": row.pk, "issue_id": issues[number].pk}, position=rank)
