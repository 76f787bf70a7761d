#!/usr/bin/env python3
"""`search` over HTTP at `seed --scale 10000`, and how its time grows at `--scale 100000`.

    .venv/bin/python bench/search.py                                   # SQLite, 10,000 then 100,000 members
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/search.py
    .venv/bin/python bench/search.py --members 2000 --large 0 --repeats 30 --no-write   # a smoke run

It seeds `seed` + `seed --scale N` into a fresh database (a temporary SQLite file, or a
`community_bench_search` database next to the one DATABASE_URL names: never that one), runs
ANALYZE, serves it with one uvicorn worker pinned to core 0 (production profile, response cache
and rate limits off), and sends, from core 1, each query of QUERIES `--repeats` times, one request at a time,
through a real socket: the median and p99 of each, sent as the same text every time and as a text
the server has not seen at every request (`casings`), and the plan of the posts statement of the
first query (is the full-text index used?). Then the same at `--large` members, and the ratio of
the medians. Writes its section of bench/RESULTS.md (`search:postgres` / `search:sqlite`) unless
`--no-write`.

The scale dataset's text is drawn from 24 words (models/seed/scale.py), so a query made of them
matches most generated posts: the worst case, held to the newest 500 matches of each kind
(models/search.py, MAX_MATCHES_PER_KIND). The work item's two examples match only help content,
as a real search for a specific problem does; the first ends with a prefix most generated posts
hold (`password*`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import API_PORT, backend_of, pinned, publish, quiet_sql_log, seeded_database, server, server_env  # noqa: E402

DATABASE = "community_bench_search"
# What a help page sends: 20 results with why they matched.
REQUEST = """query($q: String!) { search(query: $q, first: 20) { totalCount pageInfo { hasNextPage endCursor }
  edges { rank snippet node { __typename ... on Faq { slug title } ... on Issue { number title status }
                              ... on Post { slug title author { handle } } } } } }"""
QUERIES = {
    "resetting passwords": "the work item's example: one FAQ's words",
    "songs skipping android": "the other example: an issue's words",
    "crossf": "one word as typed so far (prefix)",
    '"sleep timer"': "a phrase",
    "offline download": "two of the generated words: most posts match",
    "lyrics": "one generated word: most posts match",
}


def measure(url: str, repeats: int) -> dict[str, dict[str, float]]:
    cores = os.sched_getaffinity(0)
    if pinned(1) and 1 in cores and len(cores) > 1:
        os.sched_setaffinity(0, {1})  # the client on the other core than the server's, as bench/run.py runs wrk
    try:
        return _measured(url, repeats)
    finally:
        os.sched_setaffinity(0, cores)


def casings(text: str) -> list[str]:
    """`text` in every casing of its letters but its own (up to 2**12 - 1): the same words, so the
    same results, in a statement text the server has not run yet (the databases' indexes fold
    case; the statement holds the words as typed)."""
    letters = [index for index, char in enumerate(text) if char.isalpha()][:12]
    variants = []
    for bits in range(1, 2 ** len(letters)):
        chars = list(text)
        for bit, index in enumerate(letters):
            if bits >> bit & 1:
                chars[index] = chars[index].swapcase()
        variants.append("".join(chars))
    return variants


def _measured(url: str, repeats: int) -> dict[str, dict[str, float]]:
    figures = {}
    with httpx.Client(timeout=30) as http:
        for text in QUERIES:

            def ask(typed: str) -> dict[str, Any]:
                response = http.post(url, json={"query": REQUEST, "variables": {"q": typed}})
                payload = response.json()
                if response.status_code != 200 or "errors" in payload:
                    raise SystemExit(f"{typed!r}: the API answered {response.status_code}: {response.text[:500]}")
                answer: dict[str, Any] = payload["data"]["search"]
                return answer

            def timed(texts: list[str]) -> tuple[float, float]:
                times = []
                for typed in texts:
                    started = time.perf_counter()
                    ask(typed)
                    times.append((time.perf_counter() - started) * 1000)
                return statistics.median(times), statistics.quantiles(times, n=100)[98]

            for _ in range(5):
                found = ask(text)
            figures[text] = {"found": found["totalCount"]}
            # The same text again and again: every cache on the way (the driver's prepared
            # statements, PostgreSQL's plans) holds it, as for a popular search.
            figures[text]["median"], figures[text]["p99"] = timed([text] * repeats)
            # A text not seen before at every request, as a help seeker's own words mostly are
            # (distinct until the casings run out, then again after more than the driver's
            # statement cache holds).
            variants = casings(text)
            if ask(variants[0])["totalCount"] != found["totalCount"]:
                raise SystemExit(f"{variants[0]!r} found other results than {text!r}")
            figures[text]["new_median"], figures[text]["new_p99"] = timed(
                [variants[index % len(variants)] for index in range(repeats)])
            print(f"  {text!r}: same text median {figures[text]['median']:.1f} ms, p99 {figures[text]['p99']:.1f} ms; "
                  f"new text median {figures[text]['new_median']:.1f} ms, p99 {figures[text]['new_p99']:.1f} ms; "
                  f"{found['totalCount']:,} found", flush=True)
    return figures


async def plan(db_url: str) -> tuple[list[str], int]:
    """The plan of the first query's posts statement, as an anonymous reader's page runs it, and
    how many posts there are."""
    from tortoise import Tortoise

    from models import search
    from models.db import tortoise_config
    from models.posts import Post

    quiet_sql_log()
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        query = search.Search(next(iter(QUERIES)), [], None, search.SearchOrder.RELEVANCE)
        statement, values = query.statement(search.SearchType.POST, search.Page(None, None, 21, False), snippets=True)
        db = Post._meta.db
        postgres = db.capabilities.dialect == "postgres"
        _, rows = await db.execute_query(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, values)
        steps = [str(row[0] if postgres else row[-1]).strip() for row in rows]
        # The steps that say how rows are found (the scans and their conditions), not the costs.
        found = [step.split("  (cost=")[0].lstrip("-> ") for step in steps if "Scan" in step or "Cond" in step or "SCAN" in step
                 or "SEARCH" in step]
        return found, await Post.all().count()
    finally:
        await Tortoise.close_connections()


def run_scale(members: int, args: argparse.Namespace, name: str) -> tuple[Path, dict[str, Any]]:
    args.members = members
    workdir, static_dir, db_url, seeded = seeded_database(args, name)
    steps, posts = asyncio.run(plan(db_url))
    with server(server_env(db_url, static_dir, cache=False), "gql.app:create_app", API_PORT):
        figures = measure(f"http://127.0.0.1:{API_PORT}/graphql", args.repeats)
    return workdir, {"members": members, "posts": posts, "seeded": seeded, "queries": figures, "plan": steps,
                     "db_url": db_url}


def render(small: dict[str, Any], large: dict[str, Any] | None, args: argparse.Namespace) -> str:
    backend = backend_of(small["db_url"])
    lines = [f"### Search, {backend} ({time.strftime('%Y-%m-%d')})", "",
             (f"`search(query: $q, first: 20)` with `totalCount`, `rank`, `snippet` and each node's fields; one uvicorn "
              f"worker on core 0, one client, one request at a time over HTTP, {args.repeats} requests per query "
              f"(median, p99): the same text each time (a popular search: the driver's prepared statement and the "
              "parse of the SQL are cached), and a text the server has not seen (the same words, their letters' case "
              f"changed: statements prepared and planned afresh, as for most searches). `seed --scale {small['members']:,}`: "
              f"{small['posts']:,} posts. The machine is shared with other engineers' work: absolute figures are noisy, "
              "the ratio is the figure to read."), ""]
    header = f"| query | what | found at {small['members']:,} | same text: median / p99 ms | new text: median / p99 ms |"
    rule = "|---|---|---:|---:|---:|"
    if large is not None:
        header += (f" found at {large['members']:,} | same text: median / p99 ms | new text: median / p99 ms |"
                   " median ratio, same / new text |")
        rule += "---:|---:|---:|---:|"
    lines += [header, rule]

    def times(one: dict[str, Any]) -> str:
        return f" {one['median']:.1f} / {one['p99']:.1f} | {one['new_median']:.1f} / {one['new_p99']:.1f} |"

    for text, what in QUERIES.items():
        one = small["queries"][text]
        row = f"| `{text}` | {what} | {one['found']:,} |" + times(one)
        if large is not None:
            big = large["queries"][text]
            row += (f" {big['found']:,} |" + times(big)
                    + f" {big['median'] / one['median']:.2f}x / {big['new_median'] / one['new_median']:.2f}x |")
        lines.append(row)
    lines += ["", f"Plan of the first query's posts statement at {small['members']:,} members: "
              + " | ".join(f"`{step}`" for step in small["plan"])]
    if large is not None:
        lines += [f"At {large['members']:,} members ({large['posts']:,} posts, seeded in {large['seeded']:.0f} s): "
                  + " | ".join(f"`{step}`" for step in large["plan"])]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000, help="seed --scale N (default 10,000)")
    parser.add_argument("--large", type=int, default=100_000, help="the larger scale (default 100,000; 0 skips it)")
    parser.add_argument("--repeats", type=int, default=200, help="requests per query and scale")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True, help="write RESULTS.md's section")
    args = parser.parse_args()
    small_members = args.members
    workdir, small = run_scale(small_members, args, DATABASE)
    large = None
    if args.large:
        large_dir, large = run_scale(args.large, args, DATABASE + "_large")
        shutil.rmtree(large_dir, ignore_errors=True)
    args.members = small_members
    publish(render(small, large, args), f"search:{backend_of(small['db_url'])}", args, workdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
