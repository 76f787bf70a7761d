"""Rows for tests that need their own data, built through the ORM (never mocked)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from gql.core.relay import global_id_of
from models.accounts import Role, TokenScope, User, issue_token
from models.base import utcnow
from models.faqs import Faq, FaqCategory, FaqStatus
from models.issues import Issue, IssueStatus
from models.posts import Board, Post, PostStatus
from models.stars import ApplicationStatus, StarApplication, StarProfile

_serial = itertools.count(1)


def gid(row: object) -> str:
    """A row's global ID, as clients see it."""
    return global_id_of(row)  # type: ignore[arg-type]


async def make_user(
    prefix: str, role: Role = Role.MEMBER, *, age_days: int = 400, suspended: bool = False
) -> User:
    n = next(_serial)
    user = await User.create(
        handle=f"{prefix}_{n}",
        display_name=f"{prefix} {n}",
        role=role,
        created_at=utcnow() - timedelta(days=age_days),
        suspended_at=utcnow() if suspended else None,
    )
    if role is Role.STAR:
        await StarProfile.create(user_id=user.pk, star_since=utcnow())
    return user


async def token_for(user: User, scope: TokenScope = TokenScope.FULL) -> str:
    return await issue_token(user, scope)


async def make_board(prefix: str) -> Board:
    n = next(_serial)
    return await Board.create(slug=f"{prefix}-board-{n}", name=f"{prefix} board {n}")


async def make_post(author: User, board: Board, *, status: PostStatus = PostStatus.PUBLISHED, **fields: object) -> Post:
    n = next(_serial)
    now = utcnow()
    values: dict[str, object] = {
        "slug": f"post-{author.handle}-{n}".replace("_", "-"),
        "title": f"Post {n}",
        "body": f"Body of post {n}",
        "created_at": now,
        "published_at": now if status is PostStatus.PUBLISHED else None,
    }
    values.update(fields)
    return await Post.create(author=author, board=board, status=status, **values)


async def make_faq(status: FaqStatus = FaqStatus.PUBLISHED) -> Faq:
    n = next(_serial)
    category, _ = await FaqCategory.get_or_create(slug="test-faqs", defaults={"name": "Test FAQs"})
    now = utcnow()
    return await Faq.create(slug=f"test-faq-{n}", title=f"Test FAQ {n}", body=f"Answer {n}", category=category,
                            status=status, created_at=now, updated_at=now,
                            published_at=now if status is FaqStatus.PUBLISHED else None)


async def make_issue(status: IssueStatus = IssueStatus.INVESTIGATING) -> Issue:
    # Numbered after the highest, as createIssue numbers them, so that neither takes the other's number.
    latest = await Issue.all().order_by("-number").first()
    number = (latest.number if latest else 1000) + 1
    now = utcnow()
    return await Issue.create(number=number, title=f"Test issue {number}", description="It happens.", status=status,
                              created_at=now, updated_at=now)


async def make_application(applicant: User, status: ApplicationStatus = ApplicationStatus.SUBMITTED) -> StarApplication:
    now = utcnow()
    return await StarApplication.create(user=applicant, status=status, date_of_birth=date(1990, 1, 1), motivation="m" * 60,
                                        weekly_minutes=60, submitted_at=now, updated_at=now)
