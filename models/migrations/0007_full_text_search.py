"""Full-text search indexes (work item #13): what `search` matches through (models/search.py).

Every FAQ, issue and post is indexed, whatever its status: visibility (drafts, pending and hidden
posts) is applied by the query, so no moderation change has to touch the index.

- PostgreSQL: a generated column `search_vector` on `faqs`, `issues` and `posts` (the title
  weighted A, the body B), through the text search configuration `search_english` (English
  stemming; accents folded by the `unaccent` dictionary when the server has that extension, else
  kept and said in the log), with a GIN index. A generated column is exact after every INSERT,
  UPDATE, DELETE and TRUNCATE by construction; ADD COLUMN computes it for every existing row.
- SQLite: an FTS5 table per kind (`faqs_search`, `issues_search`, `posts_search`), external
  content (the text stays in the table itself; FTS5 keeps only its index), tokenizer `porter
  unicode61 remove_diacritics 2` (English stemming, case and accent folding), kept by triggers
  on INSERT, DELETE and UPDATE of the text columns, and rebuilt from the existing rows here. The
  indexed tables are not rebuilt, so the counters' triggers on them stay.

The columns and tables are not in the Tortoise models (no model change for the autodetector):
the search reads them with SQL of its own. Reversible: the backward step drops what the forward
step made, except the `unaccent` extension (other code may use it; harmless when left).
"""

import logging

from tortoise import migrations
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# Indexed table -> (title column, body column). models/search.py reads the same names.
INDEXED = {"faqs": ("title", "body"), "issues": ("title", "description"), "posts": ("title", "body")}
CONFIGURATION = "search_english"

log = logging.getLogger(__name__)


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        statements = await _postgres_forward(client)
    else:
        statements = _sqlite_forward()
    for statement in statements:
        await client.execute_script(statement)


async def drop_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        statements = [f'ALTER TABLE "{table}" DROP COLUMN IF EXISTS "search_vector"' for table in INDEXED]
        statements.append(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIGURATION}")
    else:
        statements = [f'DROP TRIGGER IF EXISTS "{table}_search_{event}"' for table in INDEXED
                      for event in ("insert", "delete", "update")]
        statements += [f'DROP TABLE IF EXISTS "{table}_search"' for table in INDEXED]
    for statement in statements:
        await client.execute_script(statement)


async def _postgres_forward(client: BaseDBAsyncClient) -> list[str]:
    _, rows = await client.execute_query("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
    statements = [f"CREATE TEXT SEARCH CONFIGURATION {CONFIGURATION} (COPY = pg_catalog.english)"]
    if rows:
        # The unaccent dictionary folds accents before the English stemmer sees each word.
        statements.insert(0, "CREATE EXTENSION IF NOT EXISTS unaccent")
        statements.append(f"ALTER TEXT SEARCH CONFIGURATION {CONFIGURATION} "
                          "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem")
    else:
        log.warning("PostgreSQL has no unaccent extension: search will not fold accents")
    for table, (title, body) in INDEXED.items():
        statements += [
            (f'ALTER TABLE "{table}" ADD COLUMN "search_vector" tsvector GENERATED ALWAYS AS ('
             f"setweight(to_tsvector('{CONFIGURATION}'::regconfig, coalesce(\"{title}\", '')), 'A') || "
             f"setweight(to_tsvector('{CONFIGURATION}'::regconfig, coalesce(\"{body}\", '')), 'B')) STORED"),
            f'CREATE INDEX "{table}_search_vector" ON "{table}" USING gin ("search_vector")',
        ]
    return statements


def _sqlite_forward() -> list[str]:
    statements = []
    for table, (title, body) in INDEXED.items():
        index = f"{table}_search"
        new = f"new.id, new.{title}, new.{body}"
        old = f"'delete', old.id, old.{title}, old.{body}"
        statements += [
            (f"CREATE VIRTUAL TABLE \"{index}\" USING fts5({title}, {body}, content='{table}', content_rowid='id', "
             "tokenize='porter unicode61 remove_diacritics 2')"),
            (f'CREATE TRIGGER "{index}_insert" AFTER INSERT ON "{table}" BEGIN '
             f'INSERT INTO "{index}"(rowid, {title}, {body}) VALUES ({new}); END'),
            (f'CREATE TRIGGER "{index}_delete" AFTER DELETE ON "{table}" BEGIN '
             f'INSERT INTO "{index}"("{index}", rowid, {title}, {body}) VALUES ({old}); END'),
            # Only a change of the text touches the index (a status change does not).
            (f'CREATE TRIGGER "{index}_update" AFTER UPDATE OF {title}, {body} ON "{table}" BEGIN '
             f'INSERT INTO "{index}"("{index}", rowid, {title}, {body}) VALUES ({old}); '
             f'INSERT INTO "{index}"(rowid, {title}, {body}) VALUES ({new}); END'),
            f"INSERT INTO \"{index}\"(\"{index}\") VALUES ('rebuild')",
        ]
    return statements


class Migration(migrations.Migration):
    dependencies = [('models', '0006_page_content')]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
