#!/usr/bin/env python3
"""Page 1 against page 200 of one connection: what a deep page costs with keyset cursors.

    .venv/bin/python bench/pages.py                    # SQLite, seed --scale 10000, posts(first: 20) newest first
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/pages.py
    .venv/bin/python bench/pages.py --members 2000 --repeats 20   # a smoke run

It seeds `seed` + `seed --scale N` into a fresh database (a temporary SQLite file, or a
`community_bench_pages` database next to the one DATABASE_URL names: never that one, nor the
throughput run's), runs ANALYZE, then, in process through the ASGI app (one request at a time,
response cache off), walks `posts(first: 20)` to page 200 by `endCursor` and times page 1 and
page 200 (medians), with their SQL statement counts. For comparison it times the rows an offset
cursor read for page 200 (the same query with OFFSET) beside the keyset page's own read, and
prints the keyset statement's plan.
Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import amedian_ms, api_settings, backend_of, quiet_sql_log, seeded_database  # noqa: E402

QUERY = """query($after: String) { posts(first: %d, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { id title publishedAt } } }"""
DATABASE = "community_bench_pages"


async def measure(db_url: str, size: int, depth: int, repeats: int) -> dict[str, Any]:
    from tortoise import Tortoise

    from gql.app import create_app
    from gql.core.relay import QuerySetSource, Window
    from models import lean
    from models.db import tortoise_config
    from models.posts import Post, PostStatus
    from tests.support import count_sql

    quiet_sql_log()
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        app = create_app(api_settings(db_url), manage_orm=False)
        logging.getLogger("gql.request").setLevel(logging.WARNING)  # a line per request: not here
        query = QUERY % size
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:

            async def page(after: str | None) -> dict[str, Any]:
                response = await http.post("/graphql", json={"query": query, "variables": {"after": after}})
                payload = response.json()
                if response.status_code != 200 or "errors" in payload:
                    raise SystemExit(f"the API answered {response.status_code}: {response.text[:500]}")
                return payload["data"]["posts"]  # type: ignore[no-any-return]

            # The cursor page `depth` starts after: walk there as a client would.
            after = None
            for _ in range(depth - 1):
                found = await page(after)
                if not found["pageInfo"]["hasNextPage"]:
                    raise SystemExit(f"fewer than {depth} pages of {size} posts: seed more members")
                after = found["pageInfo"]["endCursor"]
            figures: dict[str, Any] = {}
            for name, cursor in (("page 1", None), (f"page {depth}", after)):
                with count_sql() as sql:
                    await page(cursor)
                figures[name] = {"statements": sql.count, "sql": [s for s in sql.statements if "posts" in s],
                                 "ms": await amedian_ms(lambda cursor=cursor: page(cursor), repeats)}
        # The rows an offset cursor read for that page (its OFFSET statement), beside the keyset
        # page's: the same lean reads, SQL and row building only.
        newest = Post.filter(status=PostStatus.PUBLISHED).order_by("-published_at", "-id")
        offset = newest.offset((depth - 1) * size).limit(size + 1)
        last_seen = (await newest.offset((depth - 1) * size - 1).limit(1))[0]
        source = QuerySetSource(newest)
        window = Window(source.order.position(source.order.values(last_seen)), None, size + 1, False)
        figures["plan"] = await plan_of(source, window)
        figures["sql offset"] = await amedian_ms(lambda: lean.fetch(offset), repeats)
        figures["sql keyset"] = await amedian_ms(lambda: source.rows(window), repeats)
        figures["posts"] = await Post.filter(status=PostStatus.PUBLISHED).count()
        return figures
    finally:
        await Tortoise.close_connections()


async def plan_of(source: Any, window: Any) -> list[str]:
    """How the database runs the keyset page's statement (does an index range start at the cursor?)."""
    from models import lean

    parts = [part.limit(window.limit) for part in window.parts(source.order, source.queryset)]
    if len(parts) == 1:
        query, sql, values = lean._compiled(parts[0])
    else:
        query, sql, values = lean.union_sql(parts, source.order.order_by_sql(source.queryset.model, False), window.limit)
    postgres = query._db.capabilities.dialect == "postgres"
    _, rows = await query._db.execute_query(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql, values)
    return [str(row[0] if postgres else row[-1]) for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000, help="seed --scale N (default 10,000)")
    parser.add_argument("--size", type=int, default=20, help="posts per page (default 20)")
    parser.add_argument("--page", type=int, default=200, help="the deep page (default 200)")
    parser.add_argument("--repeats", type=int, default=50, help="timed requests per figure (medians)")
    args = parser.parse_args()
    _, _, db_url, _ = seeded_database(args, DATABASE)
    backend = backend_of(db_url)
    figures = asyncio.run(measure(db_url, args.size, args.page, args.repeats))
    deep = f"page {args.page}"
    print(f"\nposts(first: {args.size}) newest first, {figures['posts']:,} published posts, {backend}, "
          f"medians of {args.repeats}, in process:")
    print(f"  {'':<10} {'ms/request':>11} {'statements':>11}")
    for name in ("page 1", deep):
        print(f"  {name:<10} {figures[name]['ms']:>11.2f} {figures[name]['statements']:>11}")
    print(f"  the posts SELECT of {deep}: {figures[deep]['sql'][0] if figures[deep]['sql'] else '?'}")
    print("  its plan: " + " | ".join(figures["plan"]))
    print(f"  rows alone (SQL + lean rows) for {deep}: OFFSET {(args.page - 1) * args.size} {figures['sql offset']:.2f} ms, "
          f"keyset {figures['sql keyset']:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
