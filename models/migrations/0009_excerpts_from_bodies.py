"""Excerpts re-derived from Markdown bodies (work item #12).

`posts.excerpt` is not content of its own: it is always derived from `posts.body` (models/text.py
`excerpt`, called whenever a post is written). Rows written before the body format was settled
hold excerpts cut mid-word or mid-entity and ended with "..." (the seed's "…helping out users).
&n"); this migration rewrites every excerpt that differs from the body's, and no other.

Why it calls the live `models.text.excerpt` rather than a frozen copy: what this migration means
is the invariant "each stored excerpt is what the rule in force derives from its body", and that
meaning does not change when models/text.py does. A later change of the rule leaves every stored
excerpt stale, so it must ship its own data migration anyway (one line: call `rederive_excerpts`
again); a database migrated from scratch after it gets the new rule's excerpts here and the same
ones again there (the work is idempotent), never an excerpt that no code would write. A frozen
copy would instead write the old rule's excerpts only for the later migration to overwrite them,
and keep a second copy of the Markdown-to-text code (with its markdown-it and nh3 setup) to drift.
The contract this file relies on, then: `models.text.excerpt(markdown: str) -> str` keeps its
name and signature (changing them means editing the import below).

Batches of BATCH_SIZE rows, keyset by id (`WHERE id > last ORDER BY id LIMIT n`: each batch one
index range, memory bounded whatever the table's size); only the rows whose excerpt changes are
written, in one `executemany` per batch. No reverse: the old excerpts were wrong and are not kept;
re-deriving is idempotent, so migrating down and up again is harmless.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

BATCH_SIZE = 500


async def rederive_excerpts(client: Any, batch_size: int = BATCH_SIZE, after_id: int = 0) -> int:
    """Set each post's excerpt (of the posts after `after_id`, to resume) to the one its body
    gives, batch by batch; how many rows changed."""
    from models.text import excerpt  # the rule in force (see the module's docstring)

    postgres = client.capabilities.dialect == "postgres"
    after, limit, value, key = ("$1", "$2", "$1", "$2") if postgres else ("?", "?", "?", "?")
    select = f'SELECT "id", "body", "excerpt" FROM "posts" WHERE "id" > {after} ORDER BY "id" LIMIT {limit}'
    update = f'UPDATE "posts" SET "excerpt" = {value} WHERE "id" = {key}'
    changed, last_id = 0, after_id
    while True:
        _, rows = await client.execute_query(select, [last_id, batch_size])
        if not rows:
            return changed
        stale = [[derived, row["id"]] for row in rows if (derived := excerpt(row["body"])) != row["excerpt"]]
        if stale:
            await client.execute_many(update, stale)
            changed += len(stale)
        last_id = rows[-1]["id"]


async def excerpts_from_bodies(apps: Any, schema_editor: Any) -> None:
    await rederive_excerpts(schema_editor.client)


async def old_excerpts_are_not_kept(apps: Any, schema_editor: Any) -> None:
    """Nothing to undo: see the module's docstring."""


class Migration(migrations.Migration):
    dependencies = [('models', '0008_star_profiles_of_demoted_members')]

    initial = False

    operations = [
        ops.RunPython(excerpts_from_bodies, old_excerpts_are_not_kept),
    ]
