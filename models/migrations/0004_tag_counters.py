"""Counters of each tag's posts, kept by triggers (models/counted.py, `COUNTED_LINKS`: why and how).

Adds `tags.post_count` (every post with the tag) and `tags.published_post_count`, creates the
triggers on `post_tags` (a link coming or going) and `posts` (a status change passing PUBLISHED,
a deletion) for the connection's dialect, and computes both counters from the rows already there.

The SQL is frozen here as text, not generated when this runs: what this migration does must not
change when models/counted.py changes later (`tests/test_counters.py` checks that the generator
still produces exactly this; a change there needs a new migration that replaces these triggers).
On PostgreSQL each CREATE TRIGGER locks its table against writes until this migration commits,
so no row can slip between the triggers and the counts.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

CREATE = {
    "sqlite": [
        """CREATE TRIGGER post_tags_counters_insert AFTER INSERT ON post_tags FOR EACH ROW
BEGIN
  UPDATE tags SET post_count = post_count + 1, published_post_count = published_post_count + (SELECT (CASE WHEN t.status = 'PUBLISHED' THEN 1 ELSE 0 END) FROM posts AS t WHERE t.id = NEW.post_id) WHERE id = NEW.tag_id AND EXISTS (SELECT 1 FROM posts AS t WHERE t.id = NEW.post_id);
END""",
        """CREATE TRIGGER post_tags_counters_update AFTER UPDATE OF tag_id, post_id ON post_tags FOR EACH ROW WHEN OLD.tag_id IS NOT NEW.tag_id OR OLD.post_id IS NOT NEW.post_id
BEGIN
  UPDATE tags SET post_count = post_count - 1, published_post_count = published_post_count - (SELECT (CASE WHEN t.status = 'PUBLISHED' THEN 1 ELSE 0 END) FROM posts AS t WHERE t.id = OLD.post_id) WHERE id = OLD.tag_id AND EXISTS (SELECT 1 FROM posts AS t WHERE t.id = OLD.post_id);
  UPDATE tags SET post_count = post_count + 1, published_post_count = published_post_count + (SELECT (CASE WHEN t.status = 'PUBLISHED' THEN 1 ELSE 0 END) FROM posts AS t WHERE t.id = NEW.post_id) WHERE id = NEW.tag_id AND EXISTS (SELECT 1 FROM posts AS t WHERE t.id = NEW.post_id);
END""",
        """CREATE TRIGGER post_tags_counters_delete AFTER DELETE ON post_tags FOR EACH ROW
BEGIN
  UPDATE tags SET post_count = post_count - 1, published_post_count = published_post_count - (SELECT (CASE WHEN t.status = 'PUBLISHED' THEN 1 ELSE 0 END) FROM posts AS t WHERE t.id = OLD.post_id) WHERE id = OLD.tag_id AND EXISTS (SELECT 1 FROM posts AS t WHERE t.id = OLD.post_id);
END""",
        """CREATE TRIGGER posts_tags_counters_update AFTER UPDATE OF status ON posts FOR EACH ROW WHEN (OLD.status = 'PUBLISHED') IS NOT (NEW.status = 'PUBLISHED')
BEGIN
  UPDATE tags SET published_post_count = published_post_count + ((CASE WHEN NEW.status = 'PUBLISHED' THEN 1 ELSE 0 END) - (CASE WHEN OLD.status = 'PUBLISHED' THEN 1 ELSE 0 END)) * (SELECT COUNT(*) FROM post_tags AS c WHERE c.post_id = NEW.id AND c.tag_id = tags.id) WHERE id IN (SELECT c.tag_id FROM post_tags AS c WHERE c.post_id = NEW.id);
END""",
        """CREATE TRIGGER posts_tags_counters_delete BEFORE DELETE ON posts FOR EACH ROW
BEGIN
  UPDATE tags SET post_count = post_count + -1 * (SELECT COUNT(*) FROM post_tags AS c WHERE c.post_id = OLD.id AND c.tag_id = tags.id), published_post_count = published_post_count + -(CASE WHEN OLD.status = 'PUBLISHED' THEN 1 ELSE 0 END) * (SELECT COUNT(*) FROM post_tags AS c WHERE c.post_id = OLD.id AND c.tag_id = tags.id) WHERE id IN (SELECT c.tag_id FROM post_tags AS c WHERE c.post_id = OLD.id);
END""",
    ],
    "postgres": [
        """CREATE OR REPLACE FUNCTION post_tags_counters_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM posts AS t WHERE t.id IN (SELECT c.post_id FROM (SELECT tag_id, post_id, 1 AS d FROM new_rows) AS c) ORDER BY t.id FOR SHARE OF t;
  PERFORM 1 FROM tags AS p, (SELECT c.tag_id AS id, SUM(c.d) AS n0, SUM(CASE WHEN t.status = 'PUBLISHED' THEN c.d ELSE 0 END) AS n1 FROM (SELECT tag_id, post_id, 1 AS d FROM new_rows) AS c JOIN posts AS t ON t.id = c.post_id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id AND (s.n0 <> 0 OR s.n1 <> 0) ORDER BY p.id FOR NO KEY UPDATE OF p;
  UPDATE tags AS p SET post_count = p.post_count + s.n0, published_post_count = p.published_post_count + s.n1
    FROM (SELECT c.tag_id AS id, SUM(c.d) AS n0, SUM(CASE WHEN t.status = 'PUBLISHED' THEN c.d ELSE 0 END) AS n1 FROM (SELECT tag_id, post_id, 1 AS d FROM new_rows) AS c JOIN posts AS t ON t.id = c.post_id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id AND (s.n0 <> 0 OR s.n1 <> 0);
  RETURN NULL;
END $$""",
        'CREATE TRIGGER post_tags_counters_insert AFTER INSERT ON post_tags REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION post_tags_counters_insert()',
        """CREATE OR REPLACE FUNCTION post_tags_counters_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM posts AS t WHERE t.id IN (SELECT c.post_id FROM (SELECT OLD.tag_id AS tag_id, OLD.post_id AS post_id, -1 AS d UNION ALL SELECT NEW.tag_id, NEW.post_id, 1) AS c) ORDER BY t.id FOR SHARE OF t;
  PERFORM 1 FROM tags AS p, (SELECT c.tag_id AS id, SUM(c.d) AS n0, SUM(CASE WHEN t.status = 'PUBLISHED' THEN c.d ELSE 0 END) AS n1 FROM (SELECT OLD.tag_id AS tag_id, OLD.post_id AS post_id, -1 AS d UNION ALL SELECT NEW.tag_id, NEW.post_id, 1) AS c JOIN posts AS t ON t.id = c.post_id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id AND (s.n0 <> 0 OR s.n1 <> 0) ORDER BY p.id FOR NO KEY UPDATE OF p;
  UPDATE tags AS p SET post_count = p.post_count + s.n0, published_post_count = p.published_post_count + s.n1
    FROM (SELECT c.tag_id AS id, SUM(c.d) AS n0, SUM(CASE WHEN t.status = 'PUBLISHED' THEN c.d ELSE 0 END) AS n1 FROM (SELECT OLD.tag_id AS tag_id, OLD.post_id AS post_id, -1 AS d UNION ALL SELECT NEW.tag_id, NEW.post_id, 1) AS c JOIN posts AS t ON t.id = c.post_id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id AND (s.n0 <> 0 OR s.n1 <> 0);
  RETURN NULL;
END $$""",
        'CREATE TRIGGER post_tags_counters_update AFTER UPDATE ON post_tags FOR EACH ROW WHEN (OLD.tag_id IS DISTINCT FROM NEW.tag_id OR OLD.post_id IS DISTINCT FROM NEW.post_id) EXECUTE FUNCTION post_tags_counters_update()',
        """CREATE OR REPLACE FUNCTION post_tags_counters_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM posts AS t WHERE t.id IN (SELECT c.post_id FROM (SELECT tag_id, post_id, -1 AS d FROM old_rows) AS c) ORDER BY t.id FOR SHARE OF t;
  PERFORM 1 FROM tags AS p, (SELECT c.tag_id AS id, SUM(c.d) AS n0, SUM(CASE WHEN t.status = 'PUBLISHED' THEN c.d ELSE 0 END) AS n1 FROM (SELECT tag_id, post_id, -1 AS d FROM old_rows) AS c JOIN posts AS t ON t.id = c.post_id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id AND (s.n0 <> 0 OR s.n1 <> 0) ORDER BY p.id FOR NO KEY UPDATE OF p;
  UPDATE tags AS p SET post_count = p.post_count + s.n0, published_post_count = p.published_post_count + s.n1
    FROM (SELECT c.tag_id AS id, SUM(c.d) AS n0, SUM(CASE WHEN t.status = 'PUBLISHED' THEN c.d ELSE 0 END) AS n1 FROM (SELECT tag_id, post_id, -1 AS d FROM old_rows) AS c JOIN posts AS t ON t.id = c.post_id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id AND (s.n0 <> 0 OR s.n1 <> 0);
  RETURN NULL;
END $$""",
        'CREATE TRIGGER post_tags_counters_delete AFTER DELETE ON post_tags REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION post_tags_counters_delete()',
        """CREATE OR REPLACE FUNCTION posts_tags_counters_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM tags AS p, (SELECT c.tag_id AS id, COUNT(*) AS n FROM post_tags AS c WHERE c.post_id = NEW.id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id ORDER BY p.id FOR NO KEY UPDATE OF p;
  UPDATE tags AS p SET published_post_count = p.published_post_count + s.n * ((CASE WHEN NEW.status = 'PUBLISHED' THEN 1 ELSE 0 END) - (CASE WHEN OLD.status = 'PUBLISHED' THEN 1 ELSE 0 END))
    FROM (SELECT c.tag_id AS id, COUNT(*) AS n FROM post_tags AS c WHERE c.post_id = NEW.id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id;
  RETURN NULL;
END $$""",
        "CREATE TRIGGER posts_tags_counters_update AFTER UPDATE ON posts FOR EACH ROW WHEN ((OLD.status = 'PUBLISHED') IS DISTINCT FROM (NEW.status = 'PUBLISHED')) EXECUTE FUNCTION posts_tags_counters_update()",
        """CREATE OR REPLACE FUNCTION posts_tags_counters_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM tags AS p, (SELECT c.tag_id AS id, COUNT(*) AS n FROM post_tags AS c WHERE c.post_id = OLD.id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id ORDER BY p.id FOR NO KEY UPDATE OF p;
  UPDATE tags AS p SET post_count = p.post_count + s.n * -1, published_post_count = p.published_post_count + s.n * -(CASE WHEN OLD.status = 'PUBLISHED' THEN 1 ELSE 0 END)
    FROM (SELECT c.tag_id AS id, COUNT(*) AS n FROM post_tags AS c WHERE c.post_id = OLD.id GROUP BY c.tag_id) AS s
    WHERE p.id = s.id;
  RETURN OLD;
END $$""",
        'CREATE TRIGGER posts_tags_counters_delete BEFORE DELETE ON posts FOR EACH ROW EXECUTE FUNCTION posts_tags_counters_delete()',
    ],
}

DROP = {
    "sqlite": [
        'DROP TRIGGER IF EXISTS post_tags_counters_insert',
        'DROP TRIGGER IF EXISTS post_tags_counters_update',
        'DROP TRIGGER IF EXISTS post_tags_counters_delete',
        'DROP TRIGGER IF EXISTS posts_tags_counters_update',
        'DROP TRIGGER IF EXISTS posts_tags_counters_delete',
    ],
    "postgres": [
        'DROP TRIGGER IF EXISTS post_tags_counters_insert ON post_tags',
        'DROP FUNCTION IF EXISTS post_tags_counters_insert()',
        'DROP TRIGGER IF EXISTS post_tags_counters_update ON post_tags',
        'DROP FUNCTION IF EXISTS post_tags_counters_update()',
        'DROP TRIGGER IF EXISTS post_tags_counters_delete ON post_tags',
        'DROP FUNCTION IF EXISTS post_tags_counters_delete()',
        'DROP TRIGGER IF EXISTS posts_tags_counters_update ON posts',
        'DROP FUNCTION IF EXISTS posts_tags_counters_update()',
        'DROP TRIGGER IF EXISTS posts_tags_counters_delete ON posts',
        'DROP FUNCTION IF EXISTS posts_tags_counters_delete()',
    ],
}

# The counters from the rows already there: the links whose post exists, as the triggers count.
RECOUNT = [
    'UPDATE tags SET post_count = (SELECT COUNT(*) FROM post_tags AS c JOIN posts AS t ON t.id = c.post_id WHERE c.tag_id = tags.id) WHERE post_count <> (SELECT COUNT(*) FROM post_tags AS c JOIN posts AS t ON t.id = c.post_id WHERE c.tag_id = tags.id)',
    "UPDATE tags SET published_post_count = (SELECT COUNT(*) FROM post_tags AS c JOIN posts AS t ON t.id = c.post_id WHERE c.tag_id = tags.id AND t.status = 'PUBLISHED') WHERE published_post_count <> (SELECT COUNT(*) FROM post_tags AS c JOIN posts AS t ON t.id = c.post_id WHERE c.tag_id = tags.id AND t.status = 'PUBLISHED')",
]


async def _run(schema_editor: BaseSchemaEditor, statements: list[str]) -> None:
    for statement in statements:
        # One statement each: the SQLite editor would split a trigger's body at its semicolons.
        await schema_editor.client.execute_query(statement)


async def create_tag_counters(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, CREATE[schema_editor.client.capabilities.dialect])
    await _run(schema_editor, RECOUNT)


async def drop_tag_counters(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, DROP[schema_editor.client.capabilities.dialect])


class Migration(migrations.Migration):
    dependencies = [('models', '0003_counters')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Tag',
            name='post_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Tag',
            name='published_post_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(create_tag_counters, drop_tag_counters),
    ]
