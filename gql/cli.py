"""`community-api serve [--workers N] | migrate | seed | compact-search | recount | backup PATH | restore PATH | user add | token create | check-migrations | export-schema`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from gql.settings import MAX_WORKERS, Settings
from models.db import tortoise_config

SCHEMA_PATH = Path("schema.graphql")


def _ensure_sqlite_dir(database_url: str) -> None:
    prefix = "sqlite://"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix):].split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)


async def _with_orm(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    stop_invalidating = _invalidate_response_caches(settings)
    try:
        return await work()
    finally:
        await stop_invalidating()
        await Tortoise.close_connections()


def _invalidate_response_caches(settings: Settings) -> Callable[[], Awaitable[None]]:
    """With REDIS_URL, every write this command commits bumps the shared generations, as a
    server's writes do (gql/cache): the servers' cached answers it changes are dropped at once.
    Without Redis the servers' caches are in their own memory; their TTL bounds what they miss."""
    if not settings.redis_url:
        async def nothing() -> None:
            pass

        return nothing

    from gql.cache import GenerationsUnavailable, generations_for
    from models.touched import on_commit

    generations = generations_for(settings.redis_url)

    async def bump(tables: frozenset[str]) -> None:
        try:
            await generations.bump(tables)
        except GenerationsUnavailable:
            logging.getLogger("gql.cli").warning(
                "could not reach Redis: servers may answer from their response cache for up to "
                "RESPONSE_CACHE_TTL_SECONDS without this change")

    stop = on_commit(bump)

    async def close() -> None:
        stop()
        await generations.close()

    return close


async def migrate(settings: Settings) -> None:
    _ensure_sqlite_dir(settings.database_url)
    try:
        await run_migrations(config=tortoise_config(settings.database_url))
    finally:
        await Tortoise.close_connections()


async def seed(settings: Settings, scale: int | None) -> None:
    from models.search_segments import compact_search_indexes
    from models.seed import generate_scale, load_page_content

    async def work() -> None:
        report = await load_page_content()
        print(f"seed: {report}")
        if scale:
            print(f"seed --scale {scale}: {await generate_scale(scale)}")
            # A bulk load leaves many full-text segments behind, each read by every search.
            print(f"seed --scale {scale}: {_merge_report(await compact_search_indexes())}")

    await _with_orm(settings, work)


def _merge_report(merged: dict[str, tuple[int, int]]) -> str:
    if not merged:
        return "search indexes: nothing to merge on this database"
    return "search indexes merged: " + ", ".join(f"{index} {before} -> {after} segments"
                                                 for index, (before, after) in merged.items())


async def compact_search(settings: Settings) -> None:
    from models.search_segments import compact_search_indexes

    async def work() -> None:
        print(f"compact-search: {_merge_report(await compact_search_indexes())}")

    await _with_orm(settings, work)


async def recount(settings: Settings, check: bool) -> int:
    """Compare every counter the triggers keep with COUNT(*) of its rows, and (unless `check`)
    set the wrong ones right: a repair after SQL that bypassed the triggers, or a periodic check
    (cron) that they hold. Exit 1 when `check` found a wrong counter."""
    from models.counted import recount_all

    async def work() -> dict[str, int]:
        return await recount_all(fix=not check)

    wrong = {name: n for name, n in (await _with_orm(settings, work)).items() if n}
    for name, n in wrong.items():
        print(f"recount: {name}: {n} {'wrong' if check else 'corrected'}")
    if not wrong:
        print("recount: every counter equals its rows")
    return 1 if check and wrong else 0


def copy_database(settings: Settings, command: str, path: Path, force: bool) -> int:
    """`backup PATH` / `restore PATH` of a SQLite database (models/backup.py); a refusal prints its
    code and why (exit 2) and writes nothing."""
    from models.backup import BackupRefused, backup, restore

    try:
        if command == "backup":
            copied = backup(settings.database_url, path, force=force)
        else:
            copied = restore(settings.database_url, path, force=force)
    except BackupRefused as refusal:
        print(f"community-api {command}: {refusal.code}: {refusal}", file=sys.stderr)
        return 2
    done = f"backed up to {copied.path}" if command == "backup" else f"restored {path} into {copied.path}"
    restarted = f"; writes restarted the stepwise copy {copied.restarts} times" if copied.restarts else ""
    print(f"{command}: {done} ({copied.tables} tables, {copied.size_bytes:,} bytes{restarted})")
    if command == "restore":
        print("restore: run `community-api migrate` (or start `serve`) if the backup predates this version")
    return 0


async def pending_model_changes() -> list[str]:
    """Operations `tortoise makemigrations` would write now; empty when migrations match the models."""
    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        if ctx.apps is None:
            raise RuntimeError("Tortoise registered no apps from the configuration")
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    return [operation.describe() for writer in writers for operation in writer.operations]


def check_migrations() -> int:
    pending = asyncio.run(pending_model_changes())
    if not pending:
        print("migrations match the models")
        return 0
    print("models changed without a migration; run `tortoise -c models.db.TORTOISE_ORM makemigrations`:")
    for operation in pending:
        print(f"  {operation}")
    return 1


async def add_user(settings: Settings, handle: str, role: str, password: str, email: str | None, name: str | None) -> None:
    from models.accounts import Role, register
    from models.errors import RuleViolation
    from models.stars import change_role

    async def work() -> None:
        from tortoise.transactions import in_transaction

        async with in_transaction():
            user = await register(handle, password, email, name)
            # Through the domain: a Star gets the profile `stars` lists them by.
            await change_role(user.pk, Role(role.upper()))
        print(f"created {user.handle} ({role.upper()})")

    try:
        await _with_orm(settings, work)
    except RuleViolation as refusal:
        raise SystemExit(f"refused: {refusal}") from None


def token_points(text: str) -> int:
    """`--points N`: a whole number the domain accepts as a token's own budget (argparse's type,
    so that a refusal is a usage error, exit 2, before any database is opened)."""
    from models.accounts import checked_token_points
    from models.errors import RuleViolation

    try:
        return checked_token_points(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a whole number of points, not {text!r}") from None
    except RuleViolation as refusal:
        raise argparse.ArgumentTypeError(str(refusal)) from None


async def create_token(settings: Settings, handle: str, scope: str, label: str, points: int | None = None) -> None:
    from models.accounts import TokenScope, User, issue_token, normalize_handle
    from models.base import get_by_column

    async def work() -> None:
        user = await get_by_column(User, "handle", normalize_handle(handle))
        if user is None:
            raise SystemExit(f"no user {handle!r}")
        # Printed once; only its digest is stored.
        print(await issue_token(user, TokenScope(scope.upper()), label, rate_limit_points=points))
        budget = f"{user.handle}'s budget" if points is None else f"a budget of its own, {points:,} points per window"
        print(f"token for {user.handle} ({scope.upper()}), spending {budget}", file=sys.stderr)

    await _with_orm(settings, work)


def export_schema(output: Path) -> None:
    from gql.schema import export_sdl

    output.write_text(export_sdl())
    print(f"wrote {output}")


def serve(settings: Settings, workers: int | None = None) -> None:
    """Migrate, seed (development), then serve: in this process with one worker, or under a
    supervising process that starts `workers` uvicorn processes sharing one listening socket
    (and replaces one that dies). SIGTERM or SIGINT shuts down gracefully: no new connections,
    requests in flight finish for up to SHUTDOWN_TIMEOUT_SECONDS, WebSockets close with 1012
    (service restart), and the app's stores are closed."""
    import uvicorn

    from gql.http.server import LimitedHttpToolsProtocol
    from gql.ops.logs import uvicorn_options

    workers = settings.workers if workers is None else workers
    if workers > 1 and not settings.redis_url:
        logging.getLogger("gql.cli").warning(
            "%d workers without REDIS_URL: each keeps its own rate budgets and login attempts (up to %dx the "
            "limits), persisted queries, subscription events and cache invalidations; set REDIS_URL", workers, workers)
    asyncio.run(migrate(settings))
    if not settings.is_production and settings.seed_on_start:
        asyncio.run(seed(settings, None))
    from gql.ops.metrics import MULTIPROC_DIR_VARIABLE, prepare_multiprocess_dir

    if workers > 1 or os.environ.get(MULTIPROC_DIR_VARIABLE):
        # Each worker counts into files there, and /metrics on any of them sums all (gql/ops/metrics.py):
        # made when missing, emptied of a previous run's files when given.
        prepare_multiprocess_dir(os.environ)
    uvicorn.run(
        "gql.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        proxy_headers=False,
        # Both come with uvicorn[standard]: a faster event loop and HTTP parser; the parser's
        # protocol is ours, with the head and body deadlines and the head size cap it lacks.
        # (Workers are spawned: they import it and read its limits from the same environment.)
        loop="uvloop",
        http=LimitedHttpToolsProtocol.configure(settings),
        limit_concurrency=settings.max_connections or None,
        # A WebSocket message is a request too: no larger than an HTTP body may be.
        ws_max_size=settings.max_body_bytes,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        # Our request line instead of uvicorn's access log; every record in LOG_FORMAT (gql/ops/logs.py).
        **uvicorn_options(settings),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="community-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="migrate, seed (development) and serve on HOST:PORT")
    serve_parser.add_argument("--workers", type=int, metavar="N", help="worker processes (default: WORKERS, 1)")
    commands.add_parser("migrate", help="apply pending database migrations")
    seed_parser = commands.add_parser("seed", help="load the landing-page content (idempotent)")
    seed_parser.add_argument("--scale", type=int, metavar="N", help="also generate N members with posts, FAQs and issues")
    commands.add_parser("compact-search", help="merge the SQLite full-text indexes' segments, in short steps "
                                               "(after bulk loads, and on a schedule)")
    commands.add_parser("check-migrations", help="fail when the models changed without a migration")
    recount_parser = commands.add_parser("recount", help="recompute every counter from its rows (repair)")
    recount_parser.add_argument("--check", action="store_true", help="only report wrong counters (exit 1 if any)")
    backup_parser = commands.add_parser("backup", help="copy the live SQLite database to PATH (online, consistent)")
    backup_parser.add_argument("path", type=Path)
    backup_parser.add_argument("--force", action="store_true", help="replace PATH when it exists")
    restore_parser = commands.add_parser("restore", help="replace the SQLite database with the backup at PATH "
                                                         "(servers stopped)")
    restore_parser.add_argument("path", type=Path)
    restore_parser.add_argument("--force", action="store_true", help="replace the database when it exists")
    user = commands.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    user_add = user.add_parser("add", help="create a user")
    user_add.add_argument("handle")
    user_add.add_argument("--role", default="member", choices=["member", "star", "moderator", "admin"], type=str.lower)
    user_add.add_argument("--password", help="10-200 characters; asked for when omitted")
    user_add.add_argument("--email")
    user_add.add_argument("--display-name")
    token = commands.add_parser("token", help="manage tokens").add_subparsers(dest="token_command", required=True)
    token_create = token.add_parser("create", help="print a new bearer token for a user, once")
    token_create.add_argument("handle")
    token_create.add_argument("--scope", default="full", choices=["full", "read"], type=str.lower)
    token_create.add_argument("--label", default="cli")
    token_create.add_argument("--points", type=token_points, metavar="N",
                              help="a rate-limit budget of its own, N points per window (a server-side "
                                   "renderer's); without it the token spends its user's budget")
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", type=Path, default=SCHEMA_PATH)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ValueError as refusal:
        # A setting that cannot be read: its message says which and why, no traceback needed.
        print(f"community-api: {refusal}", file=sys.stderr)
        return 2
    from gql.ops.logs import install as install_log_format

    install_log_format(settings)  # migrate's and seed's records too, in LOG_FORMAT
    if args.command == "serve":
        if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
            parser.error(f"--workers takes 1 to {MAX_WORKERS} processes")
        serve(settings, args.workers)
    elif args.command == "migrate":
        asyncio.run(migrate(settings))
    elif args.command == "seed":
        if args.scale is not None and args.scale < 1:
            parser.error("--scale takes a positive number of members")
        asyncio.run(seed(settings, args.scale))
    elif args.command == "compact-search":
        asyncio.run(compact_search(settings))
    elif args.command == "user":
        password = args.password or getpass.getpass("password: ")
        asyncio.run(add_user(settings, args.handle, args.role, password, args.email, args.display_name))
    elif args.command == "token":
        asyncio.run(create_token(settings, args.handle, args.scope, args.label, args.points))
    elif args.command == "recount":
        return asyncio.run(recount(settings, args.check))
    elif args.command in ("backup", "restore"):
        return copy_database(settings, args.command, args.path, args.force)
    elif args.command == "check-migrations":
        return check_migrations()
    elif args.command == "export-schema":
        export_schema(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
