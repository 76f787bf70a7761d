"""A token may carry a rate-limit budget of its own (`access_tokens.rate_limit_points`).

Nullable, so every token already issued keeps its user's shared budget; only an operator sets
it (`community-api token create HANDLE --points N`), for a server-side renderer. One column
added, no table rebuilt: on SQLite an ADD COLUMN, which leaves the table's triggers alone.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0004_tag_counters')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AccessToken',
            name='rate_limit_points',
            field=fields.IntField(null=True),
        ),
    ]
