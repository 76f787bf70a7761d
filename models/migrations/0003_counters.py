"""Counters for the big lists' sizes, kept by triggers (models/counted.py says why and how).

Adds the counter columns and `tallies`, then creates the triggers for the connection's dialect
(RunSQL cannot branch on it: RunPython can) and computes every counter from the rows already
there. On PostgreSQL each CREATE TRIGGER locks its table against writes until this migration
commits, so no row can slip between the triggers and the counts.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

from models.counted import CountedTable, Counter, create_triggers_sql, drop_triggers_sql, recount

# What the triggers count as of this migration: models.counted.COUNTED, frozen (a test keeps the
# two equal; a change there needs a migration that replaces these triggers).
COUNTED = (
    CountedTable("posts", "status", (
        Counter("boards", "board_id", "post_count"),
        Counter("boards", "board_id", "published_post_count", "PUBLISHED"),
        Counter("users", "author_id", "published_post_count", "PUBLISHED"),
    )),
    CountedTable("replies", "status", (Counter("posts", "post_id", "reply_count", "PUBLISHED"),)),
    CountedTable("faqs", "status", (
        Counter("faq_categories", "category_id", "faq_count"),
        Counter("faq_categories", "category_id", "published_faq_count", "PUBLISHED"),
    )),
    CountedTable("users", "role"),
    CountedTable("issues", "status"),
    CountedTable("issue_updates", None, (Counter("issues", "issue_id", "update_count"),)),
)


async def _run(schema_editor: BaseSchemaEditor, statements: list[str]) -> None:
    for statement in statements:
        # One statement each. The SQLite editor would split a trigger's body at its semicolons
        # (it runs scripts statement by statement, to stay inside the migration's transaction).
        await schema_editor.client.execute_query(statement)


async def create_counters(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, create_triggers_sql(schema_editor.client.capabilities.dialect, COUNTED))
    # The rows already there; from here on the triggers count.
    await recount(schema_editor.client, specs=COUNTED)


async def drop_counters(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, drop_triggers_sql(schema_editor.client.capabilities.dialect, COUNTED))


class Migration(migrations.Migration):
    dependencies = [('models', '0002_issue_subscriptions_by_user')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Tally',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=60)),
                ('n', fields.BigIntField(default=0, db_default=0)),
            ],
            options={'table': 'tallies', 'app': 'models', 'pk_attr': 'name', 'table_description': 'How many rows of a whole table hold one value of its status: `posts.PUBLISHED`, `users.STAR`.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Board',
            name='post_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Board',
            name='published_post_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='FaqCategory',
            name='faq_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='FaqCategory',
            name='published_faq_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Issue',
            name='update_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='User',
            name='published_post_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(create_counters, drop_counters),
    ]
