"""The read path's rows (`models.lean`) hold exactly what Tortoise's own instances hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise import Tortoise
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models import lean
from models.accounts import Role, User
from models.base import utcnow
from models.posts import Board, Post, PostStatus
from tests.factories import make_post, make_user
from tests.support import count_sql


def columns(row: Model) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row._meta.fields_db_projection}


async def test_lean_rows_equal_tortoise_instances(db: str) -> None:
    # Every table the seed fills (and those it leaves empty) through both paths, column by column.
    compared = 0
    for model in sorted(Tortoise.apps.get_models_iterable(), key=lambda model: model.__name__):
        queryset = model.all().order_by(model._meta.pk_attr).limit(200)
        built, tortoise_rows = await lean.fetch(queryset), await queryset
        assert [columns(row) for row in built] == [columns(row) for row in tortoise_rows], model
        for mine, theirs in zip(built, tortoise_rows):
            assert type(mine) is model and mine.pk == theirs.pk
            for name in model._meta.fields_db_projection:
                # Same types: enum members (not strings), bools (not SQLite's 0/1), aware datetimes.
                assert type(getattr(mine, name)) is type(getattr(theirs, name)), (model, name)
            compared += 1
    assert compared > 100


async def test_datetimes_are_aware_utc_and_enums_are_members(db: str) -> None:
    author = await make_user("lean_author", Role.MEMBER)
    board = await Board.get(slug="chat")
    post = await make_post(author, board, status=PostStatus.HIDDEN, published_at=utcnow() - timedelta(days=3))
    [row] = await lean.fetch(Post.filter(pk=post.pk))
    assert row.status is PostStatus.HIDDEN
    assert row.published_at is not None and row.published_at.utcoffset() == timedelta(0)
    assert row.published_at == (await Post.get(pk=post.pk)).published_at
    assert row.locked is False and row.pinned is False


async def test_querysets_that_are_not_plain_are_left_to_tortoise(db: str) -> None:
    joined = Post.all().select_related("author").limit(3)
    assert not lean.is_plain(joined)
    rows = await lean.fetch(joined)
    assert rows and all(row.author.pk == row.author_id for row in rows)


async def test_a_keyed_statement_is_built_once_and_reused_with_new_keys(db: str) -> None:
    users = await User.all().order_by("id").limit(6)
    first, second = [user.pk for user in users[:3]], [user.pk for user in users[3:]]
    owner = ("test", "users by id")

    def by_ids(keys: list[int]) -> QuerySet[User]:
        return User.filter(pk__in=keys)

    with count_sql() as sql:
        rows = await lean.fetch_keyed(owner, by_ids, first)
        again = await lean.fetch_keyed(owner, by_ids, second)
    assert sorted(row.pk for row in rows) == first and sorted(row.pk for row in again) == second
    assert [columns(row) for row in again] == [columns(row) for row in await User.filter(pk__in=second).order_by("id")]
    # The same text, new parameters: built by Tortoise the first time, reused the second.
    assert sql.statements[0].split(":")[0] == sql.statements[1].split(":")[0]
    assert (owner, 3) in lean._keyed_statements


async def test_a_statement_with_other_parameters_is_built_every_time(db: str) -> None:
    owner = ("test", "published posts by author")

    def published(keys: list[int]) -> QuerySet[Post]:
        return Post.filter(author_id__in=keys, status=PostStatus.PUBLISHED)

    author = await make_user("lean_keyed", Role.MEMBER)
    await lean.fetch_keyed(owner, published, [author.pk])
    assert (owner, 1) not in lean._keyed_statements
