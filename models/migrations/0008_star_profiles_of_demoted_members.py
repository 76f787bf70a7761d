"""Demoted members lose their Star profile (work item #14).

Members demoted from STAR before `models.stars.change_role` existed kept their `star_profiles`
row: `stars` and `starSince` still read it, and they could not apply again. This applies to
them what `change_role` now does on a demotion to MEMBER: the profile goes (staff keep theirs,
as `change_role` leaves them). `change_role` writes no audit record itself (its caller,
`setUserRole`, recorded the demotion back then), but rows deleted by a migration should be
traceable: each member cleaned gets one `moderation_actions` row, `DROP_STAR_PROFILE` on the
USER, with no actor (NULL: the system, as for an actor whose account was deleted).

In batches of BATCH members (ordered by user id, so each batch starts where the last ended),
in SQL valid on SQLite and PostgreSQL; idempotent: on a clean database, or run again, it finds no
member with a profile and changes nothing. Not reversible in data: reversing it leaves the
profiles deleted (their `star_since` and `languages` cannot be known again).
"""

from datetime import UTC, datetime

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

BATCH = 500
ACTION = "DROP_STAR_PROFILE"
REASON = "Star profile of a member demoted before change_role removed it (migration 0008)"


async def drop_profiles_of_members(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"

    def marks(count: int, first: int = 1) -> str:
        return ", ".join(f"${n}" if postgres else "?" for n in range(first, first + count))

    after = 0
    while True:
        rows = await client.execute_query_dict(
            'SELECT p."user_id" FROM "star_profiles" AS p JOIN "users" AS u ON u."id" = p."user_id"'
            f' WHERE u."role" = \'MEMBER\' AND p."user_id" > {marks(1)} ORDER BY p."user_id" LIMIT {BATCH}', [after])
        user_ids = [row["user_id"] for row in rows]
        if not user_ids:
            return
        now = datetime.now(UTC)
        rows_sql = ", ".join(f"(NULL, 'USER', {marks(3, 3 * n + 1)}, '{ACTION}')" for n in range(len(user_ids)))
        await client.execute_query(
            'INSERT INTO "moderation_actions" ("actor_id", "target_kind", "target_id", "reason", "created_at", "action")'
            f" VALUES {rows_sql}", [value for pk in user_ids for value in (pk, REASON, now)])
        await client.execute_query(f'DELETE FROM "star_profiles" WHERE "user_id" IN ({marks(len(user_ids))})', user_ids)
        after = user_ids[-1]


async def nothing_to_undo(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """The deleted profiles cannot be rebuilt; going back leaves them deleted."""


class Migration(migrations.Migration):
    dependencies = [('models', '0007_full_text_search')]

    initial = False

    operations = [
        ops.RunPython(drop_profiles_of_members, nothing_to_undo),
    ]
