"""Demoted members lose their Star profile (work item #14)."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [('models', '0007_full_text_search')]

    initial = False

    operations: list = []
