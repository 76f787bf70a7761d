#!/usr/bin/env python3
"""Soak: a mixed read/write load against one live server for a long time (10 minutes by default),
to show what a short benchmark cannot: latency that drifts, memory that grows, errors that come
only after thousands of writes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/soak.py            # 600 s
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/soak.py --duration 60 --members 500
    .venv/bin/python bench/soak.py --duration 60                                          # SQLite

It seeds a fresh database (`community_soak` next to DATABASE_URL's, or a temporary SQLite file)
as bench/run.py does, starts the API (one uvicorn worker on core 0, production profile, rate limits
and the response cache off so that every read reaches the database), and drives it from an async
Python client on the other core: reads (the landing page, post and FAQ lists, search) and writes
(kudos given and taken back, issues marked and unmarked affected, FAQ views, replies) by signed-in
members. It reports errors (a transport failure, a non-200 answer or a GraphQL error: must be 0;
userErrors such as ALREADY_GIVEN are refusals the mix provokes and are counted apart), p50/p99 per
minute and the drift between the first and the last minute, the server's RSS over time, and
whether every counter equals its rows afterwards (`community-api recount --check`).
Exit 1 when an error happened or a counter is wrong. `--write` replaces the Soak section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import PY, backend_of, pinned, quiet_sql_log, rss_kb, seeded_database, server_env, write_section  # noqa: E402
from bench.workloads import LANDING_PAGE  # noqa: E402
from tests.live_server import serving_process  # noqa: E402

SOAK_PORT = 18411
WRITERS = 32

READS: dict[str, dict[str, Any]] = {
    "landing page": {"query": LANDING_PAGE, "variables": {"n": 5}},
    "posts(first: 20)": {"query": "{ posts(first: 20) { nodes { id title kudosCount replyCount author { handle } } } }"},
    "faqs(first: 20)": {"query": "{ faqs(first: 20, orderBy: POPULAR) { nodes { id slug title views } } }"},
    "search": {"query": 'query($q: String!) { search(query: $q, first: 10) { totalCount nodes { __typename } } }'},
}
SEARCH_TERMS = ("playlist", "wrapped", "premium", "offline", "podcast", "family", "lyrics")

# The writes, each a mutation whose answer carries `userErrors` (tests/test_concurrent_writers.py
# fires the same ones at once from several processes).
WRITES: dict[str, str] = {
    "giveKudo": "mutation($id: ID!) { giveKudo(input: {postId: $id}) { post { kudosCount } userErrors { code } } }",
    "removeKudo": "mutation($id: ID!) { removeKudo(input: {postId: $id}) { post { kudosCount } userErrors { code } } }",
    "markIssueAffected": "mutation($id: ID!) { markIssueAffected(input: {issueId: $id}) {"
                         " issue { affectedCount } userErrors { code } } }",
    "unmarkIssueAffected": "mutation($id: ID!) { unmarkIssueAffected(input: {issueId: $id}) {"
                           " issue { affectedCount } userErrors { code } } }",
    "recordFaqView": "mutation($slug: String!) { recordFaqView(input: {slug: $slug}) { faq { views } userErrors { code } } }",
    "replyToPost": "mutation($id: ID!, $body: String!) { replyToPost(input: {postId: $id, body: $body}) {"
                   " reply { id } userErrors { code } } }",
}


@dataclass
class Targets:
    """What the writes write to: members' tokens, published posts, open issues, published FAQs."""

    tokens: list[str]
    posts: list[str]
    issues: list[str]
    faqs: list[str]


def write_body(name: str, targets: Targets, rng: random.Random, serial: int) -> dict[str, Any]:
    """The request body of the write `name` on a random target."""
    if name in ("giveKudo", "removeKudo"):
        variables: dict[str, Any] = {"id": rng.choice(targets.posts)}
    elif name in ("markIssueAffected", "unmarkIssueAffected"):
        variables = {"id": rng.choice(targets.issues)}
    elif name == "recordFaqView":
        variables = {"slug": rng.choice(targets.faqs)}
    else:
        variables = {"id": rng.choice(targets.posts), "body": f"Soak reply {serial}."}
    return {"query": WRITES[name], "variables": variables}


async def find_targets(db_url: str) -> Targets:
    """Tokens for WRITERS seeded members, and the rows their writes go to (in process, once)."""
    from tortoise import Tortoise

    from gql.core.relay import to_global_id
    from models.accounts import User, issue_token
    from models.db import tortoise_config
    from models.faqs import Faq
    from models.issues import OPEN_STATUSES, Issue
    from models.posts import Post

    quiet_sql_log()
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        writers = await User.filter(handle__startswith="member_", suspended_at__isnull=True).order_by("id").limit(WRITERS)
        posts = await Post.filter(status="PUBLISHED", locked=False).order_by("-id").limit(100).values_list("id", flat=True)
        issues = await Issue.filter(status__in=OPEN_STATUSES).order_by("-id").limit(20).values_list("id", flat=True)
        return Targets(tokens=[await issue_token(user) for user in writers],
                       posts=[to_global_id("Post", pk) for pk in posts],
                       issues=[to_global_id("Issue", pk) for pk in issues],
                       faqs=list(await Faq.filter(status="PUBLISHED").order_by("id").limit(30)
                                 .values_list("slug", flat=True)))
    finally:
        await Tortoise.close_connections()


@dataclass
class Outcomes:
    """Every request's second (from the start), latency and kind; errors and refusals by kind."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # each sample's kind, in the same order
    by_kind: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)


async def drive(url: str, targets: Targets, duration: float, connections: int, write_share: float,
                seed: int) -> Outcomes:
    outcomes = Outcomes()
    started = time.monotonic()
    stop = started + duration
    serial = itertools.count()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        async def worker(n: int) -> None:
            rng = random.Random(seed * 1000 + n)
            while time.monotonic() < stop:
                headers: dict[str, str] = {}
                if rng.random() < write_share:
                    kind = rng.choice(list(WRITES))
                    body = write_body(kind, targets, rng, next(serial))
                    headers["Authorization"] = f"Bearer {rng.choice(targets.tokens)}"
                else:
                    kind = rng.choice(list(READS))
                    body = READS[kind] if kind != "search" else {**READS[kind], "variables": {"q": rng.choice(SEARCH_TERMS)}}
                sent = time.monotonic()
                problem = ""
                try:
                    response = await http.post(url, json=body, headers=headers)
                    answer = response.json() if response.status_code == 200 else None
                    if answer is None:
                        problem = f"HTTP {response.status_code}: {response.text[:200]}"
                    elif answer.get("errors"):
                        problem = f"GraphQL error: {str(answer['errors'])[:200]}"
                    elif kind in WRITES:
                        for error in answer["data"][kind]["userErrors"]:
                            outcomes.refusals[f"{kind} {error['code']}"] += 1
                except (httpx.HTTPError, ValueError) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                done = time.monotonic()
                outcomes.samples.append((sent - started, (done - sent) * 1000))
                outcomes.kinds.append(kind)
                outcomes.by_kind[kind] += 1
                if problem:
                    outcomes.errors[kind] += 1
                    if len(outcomes.error_examples) < 5:
                        outcomes.error_examples.append(f"{kind}: {problem}")

        await asyncio.gather(*(worker(n) for n in range(connections)))
    return outcomes


def per_minute(samples: list[tuple[float, float]], duration: float) -> list[tuple[int, int, float, float]]:
    """(minute, requests, p50 ms, p99 ms) for every whole or partial minute of the run."""
    minutes: dict[int, list[float]] = {}
    for at, latency in samples:
        minutes.setdefault(_minute(at, duration), []).append(latency)
    rows = []
    for minute, latencies in sorted(minutes.items()):
        cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
        rows.append((minute, len(latencies), cuts[49], cuts[98]))
    return rows


async def single_client_ms(url: str, repeats: int = 15) -> dict[str, float]:
    """Each read's median latency with one client and no other load: before the soak and after it,
    the same figure tells data that slows requests (it grew) from a machine that is busier."""
    medians = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for kind, body in READS.items():
            body = body if kind != "search" else {**body, "variables": {"q": SEARCH_TERMS[0]}}
            times = []
            for _ in range(repeats + 2):  # the first two warm up
                sent = time.monotonic()
                response = await http.post(url, json=body)
                assert response.status_code == 200, response.text[:300]
                times.append((time.monotonic() - sent) * 1000)
            medians[kind] = statistics.median(times[2:])
    return medians


class RssSampler:
    """The server's RSS every `every` seconds, in a thread, while the load runs."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._started, rss_kb(self.pid)))
            self._stop.wait(self.every)


def recount_check(env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run([PY, "-m", "gql.cli", "recount", "--check"], cwd=ROOT, env=env, capture_output=True, text=True)
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("recount:")]
    return done.returncode, "; ".join(said) or f"exit {done.returncode}"


def report(args: argparse.Namespace, backend: str, outcomes: Outcomes, rss: list[tuple[float, int]],
           recount: tuple[int, str]) -> str:
    minutes = per_minute(outcomes.samples, args.duration)
    total = len(outcomes.samples)
    first, last = minutes[0], minutes[-1]
    first_rss = statistics.median([kb for at, kb in rss if at < 60] or [rss[0][1]])
    last_rss = statistics.median([kb for at, kb in rss if at >= rss[-1][0] - 60] or [rss[-1][1]])
    lines = [
        f"## Soak: {backend}, {args.duration:.0f} s",
        "",
        f"`bench/soak.py --duration {args.duration:.0f} --members {args.members} --connections {args.connections}"
        f" --write-share {args.write_share}`: one uvicorn worker (core 0), an async httpx client (core 1),"
        " response cache and rate limits off. "
        f"{total:,} requests ({total / args.duration:.0f}/s): "
        + ", ".join(f"{kind} {n:,}" for kind, n in sorted(outcomes.by_kind.items())) + ".",
        "",
        f"- **Errors: {sum(outcomes.errors.values())}** (transport failures, non-200 answers, GraphQL errors)"
        + (": " + "; ".join(outcomes.error_examples) if outcomes.error_examples else ""),
        "- Refusals the mix provokes (userErrors, expected): "
        + (", ".join(f"{name} {n:,}" for name, n in sorted(outcomes.refusals.items())) or "none"),
        f"- Counters afterwards: `recount --check` exit {recount[0]} ({recount[1]})",
        (f"- p99 drift, last minute against the first: {first[3]:.1f} -> {last[3]:.1f} ms ({last[3] / first[3]:.2f}x);"
        f" p50 {first[2]:.1f} -> {last[2]:.1f} ms ({last[2] / first[2]:.2f}x)"),
        (f"- Server RSS: {first_rss / 1024:.1f} MiB in the first minute, {last_rss / 1024:.1f} MiB in the last"
        f" ({(last_rss - first_rss) * 100 / first_rss:+.1f}%), at most {max(kb for _, kb in rss) / 1024:.1f} MiB"),
        "",
        "| minute | requests | req/s | p50 ms | p99 ms | RSS MiB (end of minute) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for minute, n, p50, p99 in minutes:
        at_end = [kb for at, kb in rss if at <= minute * 60] or [rss[-1][1]]
        seconds = min(60.0, args.duration - (minute - 1) * 60)
        lines.append(f"| {minute} | {n:,} | {n / seconds:.0f} | {p50:.1f} | {p99:.1f} | {at_end[-1] / 1024:.1f} |")
    lines += ["", "p50 by kind, first minute and last (which requests drift, if any):", "",
              "| kind | first minute p50 ms | last minute p50 ms | ratio |", "|---|---:|---:|---:|"]
    last_minute = minutes[-1][0]
    for kind in sorted(outcomes.by_kind):
        first_p50, last_p50 = (
            statistics.median([latency for (at, latency), of in zip(outcomes.samples, outcomes.kinds, strict=False)
                               if of == kind and _minute(at, args.duration) == minute] or [float("nan")])
            for minute in (1, last_minute))
        lines.append(f"| {kind} | {first_p50:.1f} | {last_p50:.1f} | {last_p50 / first_p50:.2f}x |")
    return "\n".join(lines) + "\n"


def quiet_table(before: dict[str, float], after: dict[str, float]) -> str:
    lines = ["", "Each read alone (one client, no other load), median ms: before the soak and after it", "",
             "| read | before | after | ratio |", "|---|---:|---:|---:|"]
    lines += [f"| {kind} | {before[kind]:.1f} | {after[kind]:.1f} | {after[kind] / before[kind]:.2f}x |" for kind in before]
    return "\n".join(lines) + "\n"


def _minute(at: float, duration: float) -> int:
    """The report's minute (from 1) of a request sent `at` seconds in: a last partial minute joins the one before."""
    return min(int(at // 60), max(0, int((duration - 1) // 60))) + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--members", type=int, default=2000, help="seed --scale N before the run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent requests")
    parser.add_argument("--write-share", type=float, default=0.3, help="share of requests that write (0-1)")
    parser.add_argument("--rss-every", type=float, default=5, help="seconds between RSS samples")
    parser.add_argument("--seed", type=int, default=14, help="random seed of the mix")
    parser.add_argument("--write", action="store_true", help="replace the Soak section of bench/RESULTS.md")
    args = parser.parse_args()
    if args.duration < 1 or not 0 <= args.write_share <= 1 or args.connections < 1:
        parser.error("--duration >= 1, --connections >= 1, 0 <= --write-share <= 1")

    workdir, static_dir, db_url, _ = seeded_database(args, "community_soak")
    backend = backend_of(db_url)
    targets = asyncio.run(find_targets(db_url))
    env = server_env(db_url, static_dir, cache=False)
    try:
        # Its request log (a line per request) to a file: the run's own output stays readable.
        with (workdir / "server.log").open("wb") as log, serving_process(
                [*pinned(0), PY, "-m", "uvicorn", "gql.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
                 str(SOAK_PORT), "--loop", "uvloop", "--http", "gql.http.server:LimitedHttpToolsProtocol", "--no-access-log"],
                SOAK_PORT, env, stdout=log, stderr=subprocess.STDOUT) as process:
            print(f"soaking {backend} for {args.duration:.0f} s ({args.connections} connections, "
                  f"{args.write_share:.0%} writes)", flush=True)
            if pinned(1) and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})  # the load on the other core, as bench/run.py runs wrk
            url = f"http://127.0.0.1:{SOAK_PORT}/graphql"
            quiet_before = asyncio.run(single_client_ms(url))
            with RssSampler(process.pid, args.rss_every) as rss:
                outcomes = asyncio.run(drive(url, targets, args.duration, args.connections, args.write_share, args.seed))
            quiet_after = asyncio.run(single_client_ms(url))
        recount = recount_check(env)
        text = report(args, backend, outcomes, rss.samples, recount) + quiet_table(quiet_before, quiet_after)
        print(text)
        if args.write:
            write_section(f"soak:{backend}", text)
            print("wrote its section of bench/RESULTS.md")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if backend == "postgres":
            drop_database(db_url)
    return 1 if sum(outcomes.errors.values()) or recount[0] else 0


def drop_database(db_url: str) -> None:
    import asyncpg

    name = db_url.rsplit("/", 1)[1]

    async def drop() -> None:
        # Through the database DATABASE_URL names, as bench/run.py's fresh_database made it.
        admin = await asyncpg.connect(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


if __name__ == "__main__":
    sys.exit(main())
