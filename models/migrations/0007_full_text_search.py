"""Full-text search indexes (work item #13)."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [('models', '0006_page_content')]

    initial = False

    operations: list = []
