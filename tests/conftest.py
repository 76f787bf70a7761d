"""Test fixtures: one migrated, seeded database, and an HTTP client on the app.

One pytest process tests one backend, named by TEST_BACKEND (sqlite, the default, or postgres):
Tortoise caches per-dialect SQL on the models, so a process cannot switch backends safely.
`python3 dev.py test` runs the suite once per backend. For PostgreSQL it needs TEST_POSTGRES_URL
(dev.py sets it when a local server answers); without a reachable server every database test
skips with the reason in the summary, or fails when REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from gql.app import create_app
from gql.settings import Settings
from models.db import tortoise_config
from tests.support import GraphQLClient

BACKEND = os.environ.get("TEST_BACKEND", "sqlite")


def _admin_dsn(base: str) -> str:
    return base.replace("postgres://", "postgresql://", 1)


# One database per pytest process, so that two runs on one server never drop each other's.
POSTGRES_DATABASE = f"community_api_test_{os.getpid()}"


async def _postgres_url() -> str:
    import asyncpg

    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL tests skipped: TEST_POSTGRES_URL is not set")
    try:
        admin = await asyncpg.connect(_admin_dsn(base), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL tests skipped: {base} unreachable ({exc})")
    name = POSTGRES_DATABASE
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return base.rsplit("/", 1)[0] + f"/{name}"


async def database_url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite://{tmp / 'test.sqlite3'}"
    if backend == "postgres":
        return await _postgres_url()
    raise pytest.UsageError(f"TEST_BACKEND must be sqlite or postgres, not {backend!r}")


async def reset_database() -> None:
    """Empty every table and load the seed again: for tests that need the pristine content."""
    from tortoise.contrib.test import truncate_all_models

    from models.seed import load_page_content

    await truncate_all_models()
    await load_page_content()


@pytest_asyncio.fixture(scope="session")
async def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where the session's database lives (for tests that run the CLI against it)."""
    return await database_url(BACKEND, tmp_path_factory.mktemp(BACKEND))


@pytest_asyncio.fixture(scope="session")
async def db(db_url: str) -> AsyncIterator[str]:
    """The backend name; its database is migrated (by our migrations) and seeded."""
    from models.seed import load_page_content

    # The session's ORM serves the in-process apps: statements bounded as the server bounds them.
    config = tortoise_config(db_url, statement_timeout_seconds=Settings().request_timeout_seconds)
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config, _enable_global_fallback=True)
    await load_page_content()
    try:
        yield BACKEND
    finally:
        await Tortoise.close_connections()
        if BACKEND == "postgres":
            await _drop_postgres_database()


async def _drop_postgres_database() -> None:
    import asyncpg

    admin = await asyncpg.connect(_admin_dsn(os.environ["TEST_POSTGRES_URL"]), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "uncached: the test's premise is that every request executes (statement "
                                       "counts of a repeated query): its `client` has the response cache off")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (real server processes)")
    config.addinivalue_line("markers", "only_on(backend): what the test checks is the same on every database "
                                       "(transport, processes, logs): it runs in that backend's pass only")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # `dev.py test` runs the suite once per backend; a test about the transport need not run twice.
    marker = item.get_closest_marker("only_on")
    if marker is not None and marker.args[0] != BACKEND:
        pytest.skip(f"runs in the {marker.args[0]} pass only: it checks nothing the database changes")


@pytest.fixture
def settings(db: str, request: pytest.FixtureRequest) -> Settings:
    # Every test shares one client address: rate limits are switched on only where they are tested.
    # The response cache is on, as in production, unless the test says its premise is execution.
    uncached = request.node.get_closest_marker("uncached") is not None
    return settings_with(rate_limit_enabled=False, **({"response_cache_enabled": False} if uncached else {}))


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """A client on an app built with these settings (the ORM is the session's)."""
    app = create_app(settings, manage_orm=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


def settings_with(**overrides: object) -> Settings:
    return Settings.from_env({}, database_url="unused: tests share the session's ORM", **overrides)


@pytest_asyncio.fixture
async def client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    async with client_for(settings) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def leave_queues_as_found(db: str) -> AsyncIterator[None]:
    """Delete, when the module ends, the star applications, reports and posts it made.

    For modules that make many: the review and moderation queues list the oldest first, and later
    modules look for their own rows on the first page.
    """
    from models.moderation import Report
    from models.posts import Post
    from models.stars import StarApplication

    queued = (StarApplication, Report, Post)
    last_ids = [await model.all().order_by("-id").limit(1).values_list("id", flat=True) for model in queued]
    yield
    for model, ids in zip(queued, last_ids):
        await model.filter(id__gt=ids[0] if ids else 0).delete()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def module_client(db: str) -> AsyncIterator[GraphQLClient]:
    """One `client` for all of a module's tests, where they are many small calls: building the
    app (its schema) for each test would cost most of their time."""
    async with client_for(settings_with(rate_limit_enabled=False)) as client:
        yield client
