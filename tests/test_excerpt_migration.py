"""Migration 0009: every stored excerpt becomes the one its body gives, in keyset batches."""

from __future__ import annotations

import importlib

from tortoise import Tortoise

from models.posts import Post
from models.text import excerpt
from tests.factories import make_board, make_post, make_user
from tests.support import count_sql

migration = importlib.import_module("models.migrations.0009_excerpts_from_bodies")

INTRO = ("Vincent has been **helping out** users on the Help board since 2019 &amp; knows every setting of the "
         "desktop app by heart. Ask him about [equalizer presets](https://example.com/eq) or offline "
         "downloads, crossfade, gapless playback and the rest of the playback menu.")
# What the seed wrote before #12: cut mid-word and mid-entity, ended with "...".
OLD_STYLE = "Vincent has been **helping out** users on the Help board since 2019 &am..."


async def test_old_excerpts_are_derived_again_from_bodies_and_right_ones_are_left_alone(db: str) -> None:
    author, board = await make_user("excerpt"), await make_board("excerpt")
    first = await make_post(author, board, body=INTRO, excerpt=excerpt(INTRO))
    stale = await make_post(author, board, body=INTRO)
    right = await make_post(author, board, body="Short and *plain*.", excerpt="Short and plain.")
    connection = Tortoise.get_connection("default")
    await connection.execute_query(f'UPDATE "posts" SET "excerpt" = \'{OLD_STYLE}\' WHERE "id" = {stale.pk}')

    with count_sql() as sql:
        changed = await migration.rederive_excerpts(connection, batch_size=2, after_id=first.pk - 1)

    assert changed == 1
    rows = {row["id"]: row["excerpt"] for row in await Post.filter(author_id=author.pk).values("id", "excerpt")}
    assert rows == {first.pk: excerpt(INTRO), stale.pk: excerpt(INTRO), right.pk: "Short and plain."}
    assert rows[stale.pk].endswith("playback…") and "&am" not in rows[stale.pk] and "**" not in rows[stale.pk]
    # Three rows in batches of two: two SELECTs with rows, one that finds none, and one write for
    # the one stale row (the rows already right are not written).
    selects = [s for s in sql.statements if "SELECT" in s]
    writes = [s for s in sql.statements if "UPDATE" in s]
    assert (len(selects), len(writes)) == (3, 1), sql.statements

    # Idempotent: a second run finds nothing to change and writes nothing.
    with count_sql() as again:
        assert await migration.rederive_excerpts(connection, batch_size=2, after_id=first.pk - 1) == 0
    assert not [s for s in again.statements if "UPDATE" in s]
