"""What the landing page's content needed (work item #12).

- `faq_views`: one row per visitor counted per FAQ and window; its unique key is what makes
  `recordFaqView` count each visitor once per window, exactly (models/faqs.py `FaqView`).
- `posts.featured_star_id`: the Star a "Meet the Stars" post introduces (nullable, SET NULL).
- `announcements.link_url` / `link_label`: an announcement's call to action (nullable).
- `stars_values.icon`: now one of `ProgramIcon` (the values stored are already its values).

A database seeded before this migration gets the seed's values for the new columns here, once
(the seed leaves rows that exist alone): the three intros' Stars and the two announcements'
links, frozen below, each only where its row exists and the column is still empty.

Columns are added with ADD COLUMN: on SQLite the counted table `posts` is not rebuilt, so its
triggers stay (tests/test_counters.py checks the migrated database has them all).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

from models.stars import ProgramIcon

# models/seed/community.toml as of this migration: post slug -> the Star's handle; announcement
# title -> (url, label).
INTRODUCED_STARS = {
    "backstage-intro-meet-vincent": "vincent",
    "backstage-intro-meet-leticia": "ribezaz",
    "backstage-intro-meet-susana": "susana",
}
ANNOUNCEMENT_LINKS = {
    "Meet the Stars: Backstage intros are back":
        ("https://community.spotify.com/t5/Spotify-Stars-Blog/bg-p/stars-blog", "Read the latest intro"),
    "Wrapped questions? Start here": ("https://community.spotify.com/t5/FAQs/wrapped-questions", "Read the Wrapped FAQ"),
}


async def fill_seeded_content(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    a, b, c = ("$1", "$2", "$3") if postgres else ("?", "?", "?")
    for slug, handle in INTRODUCED_STARS.items():
        await client.execute_query(
            f'UPDATE "posts" SET "featured_star_id" = (SELECT "id" FROM "users" WHERE "handle" = {a}) '
            f'WHERE "slug" = {b} AND "featured_star_id" IS NULL', [handle, slug])
    for title, (url, label) in ANNOUNCEMENT_LINKS.items():
        await client.execute_query(
            f'UPDATE "announcements" SET "link_url" = {a}, "link_label" = {b} WHERE "title" = {c} AND "link_url" IS NULL',
            [url, label, title])


async def nothing_to_undo(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """Reversing the AddFields drops what `fill_seeded_content` wrote."""


class Migration(migrations.Migration):
    dependencies = [('models', '0005_token_budgets')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FaqView',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('faq', fields.ForeignKeyField('models.Faq', source_field='faq_id', db_constraint=True, to_field='id', related_name='view_marks', on_delete=OnDelete.CASCADE)),
                ('visitor', fields.CharField(max_length=64)),
                ('window_start', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'faq_views', 'app': 'models', 'unique_together': [('faq', 'visitor', 'window_start')], 'pk_attr': 'id', 'table_description': "A visitor's counted view of an FAQ in one window of time."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Announcement',
            name='link_label',
            field=fields.CharField(null=True, max_length=60),
        ),
        ops.AddField(
            model_name='Announcement',
            name='link_url',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='Post',
            name='featured_star',
            field=fields.ForeignKeyField('models.User', source_field='featured_star_id', null=True, db_constraint=True, to_field='id', related_name='featured_in_posts', on_delete=OnDelete.SET_NULL),
        ),
        ops.AlterField(
            model_name='ProgramValue',
            name='icon',
            field=fields.CharEnumField(description='RESPECT: respect\nINCLUSION: inclusion\nSUPPORT: support\nTEAMWORK: teamwork\nFUN: fun\nRESPONSIBILITY: responsibility', enum_type=ProgramIcon, max_length=60),
        ),
        ops.RunPython(fill_seeded_content, nothing_to_undo),
    ]
