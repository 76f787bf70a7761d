"""Rows for tests that need their own data, built through the ORM (never mocked)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from models.accounts import Role, TokenScope, User, issue_token
from models.base import utcnow
from models.posts import Board, Post, PostStatus
from models.stars import StarProfile

_serial = itertools.count(1)


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
