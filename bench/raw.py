"""The raw baseline: the database driver itself (asyncpg on PostgreSQL, aiosqlite on SQLite), the
lean SQL a batched API needs, and orjson. No ORM, no GraphQL: the floor the API is measured against.

Every builder takes a session (`async with db.session() as s`) and returns the `data` the API
answers for its workload; bench/run.py checks each equal to the API's answer before measuring.
The statements are those the API's loaders issue (same tables, filters, order and LIMIT n+1),
with only the columns the answer needs and each relation by one batched statement
(`id = ANY($1)`, `IN (...)` on SQLite), as a dataloader does:

- W2  posts(first: 100) ...tags kudosCount   3 statements: the page, its authors, its tags
- W2b posts(first: 50) ...publishedAt author 2 statements: the page, its authors
- W3  faqs(first: 50, orderBy: POPULAR)      2 statements: the page, its categories
- W1  the landing page (n=5)                 24 statements (the API's 25 less one: a Star's post
                                             count and kudos come from one GROUP BY)

SQL is written once, PostgreSQL-style (`$1`, `= ANY($n)` for a list); SQLite gets `?` and
`IN (?, ...)`. On PostgreSQL a request takes one pool connection for all its statements (a pool
of 1-5 as Tortoise's default, no reset query on release as the API's); on SQLite one aiosqlite
connection serves all requests, as in the API.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

PUBLISHED = "PUBLISHED"
OPEN_ISSUE_STATUSES = ["INVESTIGATING", "IDENTIFIED", "MONITORING"]


def gid(typename: str, pk: int) -> str:
    """The API's global ID (gql/core/relay.py to_global_id)."""
    return base64.urlsafe_b64encode(f"{typename}:{pk}".encode()).decode().rstrip("=")


_PLACEHOLDER = re.compile(r"= ANY\(\$(\d+)\)|\$(\d+)")


def to_sqlite(sql: str, args: Sequence[Any]) -> tuple[str, list[Any]]:
    """`$n` -> `?` and `= ANY($n)` -> `IN (?, ...)`, arguments in the order they now appear."""
    out: list[Any] = []

    def swap(match: re.Match[str]) -> str:
        if match.group(1):
            values = list(args[int(match.group(1)) - 1])
            out.extend(values)
            return "IN (" + ",".join("?" * len(values)) + ")"
        value = args[int(match.group(2)) - 1]
        # Tortoise stores SQLite datetimes as `str(datetime)`; compare like with like.
        out.append(value.isoformat(" ") if isinstance(value, datetime) else value)
        return "?"

    return _PLACEHOLDER.sub(swap, sql), out


class Session:
    """What a builder sees: `fetch(sql, *args)` -> rows (sequences); `iso(value)` -> the API's text."""

    def __init__(self, fetch: Callable[..., Awaitable[Sequence[Sequence[Any]]]], dialect: str) -> None:
        self.fetch = fetch
        self.dialect = dialect
        self.iso = _iso_pg if dialect == "postgres" else _iso_sqlite


def api_datetime(value: datetime) -> str:
    """The API's DateTime text (gql/core/scalars.py serialize_datetime): UTC, milliseconds, `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def _iso_pg(value: datetime | None) -> str | None:
    return api_datetime(value) if value is not None else None


def _iso_sqlite(value: str | None) -> str | None:
    # Stored as str(datetime) ("2024-10-07 09:00:00+00:00"); the API answers its DateTime format.
    return api_datetime(datetime.fromisoformat(value)) if value is not None else None


async def _keep_session(connection: Any) -> None:
    """Nothing to undo on release: no session state is ever set on these connections."""


class RawDB:
    """A driver-level connection (pool) for DATABASE_URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "postgres" if url.startswith("postgres") else "sqlite"
        self._pool: Any = None
        self._sqlite: Any = None

    async def open(self) -> RawDB:
        if self.dialect == "postgres":
            import asyncpg

            # As the API's pool (models/db.py keep_session): no extra reset query on each release.
            self._pool = await asyncpg.create_pool(self.url.replace("postgres://", "postgresql://", 1), min_size=1, max_size=5,
                                                   reset=_keep_session)
        else:
            import aiosqlite

            self._sqlite = await aiosqlite.connect(self.url.split("://", 1)[1], isolation_level=None)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON"):
                await (await self._sqlite.execute(f"PRAGMA {pragma}")).close()
        return self

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        if self._sqlite is not None:
            await self._sqlite.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        if self.dialect == "postgres":
            async with self._pool.acquire() as connection:
                async def fetch_pg(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
                    return await connection.fetch(sql, *args)

                yield Session(fetch_pg, "postgres")
        else:
            connection = self._sqlite

            async def fetch_sqlite(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
                text, values = to_sqlite(sql, args)
                return await connection.execute_fetchall(text, values)

            yield Session(fetch_sqlite, "sqlite")


class Recorder:
    """Records a builder's rows once, then replays them: the builder's cost without the database
    (rows -> dicts -> JSON), for the per-field comparison in bench/run.py."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[Sequence[Sequence[Any]]] = []

    def recording(self) -> Session:
        async def fetch(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
            rows = [tuple(row) for row in await self.session.fetch(sql, *args)]
            self.rows.append(rows)
            return rows

        return Session(fetch, self.session.dialect)

    def replaying(self) -> Session:
        replay = iter(self.rows)

        async def fetch(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
            return next(replay)

        return Session(fetch, self.session.dialect)


# --- users, shared by every list with an author ----------------------------------------------------

async def _authors(s: Session, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    rows = await s.fetch('SELECT "id", "handle", "display_name" FROM "users" WHERE "id" = ANY($1)', list(set(ids)))
    return {pk: {"handle": handle, "displayName": name} for pk, handle, name in rows}


async def _tags(s: Session, post_ids: Sequence[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    for post_id, name in await s.fetch(
            'SELECT "pt"."post_id", "t"."name" FROM "post_tags" "pt" JOIN "tags" "t" ON "t"."id" = "pt"."tag_id" '
            'WHERE "pt"."post_id" = ANY($1) ORDER BY "t"."name"', list(post_ids)):
        tags[post_id].append(name)
    return tags


# --- W2, W2b, W3 -------------------------------------------------------------------------------------

POSTS_PAGE = ('SELECT {columns} FROM "posts" WHERE "status" = $1 '
              'ORDER BY "published_at" DESC, "id" DESC LIMIT $2')


async def posts(s: Session, n: int = 100) -> dict[str, Any]:
    """W2: `posts(first: 100) { nodes { id title author { handle displayName } tags kudosCount } }`."""
    rows = (await s.fetch(POSTS_PAGE.format(columns='"id", "title", "author_id", "kudos_count"'), PUBLISHED, n + 1))[:n]
    authors = await _authors(s, [row[2] for row in rows])
    tags = await _tags(s, [row[0] for row in rows])
    return {"posts": {"nodes": [
        {"id": gid("Post", pk), "title": title, "author": authors[author], "tags": tags.get(pk, []), "kudosCount": kudos}
        for pk, title, author, kudos in rows]}}


async def posts_published(s: Session, n: int = 50) -> dict[str, Any]:
    """W2b: `posts(first: 50) { nodes { id title publishedAt author { handle displayName } } }`."""
    rows = (await s.fetch(POSTS_PAGE.format(columns='"id", "title", "published_at", "author_id"'), PUBLISHED, n + 1))[:n]
    authors = await _authors(s, [row[3] for row in rows])
    iso = s.iso
    return {"posts": {"nodes": [
        {"id": gid("Post", pk), "title": title, "publishedAt": iso(published), "author": authors[author]}
        for pk, title, published, author in rows]}}


async def faqs(s: Session, n: int = 50) -> dict[str, Any]:
    """W3: `faqs(first: 50, orderBy: POPULAR) { nodes { id slug title views category { slug name } } }`."""
    rows = (await s.fetch('SELECT "id", "slug", "title", "views", "category_id" FROM "faqs" WHERE "status" = $1 '
                          'ORDER BY "views" DESC, "id" ASC LIMIT $2', PUBLISHED, n + 1))[:n]
    categories = {pk: {"slug": slug, "name": name} for pk, slug, name in await s.fetch(
        'SELECT "id", "slug", "name" FROM "faq_categories" WHERE "id" = ANY($1)', list({row[4] for row in rows}))}
    return {"faqs": {"nodes": [
        {"id": gid("Faq", pk), "slug": slug, "title": title, "views": views, "category": categories[category]}
        for pk, slug, title, views, category in rows]}}


# --- W1: the landing page ------------------------------------------------------------------------------

async def landing(s: Session, n: int = 5) -> dict[str, Any]:
    """W1: gql/landing_page.graphql with n=5, statement by statement as the API's loaders batch them."""
    iso = s.iso
    now = datetime.now(UTC)
    announcements = (await s.fetch(
        'SELECT "id", "title", "body", "pinned", "published_at" FROM "announcements" '
        'WHERE "published_at" <= $1 AND ("expires_at" IS NULL OR "expires_at" > $2) '
        'ORDER BY "pinned" DESC, "published_at" DESC, "id" DESC LIMIT $3', now, now, n + 1))[:n]

    first_step = (await s.fetch('SELECT "id", "step_number", "title", "prompt" FROM "wizard_steps" WHERE "is_first" = $1 '
                                'ORDER BY "step_number", "id" LIMIT 1', True))[0]
    options = await s.fetch('SELECT "label", "next_step_id" FROM "wizard_options" WHERE "step_id" = $1 ORDER BY "position", "id"',
                            first_step[0])
    next_steps = {pk: title for pk, title in await s.fetch(
        'SELECT "id", "title" FROM "wizard_steps" WHERE "id" = ANY($1)', [o[1] for o in options if o[1] is not None])}

    faq_rows = (await s.fetch('SELECT "id", "slug", "title", "views", "helpful_count", "category_id" FROM "faqs" '
                              'WHERE "status" = $1 ORDER BY "views" DESC, "id" ASC LIMIT $2', PUBLISHED, n + 1))[:n]
    faq_total = (await s.fetch('SELECT COUNT(*) FROM "faqs" WHERE "status" = $1', PUBLISHED))[0][0]
    categories = {pk: {"slug": slug, "name": name} for pk, slug, name in await s.fetch(
        'SELECT "id", "slug", "name" FROM "faq_categories" WHERE "id" = ANY($1)', list({row[5] for row in faq_rows}))}
    labels: dict[int, list[str]] = defaultdict(list)
    for faq_id, name in await s.fetch('SELECT "faq_id", "name" FROM "faq_labels" WHERE "faq_id" = ANY($1) ORDER BY "name"',
                                      [row[0] for row in faq_rows]):
        labels[faq_id].append(name)

    issue_rows = (await s.fetch('SELECT "id", "number", "title", "status", "affected_count", "updated_at" FROM "issues" '
                                'WHERE "status" = ANY($1) ORDER BY "affected_count" DESC, "id" DESC LIMIT $2',
                                OPEN_ISSUE_STATUSES, n + 1))[:n]
    issue_total = (await s.fetch('SELECT COUNT(*) FROM "issues" WHERE "status" = ANY($1)', OPEN_ISSUE_STATUSES))[0][0]
    issue_ids = [row[0] for row in issue_rows]
    platforms: dict[int, list[str]] = defaultdict(list)
    for issue_id, platform in await s.fetch('SELECT "issue_id", "platform" FROM "issue_platforms" WHERE "issue_id" = ANY($1) '
                                            'ORDER BY "platform"', issue_ids):
        platforms[issue_id].append(platform)
    latest: dict[int, dict[str, Any]] = {}
    for issue_id, status, body, posted in await s.fetch(
            'SELECT "issue_id", "status", "body", "posted_at" FROM (SELECT "issue_id", "status", "body", "posted_at", '
            'ROW_NUMBER() OVER (PARTITION BY "issue_id" ORDER BY "posted_at" DESC, "id" DESC) "page_rank" '
            'FROM "issue_updates" WHERE "issue_id" = ANY($1)) "ranked" WHERE "page_rank" <= 1', issue_ids):
        latest[issue_id] = {"status": status, "body": body, "postedAt": iso(posted)}

    program = (await s.fetch('SELECT "name", "tagline", "description", "become_a_star", "applications_open" FROM "stars_program" LIMIT 1'))[0]
    eligibility = await s.fetch('SELECT "code", "description" FROM "stars_eligibility_requirements" ORDER BY "position", "id"')
    perks = await s.fetch('SELECT "title" FROM "stars_perks" ORDER BY "position", "id"')
    values = await s.fetch('SELECT "name", "description", "icon" FROM "stars_values" ORDER BY "position", "id"')
    blog = (await s.fetch('SELECT "p"."id", "p"."title", "p"."excerpt", "p"."published_at", "p"."author_id" FROM "posts" "p" '
                          'JOIN "boards" "b" ON "b"."id" = "p"."board_id" WHERE "p"."status" = $1 AND "b"."slug" = $2 '
                          'ORDER BY "p"."published_at" DESC, "p"."id" DESC LIMIT $3', PUBLISHED, "stars-blog", 4))[:3]

    stars = (await s.fetch('SELECT "u"."id", "u"."handle", "u"."display_name", "u"."avatar_url", "sp"."star_since" FROM "users" "u" '
                           'LEFT JOIN "star_profiles" "sp" ON "sp"."user_id" = "u"."id" WHERE "u"."role" = $1 '
                           'ORDER BY "sp"."star_since" ASC, "u"."id" ASC LIMIT $2', "STAR", n + 1))[:n]
    star_total = (await s.fetch('SELECT COUNT(*) FROM "users" WHERE "role" = $1', "STAR"))[0][0]
    star_stats = {author: (count, total) for author, count, total in await s.fetch(
        'SELECT "author_id", COUNT(*), SUM("kudos_count") FROM "posts" WHERE "author_id" = ANY($1) AND "status" = $2 '
        'GROUP BY "author_id"', [row[0] for row in stars], PUBLISHED)}

    post_rows = (await s.fetch(POSTS_PAGE.format(columns='"id", "title", "author_id", "board_id", "kudos_count", "reply_count"'),
                               PUBLISHED, n + 1))[:n]
    authors = await _authors(s, [row[4] for row in blog] + [row[2] for row in post_rows])
    boards = {pk: {"slug": slug, "name": name} for pk, slug, name in await s.fetch(
        'SELECT "id", "slug", "name" FROM "boards" WHERE "id" = ANY($1)', list({row[3] for row in post_rows}))}
    tags = await _tags(s, [row[0] for row in post_rows])

    return {
        "viewer": {"isAuthenticated": False, "role": None},
        "announcements": {"nodes": [{"id": gid("Announcement", pk), "title": title, "body": body, "pinned": bool(pinned),
                                     "publishedAt": iso(published)} for pk, title, body, pinned, published in announcements]},
        "helpWizard": {"firstStep": {
            "id": gid("WizardStep", first_step[0]), "stepNumber": first_step[1], "title": first_step[2], "prompt": first_step[3],
            "options": [{"label": label, "next": {"id": gid("WizardStep", nxt), "title": next_steps[nxt]} if nxt is not None else None}
                        for label, nxt in options]}},
        "faqs": {"totalCount": faq_total, "nodes": [
            {"id": gid("Faq", pk), "slug": slug, "title": title, "views": views, "helpfulCount": helpful,
             "category": categories[category], "labels": labels.get(pk, [])}
            for pk, slug, title, views, helpful, category in faq_rows]},
        "ongoingIssues": {"totalCount": issue_total, "nodes": [
            {"id": gid("Issue", pk), "number": number, "title": title, "status": status, "affectedCount": affected,
             "platforms": platforms.get(pk, []), "updatedAt": iso(updated),
             "updates": {"nodes": [latest[pk]] if pk in latest else []}}
            for pk, number, title, status, affected, updated in issue_rows]},
        "starsProgram": {
            "name": program[0], "tagline": program[1], "description": program[2], "becomeAStar": program[3],
            "applicationsOpen": bool(program[4]),
            "eligibility": [{"code": code, "description": text} for code, text in eligibility],
            "perks": [{"title": title} for (title,) in perks],
            "values": [{"name": name, "description": text, "icon": icon} for name, text, icon in values],
            "blogPosts": {"nodes": [{"id": gid("Post", pk), "title": title, "excerpt": excerpt, "publishedAt": iso(published),
                                     "author": authors[author]} for pk, title, excerpt, published, author in blog]}},
        "stars": {"totalCount": star_total, "nodes": [
            {"id": gid("User", pk), "handle": handle, "displayName": name, "avatarUrl": avatar, "starSince": iso(since),
             "postCount": star_stats.get(pk, (0, 0))[0], "kudosReceived": int(star_stats.get(pk, (0, 0))[1] or 0)}
            for pk, handle, name, avatar, since in stars]},
        "posts": {"nodes": [
            {"id": gid("Post", pk), "title": title, "author": authors[author], "board": boards[board],
             "tags": tags.get(pk, []), "kudosCount": kudos, "replyCount": replies}
            for pk, title, author, board, kudos, replies in post_rows]},
    }


# --- what the ceiling (bench/ceiling.py) loads once at start --------------------------------------------

async def posts_full(s: Session, n: int = 100) -> list[dict[str, Any]]:
    """The newest published posts with every field any workload selects (the ceiling's posts)."""
    rows = (await s.fetch(POSTS_PAGE.format(
        columns='"id", "title", "excerpt", "published_at", "author_id", "board_id", "kudos_count", "reply_count"'), PUBLISHED, n + 1))[:n]
    authors = await _authors(s, [row[4] for row in rows])
    boards = {pk: {"slug": slug, "name": name} for pk, slug, name in await s.fetch(
        'SELECT "id", "slug", "name" FROM "boards" WHERE "id" = ANY($1)', list({row[5] for row in rows}))}
    tags = await _tags(s, [row[0] for row in rows])
    return [{"id": gid("Post", pk), "title": title, "excerpt": excerpt, "publishedAt": s.iso(published), "author": authors[author],
             "board": boards[board], "tags": tags.get(pk, []), "kudosCount": kudos, "replyCount": replies}
            for pk, title, excerpt, published, author, board, kudos, replies in rows]


async def faqs_full(s: Session, n: int = 50) -> list[dict[str, Any]]:
    """The most viewed published FAQs with every field any workload selects (the ceiling's FAQs)."""
    rows = (await s.fetch('SELECT "id", "slug", "title", "views", "helpful_count", "category_id" FROM "faqs" WHERE "status" = $1 '
                          'ORDER BY "views" DESC, "id" ASC LIMIT $2', PUBLISHED, n + 1))[:n]
    categories = {pk: {"slug": slug, "name": name} for pk, slug, name in await s.fetch(
        'SELECT "id", "slug", "name" FROM "faq_categories" WHERE "id" = ANY($1)', list({row[5] for row in rows}))}
    labels: dict[int, list[str]] = defaultdict(list)
    for faq_id, name in await s.fetch('SELECT "faq_id", "name" FROM "faq_labels" WHERE "faq_id" = ANY($1) ORDER BY "name"',
                                      [row[0] for row in rows]):
        labels[faq_id].append(name)
    return [{"id": gid("Faq", pk), "slug": slug, "title": title, "views": views, "helpfulCount": helpful,
             "category": categories[category], "labels": labels.get(pk, [])}
            for pk, slug, title, views, helpful, category in rows]


# Workload key (bench/workloads.py) -> builder.
BUILDERS: dict[str, Callable[[Session], Awaitable[dict[str, Any]]]] = {
    "W1": landing, "W2": posts, "W2b": posts_published, "W3": faqs,
}
