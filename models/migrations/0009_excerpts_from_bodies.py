"""Excerpts re-derived from Markdown bodies (work item #12)."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [('models', '0008_star_profiles_of_demoted_members')]

    initial = False

    operations: list = []
