"""Prefix indexes for SQLite's full-text tables (work item #13): search as you type in constant time.

The last word of a query is also a prefix (`"passw"*`). Without a prefix index FTS5 answers a
prefix by merging the whole doclist of every term that starts with it, and does it again for every
use of the MATCH in a statement: once for the matches, once for `bm25`'s document frequency, once
per snippet of the page (22 times for a page of 20). For a word most posts hold that is
proportional to the table: 29-31 ms at `seed --scale 10000`, ten times that at 100,000. With
`prefix='1 2 ... 10'` FTS5 also indexes every token's first 1 to 10 characters, so a prefix of
that length is one doclist, read newest first like a word, and stops where the query stops. A
longer prefix is still answered, by merging, as before. Results are the same either way (a prefix
index holds exactly what the merge would give): nothing else changes.

Each FTS5 table is made again with the option and rebuilt from its content table; the triggers of
0007 name the table, not its options, and keep it from then on. The index is larger (about 7x the
full-text index's size; the text itself is not copied: external content). Reversible: the backward
step makes the tables as 0007 did, rebuilt. PostgreSQL: nothing to do (its GIN index answers a
prefix from its sorted entries).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# Indexed table -> (title column, body column), as 0007 made them.
INDEXED = {"faqs": ("title", "body"), "issues": ("title", "description"), "posts": ("title", "body")}
TOKENIZER = "porter unicode61 remove_diacritics 2"
PREFIX_LENGTHS = "1 2 3 4 5 6 7 8 9 10"


def _remake(prefix: str | None) -> list[str]:
    statements = []
    for table, (title, body) in INDEXED.items():
        index = f"{table}_search"
        option = f", prefix='{prefix}'" if prefix else ""
        statements += [
            f'DROP TABLE IF EXISTS "{index}"',
            (f"CREATE VIRTUAL TABLE \"{index}\" USING fts5({title}, {body}, content='{table}', content_rowid='id', "
             f"tokenize='{TOKENIZER}'{option})"),
            f"INSERT INTO \"{index}\"(\"{index}\") VALUES ('rebuild')",
        ]
    return statements


async def _run(schema_editor: BaseSchemaEditor, prefix: str | None) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        return
    for statement in _remake(prefix):
        await client.execute_script(statement)


async def add_prefix_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, PREFIX_LENGTHS)


async def drop_prefix_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, None)


class Migration(migrations.Migration):
    dependencies = [("models", "0009_excerpts_from_bodies")]

    initial = False

    operations = [ops.RunPython(add_prefix_indexes, drop_prefix_indexes)]
