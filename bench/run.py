#!/usr/bin/env python3
"""The benchmark: seed a scale dataset into a fresh database, serve it with one uvicorn worker,
load it with wrk (or a Python fallback), compare with baselines measured in the same run.

    python bench/run.py                  # throughput: 10,000 members, 10 s per measurement, 50 connections
    python bench/run.py --quick          # the same, 2,000 members, 3 s each: a smoke run (writes nothing)
    python bench/run.py --counts         # totalCount SQL and landing-page time at 10,000 and 100,000 members
    python bench/run.py --counts --quick # the same at 1,000 and 10,000 members (writes nothing)
    python bench/run.py --workers        # `community-api serve` with 1 worker, then 2: the same loads
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python bench/run.py   # on PostgreSQL

Run it with the project's Python (.venv/bin/python). Prints a table; a full run writes its section
of bench/RESULTS.md (one per mode and database, between markers; the rest of the file is kept).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.workloads import CEILING, HAND_WRITTEN, LANDING_PAGE, MIX_READS, RAW, READ_WORKLOADS, key  # noqa: E402
from tests.live_server import serving_process, uvicorn_process  # noqa: E402

PY = sys.executable
WRITERS = 16
RESULTS = ROOT / "bench" / "RESULTS.md"
API_PORT, BASELINE_PORT = 18401, 18402

# The figures before issue 10, shown beside each run's (bench/RESULTS.md keeps their full tables).
# SQLite: bench/run.py of 2026-11-25 (10,000 members, 50 connections, 10 s). PostgreSQL: issue 10
# (10,000 members, 32 connections; single-client medians for the landing page).
BEFORE: dict[str, dict[str, str]] = {
    "sqlite": {
        "W1 landing page": "75 req/s, 0.56x hand-written",
        "W2 posts(first: 100)": "70 req/s, 0.61x hand-written",
        "W3 faqs(first: 50)": "194 req/s, 0.50x hand-written",
        "W5 landing page, cold caches": "31 req/s",
        "W4 write mix (16 conns)": "416 req/s, p99/p50 8.4",
        "RSS": "+3.8% over 60 s",
    },
    "postgres": {
        "W1 landing page": "25 req/s (static 10,900)",
        "W2b posts(first: 50)": "96-140 req/s, 0.09-0.11x raw (raw 1,035-1,275)",
    },
}
BEFORE_COUNTS: dict[str, dict[str, str]] = {
    "postgres": {
        "posts": "3.7 -> 36.5 ms (10x)",
        "posts per board": "2.1 -> 11.7 ms (5.6x)",
        "landing page": "28.6 -> 30.9 ms (1.08x)",
    },
}


# --- processes -----------------------------------------------------------------------------------

def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") else []


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PY, "-m", "gql.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"`community-api {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def server(env: dict[str, str], app: str, port: int) -> Any:
    return uvicorn_process(app, port, env, prefix=pinned(0),
                           options=["--loop", "uvloop", "--http", "gql.http.server:LimitedHttpToolsProtocol", "--no-access-log"])


def served_by(env: dict[str, str], port: int, workers: int, cores: str | None) -> Any:
    """`community-api serve --workers N` as deployed (its supervisor, its uvicorn options), on
    `cores` (all when None)."""
    prefix = ["taskset", "-c", cores] if cores and shutil.which("taskset") else []
    return serving_process([*prefix, PY, "-m", "gql.cli", "serve", "--workers", str(workers)], port,
                           {**env, "PORT": str(port), "LOG_FORMAT": "text"}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def tree_rss_kb(pid: int) -> int:
    """RSS of a process and its children (a supervisor and its workers)."""
    children = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
                and _parent_of(entry) == pid]
    return rss_kb(pid) + sum(tree_rss_kb(child) for child in children)


def _parent_of(entry: Path) -> int | None:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def backend_of(db_url: str) -> str:
    return "postgres" if db_url.startswith("postgres") else "sqlite"


def server_env(db_url: str, static_dir: Path, *, cache: bool, redis_url: str = "") -> dict[str, str]:
    """The servers' environment: production profile, rate limits off, the response cache on or off.
    REDIS_URL only when asked for (--redis-url): the cache is in process by default."""
    env = {**os.environ, "DATABASE_URL": db_url, "APP_ENV": "production", "RATE_LIMIT_ENABLED": "false",
           "STATIC_DIR": str(static_dir), "PYTHONPATH": str(ROOT), "RESPONSE_CACHE_ENABLED": "true" if cache else "false"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


# --- load ----------------------------------------------------------------------------------------

def lua_str(text: str) -> str:
    """A Lua string literal (LuaJIT has no \\u escapes: keep non-ASCII as UTF-8)."""
    return json.dumps(text, ensure_ascii=False)


def lua_for(body: dict[str, Any] | None, token: str | None = None) -> str:
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if body is not None:
        lines.append(f"wrk.body = {lua_str(json.dumps(body))}")
    return "\n".join(lines) + "\n"


COLD_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local template = %s
local n = 0
request = function()
  n = n + 1
  local alias = "a" .. n .. "x" .. math.random(1, 1000000000)
  return wrk.format(nil, nil, nil, string.gsub(template, "__ALIAS__", alias))
end
"""

WRITE_BODY_LUA = """
local function write_body()
  local pick = math.random(3)
  if pick == 1 then
    return '{"query":"mutation($id: ID!) { giveKudo(input: {postId: $id}) { post { kudosCount } } }","variables":{"id":"' .. posts[math.random(#posts)] .. '"}}'
  elseif pick == 2 then
    return '{"query":"mutation($id: ID!) { removeKudo(input: {postId: $id}) { post { kudosCount } } }","variables":{"id":"' .. posts[math.random(#posts)] .. '"}}'
  end
  local helpful = math.random(2) == 1 and "true" or "false"
  return '{"query":"mutation($id: ID!) { rateFaq(input: {faqId: $id, helpful: ' .. helpful .. '}) { faq { helpfulCount } } }","variables":{"id":"' .. faqs[math.random(#faqs)] .. '"}}'
end
local function write_request()
  local token = tokens[math.random(#tokens)]
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, write_body())
end
"""

WRITE_LUA = """
tokens = %s
posts = %s
faqs = %s
""" + WRITE_BODY_LUA + """
request = function()
  return write_request()
end
"""

# 90% anonymous reads, 10% writes by signed-in members; counts X-Cache and 5xx per thread.
MIX_LUA = """
tokens = %s
posts = %s
faqs = %s
local reads = %s
""" + WRITE_BODY_LUA + """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  hits, misses, other, s5xx, nreads, nwrites = 0, 0, 0, 0, 0, 0
end
request = function()
  if math.random(10) == 1 then
    nwrites = nwrites + 1
    return write_request()
  end
  nreads = nreads + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, reads[math.random(#reads)])
end
response = function(status, headers, body)
  if status >= 500 then s5xx = s5xx + 1 end
  local x = headers["X-Cache"] or headers["x-cache"]
  if x == "HIT" then hits = hits + 1 elseif x == "MISS" then misses = misses + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("MIX hits=%%d misses=%%d other=%%d s5xx=%%d reads=%%d writes=%%d\\n",
      t:get("hits"), t:get("misses"), t:get("other"), t:get("s5xx"), t:get("nreads"), t:get("nwrites")))
  end
end
"""


def lua_list(items: Sequence[str]) -> str:
    return "{" + ",".join(lua_str(item) for item in items) + "}"


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, script: str, duration: int, connections: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"load-{random.randrange(10**9)}.lua"
    path.write_text(script)
    out = subprocess.run([*pinned(1), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(path), url],
                         capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result: dict[str, Any] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
                              "p50": to_ms(latency["50"]), "p99": to_ms(latency["99"]), "non2xx": int(errors.group(1)) if errors else 0}
    mix = re.search(r"^MIX (.*)$", out, re.M)
    if mix:
        result["mix"] = {name: int(value) for name, value in re.findall(r"(\w+)=(\d+)", mix.group(1))}
    return result


async def _python_load(url: str, body: dict[str, Any], duration: int, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    non2xx = 0
    stop = time.monotonic() + duration
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=connections)) as http:
        async def worker() -> None:
            nonlocal non2xx
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await http.post(url, json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                non2xx += response.status_code >= 300
        await asyncio.gather(*(worker() for _ in range(connections)))
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / duration, "p50": cuts[49], "p99": cuts[98], "non2xx": non2xx}


def load(url: str, body: dict[str, Any], duration: int, connections: int, workdir: Path) -> dict[str, Any]:
    """wrk when installed; otherwise a Python fallback (slower: its own overhead caps the figures)."""
    if shutil.which("wrk"):
        return wrk(url, lua_for(body), duration, connections, workdir)
    return asyncio.run(_python_load(url, body, duration, connections))


def median_ms(call: Callable[[], Any], repeats: int, warm: int = 3) -> float:
    for _ in range(warm):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def amedian_ms(call: Callable[[], Any], repeats: int, warm: int = 3) -> float:
    for _ in range(warm):
        await call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def pk_of(global_id: str) -> int:
    return int(base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().split(":", 1)[1])


def count_fields(data: Any) -> int:
    """Resolved fields in an answer: every key of every object (a list's items each count theirs)."""
    if isinstance(data, dict):
        return sum(1 + count_fields(value) for value in data.values())
    if isinstance(data, list):
        return sum(count_fields(item) for item in data)
    return 0


# --- database --------------------------------------------------------------------------------------

def fresh_database(workdir: Path, name: str = "community_bench") -> str:
    """A new, empty database of the benchmark's own: `name` on the server DATABASE_URL names (never
    that database itself), or a SQLite file in `workdir`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite://{workdir / (name + '.sqlite3')}"
    import asyncpg

    async def recreate() -> None:
        admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()

    asyncio.run(recreate())
    return url.rsplit("/", 1)[0] + f"/{name}"


def analyze(db_url: str) -> None:
    """Planner statistics after a bulk seed (NOTES: without them PostgreSQL guesses)."""
    if db_url.startswith("postgres"):
        import asyncpg

        async def run() -> None:
            connection = await asyncpg.connect(db_url.replace("postgres://", "postgresql://", 1))
            await connection.execute("VACUUM ANALYZE")
            await connection.close()

        asyncio.run(run())
    else:
        import sqlite3

        with sqlite3.connect(db_url.split("://", 1)[1]) as connection:
            connection.execute("ANALYZE")


def seed(env: dict[str, str], db_url: str, members: int) -> float:
    """`seed --scale members` (incremental: adds the members not there yet), printing progress every
    15 s for the long ones; returns the seconds it took."""
    started = time.monotonic()
    done = threading.Event()

    def progress() -> None:
        while not done.wait(15):
            print(f"    ... seeding to {members:,} members: {time.monotonic() - started:.0f} s, {peek(db_url)}", flush=True)

    watcher = threading.Thread(target=progress, daemon=True)
    watcher.start()
    try:
        cli(env, "seed", "--scale", str(members))
    finally:
        done.set()
    return time.monotonic() - started


def peek(db_url: str) -> str:
    """Rows so far (index look-ups, cheap beside the seed): highest user and post ids."""
    query = 'SELECT (SELECT MAX("id") FROM "users"), (SELECT MAX("id") FROM "posts"), (SELECT MAX("id") FROM "kudos")'
    try:
        if db_url.startswith("postgres"):
            import asyncpg

            async def run() -> Any:
                connection = await asyncpg.connect(db_url.replace("postgres://", "postgresql://", 1))
                try:
                    return await connection.fetchrow(query)
                finally:
                    await connection.close()

            row = asyncio.run(run())
        else:
            import sqlite3

            with sqlite3.connect(db_url.split("://", 1)[1], timeout=1) as connection:
                row = connection.execute(query).fetchone()
        return f"users up to id {row[0] or 0:,}, posts {row[1] or 0:,}, kudos {row[2] or 0:,}"
    except Exception as exc:  # noqa: BLE001 (progress only)
        return f"({type(exc).__name__})"


# --- preparation (in process) ------------------------------------------------------------------------

def quiet_sql_log() -> None:
    """Statements are counted at DEBUG on `tortoise.db_client`; keep them off the console."""
    import logging

    logging.getLogger("tortoise.db_client").propagate = False


def api_settings(db_url: str) -> Any:
    """The in-process API: as the served one, response cache off (unknown keys are ignored by
    from_env, so this works before and after the cache exists)."""
    from gql.settings import Settings

    return Settings.from_env({"RESPONSE_CACHE_ENABLED": "false", "APP_ENV": "production", "RATE_LIMIT_ENABLED": "false"},
                             database_url=db_url)


async def prepare(db_url: str, static_dir: Path, repeats: int) -> dict[str, Any]:
    """Tokens for writers, IDs to write to, SQL per request, the answers the baselines serve (each
    baseline checked equal to it) and the in-process per-field costs."""
    from tortoise import Tortoise

    from gql.app import create_app
    from gql.core.relay import to_global_id
    from models.accounts import User, issue_token
    from models.db import tortoise_config
    from models.faqs import Faq
    from models.posts import Post
    from tests.support import count_sql

    quiet_sql_log()
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        writers = await User.filter(handle__startswith="member_").order_by("id").limit(WRITERS)
        tokens = [await issue_token(user) for user in writers]
        post_ids = [to_global_id("Post", pk) for pk in await Post.filter(status="PUBLISHED").order_by("-id").limit(200).values_list("id", flat=True)]
        faq_ids = [to_global_id("Faq", pk) for pk in await Faq.filter(status="PUBLISHED").order_by("id").limit(20).values_list("id", flat=True)]
        app = create_app(api_settings(db_url), manage_orm=False)
        statements: dict[str, str] = {}
        answers: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            for name, body in READ_WORKLOADS.items():
                with count_sql() as sql:
                    response = await http.post("/graphql", json=body)
                if response.status_code != 200 or "errors" in response.json():
                    raise SystemExit(f"{name}: the API answered {response.status_code} {response.text[:500]}")
                (static_dir / f"{key(name)}.json").write_bytes(response.content)
                answers[name] = response.json()["data"]
                statements[name] = str(sql.count)
            counts = []
            for n in (5, 50):
                with count_sql() as sql:
                    await http.post("/graphql", json={"query": LANDING_PAGE, "variables": {"n": n}})
                counts.append(sql.count)
            statements["W1 landing page"] = f"{counts[0]} (n=5) / {counts[1]} (n=50)"
            # The API in process, one request at a time (through httpx's ASGI transport, cache off).
            api_ms = {name: await amedian_ms(lambda body=body: http.post("/graphql", json=body), repeats)
                      for name, body in READ_WORKLOADS.items()}
        await same_answers_hand(answers)
        fields = await same_answers_raw_and_ceiling(db_url, answers, repeats)
        for name, row in fields.items():
            row["api_ms"] = api_ms[name]
            row["api_us_per_field"] = (api_ms[name] - row["raw_ms"]) * 1000 / row["fields"]
        # The 90/10 mix writes to what its reads show: W2's posts, W3's most viewed FAQs.
        mix_posts = [node["id"] for node in answers["W2 posts(first: 100)"]["posts"]["nodes"]]
        mix_faqs = [node["id"] for node in answers["W3 faqs(first: 50)"]["faqs"]["nodes"][:20]]
        return {"tokens": tokens, "posts": post_ids, "faqs": faq_ids, "statements": statements, "fields": fields,
                "mix_posts": mix_posts, "mix_faqs": mix_faqs}
    finally:
        await Tortoise.close_connections()


async def same_answers_hand(answers: dict[str, Any]) -> None:
    """The hand-written baseline must answer exactly what the API answered, or the ratio means nothing."""
    from starlette.requests import Request

    from bench import baseline_app

    for name, path in HAND_WRITTEN.items():
        endpoint = getattr(baseline_app, path.rsplit("/", 1)[1])
        answered = json.loads((await endpoint(Request({"type": "http", "method": "POST", "path": path, "headers": []}))).body)["data"]
        if answered != answers[name]:
            raise SystemExit(f"{name}: the hand-written baseline answers differently from the API")


def _api_execution_context() -> tuple[Any, Callable[[Any], None] | None]:
    """The API's execution context (and its resolver lightening, when there is one), to run the
    ceiling's schema the way the API runs its own."""
    from gql.execution import executor as execution

    return execution.ExecutionContext, getattr(execution, "lighten_resolvers", None)


async def same_answers_raw_and_ceiling(db_url: str, answers: dict[str, Any], repeats: int) -> dict[str, dict[str, Any]]:
    """Raw and ceiling answers equal to the API's; then, per workload and in process, one request's
    time: raw (SQL + JSON), raw's rows already fetched (JSON only), the ceiling's execution (stock
    executor, and the API's), and µs per resolved field = (ceiling - raw JSON only) / fields."""
    from bench import ceiling, raw

    database = await raw.RawDB(db_url).open()
    try:
        await ceiling.load(database)
        stock = ceiling.build_schema()
        try:
            context, lighten = _api_execution_context()
            tuned = ceiling.build_schema(context)
            if lighten:
                lighten(tuned)
        except Exception as exc:  # noqa: BLE001 (the API's executor is optional here)
            print(f"  (the API's execution context does not run on the ceiling schema: {type(exc).__name__}: {exc})", flush=True)
            tuned = None
        results: dict[str, dict[str, Any]] = {}
        for name, body in READ_WORKLOADS.items():
            builder = raw.BUILDERS[key(name)]
            async with database.session() as session:
                if await builder(session) != answers[name]:
                    raise SystemExit(f"{name}: the raw baseline answers differently from the API")
                recorder = raw.Recorder(session)
                await builder(recorder.recording())
            executed = await stock.execute(body["query"], variable_values=body.get("variables"))
            if executed.errors or executed.data != answers[name]:
                raise SystemExit(f"{name}: the ceiling answers differently from the API: {executed.errors}")

            async def raw_full() -> None:
                async with database.session() as session:
                    orjson.dumps({"data": await builder(session)})

            async def raw_json() -> None:
                orjson.dumps({"data": await builder(recorder.replaying())})

            def executing(schema: Any) -> Callable[[], Any]:
                async def run() -> None:
                    result = await schema.execute(body["query"], variable_values=body.get("variables"))
                    orjson.dumps({"data": result.data})
                return run

            fields = count_fields(answers[name])
            row: dict[str, Any] = {"fields": fields, "raw_ms": await amedian_ms(raw_full, repeats),
                                   "raw_json_ms": await amedian_ms(raw_json, repeats),
                                   "ceiling_ms": await amedian_ms(executing(stock), repeats)}
            row["us_per_field"] = (row["ceiling_ms"] - row["raw_json_ms"]) * 1000 / fields
            if tuned is not None:
                check = await tuned.execute(body["query"], variable_values=body.get("variables"))
                if check.errors or check.data != answers[name]:
                    print(f"  ({name}: the API's execution context answers the ceiling differently: {check.errors})", flush=True)
                else:
                    row["tuned_ms"] = await amedian_ms(executing(tuned), repeats)
                    row["tuned_us_per_field"] = (row["tuned_ms"] - row["raw_json_ms"]) * 1000 / fields
            results[name] = row
        return results
    finally:
        await database.close()


def same_answers_served(workdir: Path) -> None:
    """What the servers answer over HTTP, raw and ceiling included, equals the API's answer."""
    for name, body in READ_WORKLOADS.items():
        expected = json.loads((workdir / "static" / f"{key(name)}.json").read_bytes())["data"]
        for path in (RAW[name], CEILING, HAND_WRITTEN.get(name)):
            if path is None:
                continue
            answered = httpx.post(f"http://127.0.0.1:{BASELINE_PORT}{path}", json=body, timeout=30).json()
            if answered.get("data") != expected:
                raise SystemExit(f"{name}: {path} answers differently from the API over HTTP: {str(answered)[:300]}")


async def write_invariants(db_url: str, before: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """After writes: every kudo counter equals its rows; FAQ counters moved exactly as their ratings."""
    from tortoise import Tortoise
    from tortoise.functions import Count

    from models.db import tortoise_config
    from models.faqs import Faq, FaqRating
    from models.posts import Kudo, Post

    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        mismatched_posts = 0
        for post in await Post.filter(slug__startswith="gen-").annotate(rows=Count("kudos")).only("id", "kudos_count"):
            mismatched_posts += post.kudos_count != post.rows  # type: ignore[attr-defined]
        mismatched_faqs = 0
        for faq_id, (helpful, not_helpful) in before.items():
            faq = await Faq.get(id=faq_id)
            yes = await FaqRating.filter(faq_id=faq_id, helpful=True).count()
            no = await FaqRating.filter(faq_id=faq_id, helpful=False).count()
            mismatched_faqs += (faq.helpful_count - helpful, faq.not_helpful_count - not_helpful) != (yes, no)
        return {"kudos": await Kudo.all().count(), "ratings": await FaqRating.all().count(),
                "mismatched_posts": mismatched_posts, "mismatched_faqs": mismatched_faqs}
    finally:
        await Tortoise.close_connections()


async def faq_counters(db_url: str, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """The FAQs' counters before a write run (the ratings the seed made are not all rows: the
    check compares how counters and rows moved)."""
    from tortoise import Tortoise

    from models.db import tortoise_config
    from models.faqs import Faq, FaqRating

    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        counters = {}
        for faq in await Faq.filter(id__in=list(ids)):
            yes = await FaqRating.filter(faq_id=faq.pk, helpful=True).count()
            no = await FaqRating.filter(faq_id=faq.pk, helpful=False).count()
            counters[faq.pk] = (faq.helpful_count - yes, faq.not_helpful_count - no)
        return counters
    finally:
        await Tortoise.close_connections()


async def served_agree(db_url: str, api: str) -> dict[str, int]:
    """After the mix, through the (cached) API: what it answers agrees with the rows now. Stale
    cached answers show here: kudosCount of W2's posts and the landing page's, helpfulCount of the
    landing page's FAQs, and the totalCounts, each against the database."""
    from bench import raw

    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        async def data(body: dict[str, Any]) -> Any:
            return (await http.post("/graphql", json=body)).json()["data"]

        posts = (await data(READ_WORKLOADS["W2 posts(first: 100)"]))["posts"]["nodes"]
        landing = await data(READ_WORKLOADS["W1 landing page"])
        totals = await data({"query": "{ posts { totalCount } faqs { totalCount } stars { totalCount } }"})
    database = await raw.RawDB(db_url).open()
    try:
        async with database.session() as s:
            shown = {pk_of(node["id"]): node["kudosCount"] for node in posts + landing["posts"]["nodes"]}
            rows = dict(await s.fetch('SELECT "post_id", COUNT(*) FROM "kudos" WHERE "post_id" = ANY($1) GROUP BY "post_id"', list(shown)))
            stale_kudos = sum(count != rows.get(pk, 0) for pk, count in shown.items())
            helpful = {pk_of(node["id"]): node["helpfulCount"] for node in landing["faqs"]["nodes"]}
            stored = dict(await s.fetch('SELECT "id", "helpful_count" FROM "faqs" WHERE "id" = ANY($1)', list(helpful)))
            stale_helpful = sum(count != stored[pk] for pk, count in helpful.items())
            actual = [(await s.fetch('SELECT COUNT(*) FROM "posts" WHERE "status" = $1', "PUBLISHED"))[0][0],
                      (await s.fetch('SELECT COUNT(*) FROM "faqs" WHERE "status" = $1', "PUBLISHED"))[0][0],
                      (await s.fetch('SELECT COUNT(*) FROM "users" WHERE "role" = $1', "STAR"))[0][0]]
            wrong_totals = sum(a != b for a, b in zip(actual, (totals["posts"]["totalCount"], totals["faqs"]["totalCount"],
                                                                totals["stars"]["totalCount"]), strict=False))
        return {"posts_checked": len(shown), "stale_kudos": stale_kudos, "faqs_checked": len(helpful),
                "stale_helpful": stale_helpful, "wrong_totals": wrong_totals}
    finally:
        await database.close()


def cache_headers(url: str, body: dict[str, Any], n: int = 4) -> list[str]:
    """X-Cache of n identical anonymous requests ("-" where the header is missing)."""
    with httpx.Client(timeout=30) as http:
        return [http.post(url, json=body).headers.get("x-cache", "-") for _ in range(n)]


# --- the throughput run ----------------------------------------------------------------------------

def warm_up(url: str, body: dict[str, Any], args: argparse.Namespace, workdir: Path) -> None:
    """Load a server just started for a few seconds, unmeasured: a fresh process's first seconds
    under 50 connections are slower (the cached landing page's p99 was 700 ms in the first second,
    200 ms in the next three, 35 ms after)."""
    load(url, body, max(3, args.duration // 2), args.connections, workdir)


def wanted(args: argparse.Namespace, name: str) -> bool:
    return not args.only or key(name) in args.only


def seeded_database(args: argparse.Namespace, name: str = "community_bench") -> tuple[Path, Path, str, float]:
    """A work directory, its static-answers directory, and a fresh database `name` migrated and
    seeded with `args.members` members (statistics analysed); and the seconds that took."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    static_dir = workdir / "static"
    static_dir.mkdir()
    db_url = fresh_database(workdir, name)
    env = server_env(db_url, static_dir, cache=False)
    started = time.monotonic()
    cli(env, "migrate")
    cli(env, "seed")
    seed(env, db_url, args.members)
    analyze(db_url)
    seeded = time.monotonic() - started
    print(f"seeded {args.members:,} members in {seeded:.1f} s on {backend_of(db_url)}", flush=True)
    return workdir, static_dir, db_url, seeded


def run_throughput(args: argparse.Namespace) -> int:
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # no generations or answers of an earlier run
    workdir, static_dir, db_url, seeded = seeded_database(args)
    backend = backend_of(db_url)
    env = server_env(db_url, static_dir, cache=False)
    cached_env = server_env(db_url, static_dir, cache=True, redis_url=args.redis_url)
    print("checking baselines, per-field costs in process", flush=True)
    prepared = asyncio.run(prepare(db_url, static_dir, args.repeats))
    for name, row in prepared["fields"].items():
        print(f"  {name}: {row['fields']} fields, ceiling {row['ceiling_ms']:.2f} ms, raw JSON {row['raw_json_ms']:.2f} ms "
              f"-> {row['us_per_field']:.2f} us/field", flush=True)

    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {"fields": prepared["fields"]}
    api_url = f"http://127.0.0.1:{API_PORT}/graphql"
    base = f"http://127.0.0.1:{BASELINE_PORT}"
    with server(env, "gql.app:create_app", API_PORT) as api_process, server(env, "bench.baseline_app:create_app", BASELINE_PORT):
        # Uncached means uncached: the same request twice must not be answered from a cache.
        extra["uncached_headers"] = cache_headers(api_url, READ_WORKLOADS["W2b posts(first: 50)"], 2)
        if "HIT" in extra["uncached_headers"]:
            raise SystemExit("RESPONSE_CACHE_ENABLED=false, yet the API answered X-Cache: HIT")
        same_answers_served(workdir)
        warm_up(api_url, READ_WORKLOADS["W1 landing page"], args, workdir)
        warm_up(f"{base}{CEILING}", READ_WORKLOADS["W1 landing page"], args, workdir)
        for name, body in READ_WORKLOADS.items():
            if not wanted(args, name):
                continue
            result = load(api_url, body, args.duration, args.connections, workdir)
            measured = {}
            for label, path in (("static", f"/static/{key(name)}"), ("raw", RAW[name]), ("ceiling", CEILING), ("hand", HAND_WRITTEN.get(name))):
                if path:
                    baseline = load(f"{base}{path}", body, args.duration, args.connections, workdir)
                    if baseline["non2xx"]:
                        raise SystemExit(f"{name}: the {label} baseline answered {baseline['non2xx']} non-2xx responses under load")
                    measured[label] = baseline["rps"]
            rows.append({"name": name, **result, "sql": prepared["statements"][name], "rss": rss_kb(api_process.pid, "VmHWM"),
                         "connections": args.connections, **{f"{label}_rps": rps for label, rps in measured.items()}})
            print(f"  {name}: {result['rps']:.0f} req/s (raw {measured['raw']:.0f}, ceiling {measured['ceiling']:.0f}, "
                  f"static {measured['static']:.0f})", flush=True)

        if wanted(args, "cached") and not any(row["name"] == "W1 landing page" for row in rows):
            # The cached row's reference, when W1 itself was not asked for (--only).
            extra["static_w1"] = load(f"{base}/static/W1", READ_WORKLOADS["W1 landing page"], args.duration, args.connections, workdir)["rps"]

        if shutil.which("wrk"):
            if wanted(args, "W5"):
                template = json.dumps({"query": LANDING_PAGE.replace("viewer {", "__ALIAS__: viewer {", 1), "variables": {"n": 5}})
                cold = wrk(api_url, COLD_LUA % lua_str(template), args.duration, args.connections, workdir)
                rows.append({"name": "W5 landing page, cold caches", **cold, "sql": prepared["statements"]["W1 landing page"],
                             "rss": rss_kb(api_process.pid, "VmHWM"), "connections": args.connections})
                print(f"  W5: {cold['rps']:.0f} req/s", flush=True)
            if wanted(args, "W4"):
                before = asyncio.run(faq_counters(db_url, [pk_of(g) for g in prepared["faqs"]]))
                script = WRITE_LUA % (lua_list(prepared["tokens"]), lua_list(prepared["posts"]), lua_list(prepared["faqs"]))
                writes = wrk(api_url, script, args.duration, WRITERS, workdir)
                rows.append({"name": "W4 write mix (16 conns)", **writes, "sql": "-", "rss": rss_kb(api_process.pid, "VmHWM"),
                             "invariants": asyncio.run(write_invariants(db_url, before))})
                print(f"  W4: {writes['rps']:.0f} req/s", flush=True)

        soak = None
        if args.soak and wanted(args, "soak"):
            start_rss = rss_kb(api_process.pid)
            load(api_url, READ_WORKLOADS["W1 landing page"], args.soak, args.connections, workdir)
            soak = (start_rss, rss_kb(api_process.pid))
            print(f"  soak: RSS {soak[0] / 1024:.0f} -> {soak[1] / 1024:.0f} MB", flush=True)

    # The response cache on: W1 repeated, and the 90/10 read/write mix.
    if wanted(args, "cached") or wanted(args, "mix"):
        with server(cached_env, "gql.app:create_app", API_PORT) as cached_process:
            headers = cache_headers(api_url, READ_WORKLOADS["W1 landing page"])
            extra["cached_headers"] = headers
            print(f"  cache on: X-Cache of 4 identical landing-page requests: {', '.join(headers)}", flush=True)
            warm_up(api_url, READ_WORKLOADS["W1 landing page"], args, workdir)
            static_w1 = next((row["static_rps"] for row in rows if row["name"] == "W1 landing page"), extra.get("static_w1"))
            if wanted(args, "cached"):
                cached = load(api_url, READ_WORKLOADS["W1 landing page"], args.duration, args.connections, workdir)
                rows.append({"name": "W1 anonymous, cached", **cached, "sql": "-", "rss": rss_kb(cached_process.pid, "VmHWM"),
                             "static_rps": static_w1, "cached": True, "connections": args.connections})
                print(f"  W1 cached: {cached['rps']:.0f} req/s", flush=True)
            if wanted(args, "mix") and shutil.which("wrk"):
                before = asyncio.run(faq_counters(db_url, [pk_of(g) for g in prepared["mix_faqs"]]))
                reads = "{" + ",".join(lua_str(json.dumps(body)) for body in MIX_READS) + "}"
                script = MIX_LUA % (lua_list(prepared["tokens"]), lua_list(prepared["mix_posts"]), lua_list(prepared["mix_faqs"]), reads)
                mix = wrk(api_url, script, args.mix_duration, args.connections, workdir)
                mix["invariants"] = asyncio.run(write_invariants(db_url, before))
                mix["served"] = asyncio.run(served_agree(db_url, f"http://127.0.0.1:{API_PORT}"))
                rows.append({"name": "90/10 read/write mix, cached", **mix, "sql": "-", "rss": rss_kb(cached_process.pid, "VmHWM"),
                             "cached": True, "connections": args.connections})
                print(f"  mix: {mix['rps']:.0f} req/s, {mix.get('mix')}", flush=True)

    publish(render_throughput(rows, extra, args, seeded, soak, db_url, prepared["statements"]),
            f"throughput:{backend}", args, workdir)
    return 0


def publish(report: str, section: str, args: argparse.Namespace, workdir: Path) -> None:
    """Print a mode's report, write its section of RESULTS.md (when asked), drop its work directory."""
    print(report)
    if args.write:
        write_section(section, report)
        print(f"wrote its section of {RESULTS.relative_to(ROOT)}")
    shutil.rmtree(workdir, ignore_errors=True)


WORKER_LOADS = ("W1 landing page", "W2b posts(first: 50)", "W3 faqs(first: 50)")


def run_workers(args: argparse.Namespace) -> int:
    """The same loads against `serve` with one worker (pinned to core 0, as the throughput mode
    runs it, and on every core) and with two workers, in one run; cached W1 with each."""
    workdir, static_dir, db_url, _ = seeded_database(args)
    backend = backend_of(db_url)
    api_url = f"http://127.0.0.1:{API_PORT}/graphql"
    loads = [name for name in READ_WORKLOADS if name.startswith(WORKER_LOADS)]
    configurations = [("1 worker, core 0", 1, "0"), ("1 worker, any core", 1, None), ("2 workers, any core", 2, None)]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for label, workers, cores in configurations:
        results[label] = {}
        for cache in (False, True):
            with served_by(server_env(db_url, static_dir, cache=cache), API_PORT, workers, cores) as process:
                names = loads if not cache else ["W1 landing page"]
                warm_up(api_url, READ_WORKLOADS["W1 landing page"], args, workdir)
                for name in names:
                    result = load(api_url, READ_WORKLOADS[name], args.duration, args.connections, workdir)
                    result["rss"] = tree_rss_kb(process.pid)
                    results[label][name + (", cached" if cache else "")] = result
                    print(f"  {label}: {name}{' cached' if cache else ''}: {result['rps']:.0f} req/s, "
                          f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms", flush=True)
    publish(render_workers(results, args, db_url), f"workers:{backend}", args, workdir)
    return 0


def render_workers(results: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace, db_url: str) -> str:
    labels = list(results)
    names = list(results[labels[0]])
    lines = [f"## Workers: `community-api serve --workers N` on {backend_of(db_url)}",
             "",
             (f"{datetime.now(UTC):%Y-%m-%d}, {machine()}; {args.members:,} members, {args.duration} s per load, "
             f"{args.connections} connections, wrk on core 1, production profile, rate limits off. "
             "The database server runs on the same machine, on any core."),
             "",
             "| workload | " + " | ".join(f"{label}: req/s (p50 / p99 ms)" for label in labels) + " | 2 workers / 1 worker on core 0 |",
             "|---|" + "---|" * (len(labels) + 1)]
    for name in names:
        cells = [f"{results[label][name]['rps']:.0f} ({results[label][name]['p50']:.1f} / {results[label][name]['p99']:.1f})"
                 for label in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio(results[labels[-1]][name]['rps'], results[labels[0]][name]['rps'])} |")
    lines.append("")
    lines.append("RSS after the last load (supervisor and workers): " +
                 ", ".join(f"{label} {results[label][names[-1]]['rss'] / 1024:.0f} MB" for label in labels) + ".")
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return f"{os.cpu_count()} cores, {cpu}, {memory}"


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "-"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def render_throughput(rows: list[dict[str, Any]], extra: dict[str, Any], args: argparse.Namespace, seeded: float,
                      soak: tuple[int, int] | None, db_url: str, statements: dict[str, str]) -> str:
    backend = backend_of(db_url)
    before = BEFORE.get(backend, {})
    title = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[backend]
    lines = [
        f"## After: {title}{' (quick smoke run: not figures to report)' if args.quick else ''}",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}",
        f"- dataset: `seed` + `seed --scale {args.members}` (seeded and analysed in {seeded:.1f} s)",
        (f"- load: {'wrk' if shutil.which('wrk') else 'Python fallback'}, {args.connections} connections, {args.duration} s per "
        "measurement; server: one uvicorn worker (uvloop, httptools with our limits) pinned to core 0, load generator on core 1"),
        f"- uncached rows: `RESPONSE_CACHE_ENABLED=false` (X-Cache of two identical requests: {', '.join(extra.get('uncached_headers', []))});"
        " cached rows: `RESPONSE_CACHE_ENABLED=true`" + (f", `REDIS_URL={args.redis_url}`" if args.redis_url else ", in process"),
        "",
        "| workload | req/s | p50 ms | p99 ms | p99/p50 | SQL/request | peak RSS MB | vs raw | vs ceiling | vs hand-written | vs static | before |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    lines.extend(f"| {row['name']} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | {row['p99'] / row['p50']:.1f} "
                 f"| {row['sql']} | {row['rss'] / 1024:.0f} | {ratio(row['rps'], row.get('raw_rps'))} "
                 f"| {ratio(row['rps'], row.get('ceiling_rps'))} | {ratio(row['rps'], row.get('hand_rps'))} "
                 f"| {ratio(row['rps'], row.get('static_rps'))} | {before.get(row['name'], '')} |"
                 for row in rows)
    baselines = [row for row in rows if row.get("raw_rps")]
    if baselines:
        lines += ["", "Baselines, same run, same data (req/s; each answer checked equal to the API's first):", "",
                  "| workload | API | raw (driver + orjson) | ceiling (Strawberry, in memory) | hand-written (Tortoise) | static | raw SQL/request |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        raw_statements = {"W1": 24, "W2": 3, "W2b": 2, "W3": 2}
        for row in baselines:
            lines.append(f"| {row['name']} | {row['rps']:.0f} | {row['raw_rps']:.0f} | {row['ceiling_rps']:.0f} "
                         f"| {row.get('hand_rps', 0):.0f} | {row['static_rps']:.0f} | {raw_statements.get(key(row['name']), '-')} |")
    fields = extra.get("fields") or {}
    if fields:
        lines += ["", ("The GraphQL layer's own cost, in process, one request at a time (median ms). µs/field: the "
                  "ceiling's (ceiling − raw JSON only) / resolved fields, the GraphQL layer alone; the API's "
                  "(API − raw SQL + JSON) / resolved fields, all it adds to the floor (GraphQL, ORM, loaders, limits, HTTP):"), "",
                  ("| workload | resolved fields | raw: SQL + JSON | raw: JSON only (rows fetched) | ceiling, stock executor | µs/field "
                  "| ceiling, the API's executor | µs/field | API (uncached) | µs/field over raw |"),
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, f in fields.items():
            tuned = (f"{f['tuned_ms']:.2f} | {f['tuned_us_per_field']:.2f}" if "tuned_ms" in f else "- | -")
            lines.append(f"| {name} | {f['fields']} | {f['raw_ms']:.2f} | {f['raw_json_ms']:.2f} | {f['ceiling_ms']:.2f} "
                         f"| {f['us_per_field']:.2f} | {tuned} | {f['api_ms']:.2f} | {f['api_us_per_field']:.1f} |")
    lines.append("")
    for row in rows:
        if "invariants" in row:
            inv = row["invariants"]
            lines.append(f"- {row['name']}: {row['non2xx']} non-2xx responses; afterwards {inv['kudos']} kudos and {inv['ratings']} ratings; "
                         f"posts whose kudosCount differs from its rows: {inv['mismatched_posts']}; "
                         f"FAQs whose counters moved differently from their ratings: {inv['mismatched_faqs']}")
        if "mix" in row:
            m = row["mix"]
            hit_ratio = m["hits"] / (m["hits"] + m["misses"]) if m["hits"] + m["misses"] else 0
            served = row["served"]
            lines.append(f"- {row['name']}: {m['reads']} reads, {m['writes']} writes issued; X-Cache HIT {m['hits']}, MISS {m['misses']}, "
                         f"no header {m['other']} (writes are never cached) -> hit ratio {hit_ratio:.1%} of cacheable answers; "
                         f"5xx: {m['s5xx']}; afterwards, through the cache: {served['stale_kudos']} of {served['posts_checked']} posts "
                         f"show a kudosCount other than their rows, {served['stale_helpful']} of {served['faqs_checked']} FAQs a "
                         f"helpfulCount other than stored, {served['wrong_totals']} of 3 totalCounts wrong")
    if "cached_headers" in extra:
        headers = extra["cached_headers"]
        note = "" if "HIT" in headers else " — **no HIT: the response cache is not in the API (or not for this request); the cached rows are uncached figures**"
        lines.append(f"- cache on: X-Cache of 4 identical anonymous landing-page requests: {', '.join(headers)}{note}")
    if soak:
        growth = (soak[1] - soak[0]) / soak[0] * 100
        lines.append(f"- RSS over a {args.soak} s W1 run (uncached): {soak[0] / 1024:.0f} MB -> {soak[1] / 1024:.0f} MB ({growth:+.1f}%)"
                     + (f"; before: {before['RSS']}" if "RSS" in before else ""))
    lines += ["", *targets(rows, soak)]
    return "\n".join(lines) + "\n"


def targets(rows: list[dict[str, Any]], soak: tuple[int, int] | None) -> list[str]:
    """Issue 10's targets that this run measures (the counts' are in the --counts section)."""
    by = {row["name"]: row for row in rows}
    out = ["Targets (issue 10):", ""]

    def vs(name: str, base: str, goal: float) -> None:
        row = by.get(name)
        if row and row.get(f"{base}_rps"):
            value = row["rps"] / row[f"{base}_rps"]
            out.append(f"- {name} ≥ {goal}x {base}: {value:.2f}x {verdict(value >= goal)}")

    vs("W2b posts(first: 50)", "raw", 0.25)
    vs("W2b posts(first: 50)", "ceiling", 0.8)
    vs("W2 posts(first: 100)", "raw", 0.25)
    vs("W2 posts(first: 100)", "ceiling", 0.8)
    vs("W1 landing page", "raw", 0.2)
    vs("W3 faqs(first: 50)", "raw", 0.2)
    vs("W1 anonymous, cached", "static", 0.3)
    # At the run's connections (50 by default): W4's 16 writers are reported, not judged.
    judged = [row for row in rows if row.get("connections")]
    tails = [f"{row['name']} {row['p99'] / row['p50']:.1f}" for row in judged if row["p99"] > 4 * row["p50"]]
    connections = judged[0]["connections"] if judged else "-"
    out.append(f"- p99 ≤ 4x p50 at {connections} connections: {verdict(not tails)}" + (f" (over: {'; '.join(tails)})" if tails else ""))
    if soak:
        growth = (soak[1] - soak[0]) / soak[0] * 100
        out.append(f"- RSS flat (< +10%) over the soak: {growth:+.1f}% {verdict(growth < 10)}")
    mix = by.get("90/10 read/write mix, cached")
    if mix:
        inv, served, m = mix["invariants"], mix["served"], mix["mix"]
        exact = not (inv["mismatched_posts"] or inv["mismatched_faqs"] or served["stale_kudos"] or served["stale_helpful"] or served["wrong_totals"])
        out.append(f"- 90/10 mix: 0 5xx {verdict(m['s5xx'] == 0)}; every counter exact afterwards {verdict(exact)}")
    return out


# --- the counts run ---------------------------------------------------------------------------------

def count_queries(targets: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str, list[Any]]]:
    """Each count the API exposes: (GraphQL body selecting only it, the COUNT(*) statement a naive
    implementation sends, for reference, and its arguments)."""
    q = lambda text, **variables: {"query": text, **({"variables": variables} if variables else {})}  # noqa: E731
    return {
        "posts": (q("{ posts { totalCount } }"), 'SELECT COUNT(*) FROM "posts" WHERE "status" = $1', ["PUBLISHED"]),
        "posts per board": (q("query($b: String) { posts(board: $b) { totalCount } }", b=targets["board"]),
                            'SELECT COUNT(*) FROM "posts" "p" JOIN "boards" "b" ON "b"."id" = "p"."board_id" WHERE "p"."status" = $1 AND "b"."slug" = $2',
                            ["PUBLISHED", targets["board"]]),
        "posts per tag": (q("query($t: String) { posts(tag: $t) { totalCount } }", t=targets["tag"]),
                          ('SELECT COUNT(*) FROM "posts" "p" JOIN "post_tags" "pt" ON "pt"."post_id" = "p"."id" JOIN "tags" "t" ON "t"."id" = "pt"."tag_id" '
                          'WHERE "p"."status" = $1 AND "t"."name" = $2'), ["PUBLISHED", targets["tag"]]),
        "posts per author": (q("query($a: String) { posts(author: $a) { totalCount } }", a=targets["author"]),
                             'SELECT COUNT(*) FROM "posts" "p" JOIN "users" "u" ON "u"."id" = "p"."author_id" WHERE "p"."status" = $1 AND "u"."handle" = $2',
                             ["PUBLISHED", targets["author"]]),
        "boards' postCount": (q("{ boards { postCount } }"), 'SELECT "board_id", COUNT(*) FROM "posts" WHERE "status" = $1 GROUP BY "board_id"', ["PUBLISHED"]),
        "FAQs": (q("{ faqs { totalCount } }"), 'SELECT COUNT(*) FROM "faqs" WHERE "status" = $1', ["PUBLISHED"]),
        "FAQs per category": (q("query($c: String) { faqs(category: $c) { totalCount } }", c=targets["category"]),
                              'SELECT COUNT(*) FROM "faqs" "f" JOIN "faq_categories" "c" ON "c"."id" = "f"."category_id" WHERE "f"."status" = $1 AND "c"."slug" = $2',
                              ["PUBLISHED", targets["category"]]),
        "ongoing issues": (q("{ ongoingIssues { totalCount } }"), 'SELECT COUNT(*) FROM "issues" WHERE "status" = ANY($1)',
                           [["INVESTIGATING", "IDENTIFIED", "MONITORING"]]),
        "updates of an issue": (q("query($n: Int!) { issue(number: $n) { updates { totalCount } } }", n=targets["issue"]),
                                'SELECT COUNT(*) FROM "issue_updates" WHERE "issue_id" = (SELECT "id" FROM "issues" WHERE "number" = $1)', [targets["issue"]]),
        "announcements": (q("{ announcements { totalCount } }"), 'SELECT COUNT(*) FROM "announcements"', []),
        "stars": (q("{ stars { totalCount } }"), 'SELECT COUNT(*) FROM "users" WHERE "role" = $1', ["STAR"]),
        "replies on a post": (q("query($s: String!) { post(slug: $s) { replies { totalCount } } }", s=targets["post"]),
                              'SELECT COUNT(*) FROM "replies" WHERE "post_id" = (SELECT "id" FROM "posts" WHERE "slug" = $1) AND "status" = $2',
                              [targets["post"], "PUBLISHED"]),
        "communityStats.memberCount": (q("{ communityStats { memberCount } }"), 'SELECT COUNT(*) FROM "users"', []),
        "communityStats.starCount": (q("{ communityStats { starCount } }"), 'SELECT COUNT(*) FROM "users" WHERE "role" = $1', ["STAR"]),
        "communityStats.publishedPostCount": (q("{ communityStats { publishedPostCount } }"),
                                              'SELECT COUNT(*) FROM "posts" WHERE "status" = $1', ["PUBLISHED"]),
        "communityStats.replyCount": (q("{ communityStats { replyCount } }"), 'SELECT COUNT(*) FROM "replies" WHERE "status" = $1', ["PUBLISHED"]),
    }


async def count_targets(db_url: str) -> dict[str, Any]:
    """The board, tag, category, post and issue with the most rows (kept for both sizes)."""
    from bench import raw

    database = await raw.RawDB(db_url).open()
    try:
        async with database.session() as s:
            one = lambda rows: rows[0][0]  # noqa: E731
            return {
                "board": one(await s.fetch('SELECT "b"."slug" FROM "boards" "b" JOIN "posts" "p" ON "p"."board_id" = "b"."id" '
                                           'GROUP BY "b"."slug" ORDER BY COUNT(*) DESC, "b"."slug" LIMIT 1')),
                "tag": one(await s.fetch('SELECT "t"."name" FROM "tags" "t" JOIN "post_tags" "pt" ON "pt"."tag_id" = "t"."id" '
                                         'GROUP BY "t"."name" ORDER BY COUNT(*) DESC, "t"."name" LIMIT 1')),
                "category": one(await s.fetch('SELECT "c"."slug" FROM "faq_categories" "c" JOIN "faqs" "f" ON "f"."category_id" = "c"."id" '
                                              'GROUP BY "c"."slug" ORDER BY COUNT(*) DESC, "c"."slug" LIMIT 1')),
                "author": "member_000000",
                "post": one(await s.fetch('SELECT "slug" FROM "posts" WHERE "status" = $1 ORDER BY "reply_count" DESC, "id" LIMIT 1', "PUBLISHED")),
                "issue": one(await s.fetch('SELECT "i"."number" FROM "issues" "i" JOIN "issue_updates" "u" ON "u"."issue_id" = "i"."id" '
                                           'GROUP BY "i"."number" ORDER BY COUNT(*) DESC, "i"."number" LIMIT 1')),
            }
    finally:
        await database.close()


class StatementLog:
    """A handler on `tortoise.db_client` keeping each statement with its arguments (the log
    record's own args: no parsing)."""

    def __init__(self) -> None:
        import logging

        self.statements: list[tuple[str, list[Any]]] = []
        self.handler = logging.Handler(level=logging.DEBUG)
        self.handler.emit = self._emit  # type: ignore[method-assign]

    def _emit(self, record: Any) -> None:
        if record.msg == "%s: %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            self.statements.append((record.args[0], list(record.args[1] or [])))

    def __enter__(self) -> StatementLog:
        import logging

        logger = logging.getLogger("tortoise.db_client")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        import logging

        logger = logging.getLogger("tortoise.db_client")
        logger.removeHandler(self.handler)
        logger.setLevel(self._level)


async def capture_statements(db_url: str, bodies: dict[str, dict[str, Any]]) -> tuple[dict[str, list[tuple[str, list[Any]]]], dict[str, Any]]:
    """Per query: the statements the API sends for it (in process, cache off) and its answer."""
    from tortoise import Tortoise

    from gql.app import create_app
    from models.db import tortoise_config

    quiet_sql_log()
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        app = create_app(api_settings(db_url), manage_orm=False)
        statements, answers = {}, {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            for name, body in bodies.items():
                await http.post("/graphql", json=body)  # warm: first-use look-ups are not the query's
                with StatementLog() as log:
                    answer = (await http.post("/graphql", json=body)).json()
                if answer.get("errors"):
                    raise SystemExit(f"counts: {name}: the API answered {answer['errors']}")
                statements[name], answers[name] = log.statements, answer["data"]
        return statements, answers
    finally:
        await Tortoise.close_connections()


async def time_statements(db_url: str, groups: dict[str, list[tuple[str, list[Any]]]], repeats: int, dialect_sql: bool) -> dict[str, float]:
    """Median ms of each statement through the driver itself, summed per group. `dialect_sql`:
    the statements are the API's (already in the database's dialect); otherwise bench/raw's
    PostgreSQL-style SQL, converted for SQLite."""
    from bench import raw

    totals: dict[str, float] = {}
    if db_url.startswith("postgres"):
        import asyncpg

        connection = await asyncpg.connect(db_url.replace("postgres://", "postgresql://", 1))
        try:
            for name, statements in groups.items():
                total = 0.0
                for sql, values in statements:
                    total += await amedian_ms(lambda sql=sql, values=values: connection.fetch(sql, *values), repeats)
                totals[name] = total
        finally:
            await connection.close()
    else:
        import sqlite3

        connection = sqlite3.connect(db_url.split("://", 1)[1])
        try:
            for name, statements in groups.items():
                total = 0.0
                for sql, values in statements:
                    if not dialect_sql:
                        sql, values = raw.to_sqlite(sql, values)
                    values = [v.isoformat(" ") if isinstance(v, datetime) else v for v in values]
                    total += median_ms(lambda sql=sql, values=values: connection.execute(sql, values).fetchall(), repeats)
                totals[name] = total
        finally:
            connection.close()
    return totals


def http_medians(bodies: dict[str, dict[str, Any]], repeats: int) -> dict[str, float]:
    """One client, one request at a time: the median ms of each body against the served API."""
    with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", timeout=60) as http:
        return {name: median_ms(lambda body=body: http.post("/graphql", json=body).raise_for_status(), repeats)
                for name, body in bodies.items()}


def total_of(answer: Any) -> str:
    """The number(s) an answer holds (the totalCount, or the boards' postCounts summed)."""
    numbers: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, int) and not isinstance(value, bool):
            numbers.append(value)

    walk(answer)
    return f"{sum(numbers):,}"


def run_counts(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="community-bench-counts-"))
    (workdir / "static").mkdir()
    db_url = fresh_database(workdir)
    backend = backend_of(db_url)
    env = server_env(db_url, workdir / "static", cache=False)
    cli(env, "migrate")
    cli(env, "seed")
    sizes: list[dict[str, Any]] = []
    queries: dict[str, tuple[dict[str, Any], str, list[Any]]] = {}
    for members in args.sizes:
        print(f"seeding to {members:,} members on {backend} ...", flush=True)
        seconds = seed(env, db_url, members)
        analyze(db_url)
        print(f"  seeded in {seconds:.0f} s; {peek(db_url)}", flush=True)
        if not queries:
            queries = count_queries(asyncio.run(count_targets(db_url)))
        bodies = {name: body for name, (body, _, _) in queries.items()}
        landing = {"query": LANDING_PAGE, "variables": {"n": 5}}
        statements, answers = asyncio.run(capture_statements(db_url, {**bodies, "landing page": landing}))
        api_sql = asyncio.run(time_statements(db_url, statements, args.count_repeats, dialect_sql=True))
        reference = asyncio.run(time_statements(db_url, {name: [(sql, values)] for name, (_, sql, values) in queries.items()},
                                                args.count_repeats, dialect_sql=False))
        with server(env, "gql.app:create_app", API_PORT):
            served = http_medians({**bodies, "landing page": landing}, args.count_repeats)
        sizes.append({"members": members, "seconds": seconds, "statements": statements, "answers": answers,
                      "api_sql": api_sql, "reference": reference, "served": served})
        print(f"  landing page {served['landing page']:.2f} ms; posts totalCount {served['posts']:.2f} ms "
              f"(SQL {api_sql['posts']:.2f} ms; COUNT(*) {reference['posts']:.2f} ms)", flush=True)

    report = render_counts(sizes, [*list(queries), "landing page"], args, db_url)
    if args.show_sql:
        print(f"\nThe statements the API sent at {sizes[-1]['members']:,} members (median ms through the driver in the table):")
        for name, statements in sizes[-1]["statements"].items():
            print(f"- {name}:")
            for sql, values in statements:
                print(f"    {sql[:400]}  {str(values)[:120]}")
        print()
    print(report)
    if args.write:
        write_section(f"counts:{backend}", report)
        print(f"wrote its section of {RESULTS.relative_to(ROOT)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


NOISE_MS = 0.05


def render_counts(sizes: list[dict[str, Any]], names: list[str], args: argparse.Namespace, db_url: str) -> str:
    backend = backend_of(db_url)
    title = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[backend]
    small, large = sizes[0], sizes[-1]
    a, b = f"{small['members']:,}", f"{large['members']:,}"
    before = BEFORE_COUNTS.get(backend, {})
    lines = [
        f"## Counts at two sizes: {title}{' (quick smoke run: not figures to report)' if args.quick else ''}",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}",
        (f"- datasets: `seed` + `seed --scale {a}`, then `--scale {b}` on top (seeded in {small['seconds']:.0f} s and "
        f"{large['seconds']:.0f} s more), `{'VACUUM ANALYZE' if backend == 'postgres' else 'ANALYZE'}` after each"),
        (f"- API: the served API (one uvicorn worker, response cache off), one client, one request at a time, median of "
        f"{args.count_repeats}; SQL: the statements the API sent for the query (captured in process), each timed through the "
        f"driver alone (median of {args.count_repeats}), summed; COUNT(*): what counting the rows costs, for reference"),
        "",
        (f"| count | value @{a} | value @{b} | API ms @{a} | API ms @{b} | ratio | its SQL: statements | SQL ms @{a} | SQL ms @{b} "
        f"| ratio | ≤1.2x | COUNT(*) ms @{a} | @{b} | ratio | before |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    missed = []
    for name in names:
        api_ratio = large["served"][name] / small["served"][name]
        sql_small, sql_large = small["api_sql"][name], large["api_sql"][name]
        sql_ratio = sql_large / sql_small if sql_small else float("nan")
        # A few hundredths of a millisecond either way is noise, not growth.
        ok = (sql_ratio <= 1.2 or sql_large - sql_small < NOISE_MS) and (
            name != "landing page" or api_ratio <= 1.2 or large["served"][name] - small["served"][name] < NOISE_MS)
        if not ok:
            missed.append(name)
        statements = f"{len(small['statements'][name])} / {len(large['statements'][name])}"
        if name in small["reference"]:
            reference = (f"{small['reference'][name]:.2f} | {large['reference'][name]:.2f} | "
                         f"{large['reference'][name] / small['reference'][name]:.1f}x")
            values = f"{total_of(small['answers'][name])} | {total_of(large['answers'][name])}"
        else:
            reference, values = "- | - | -", "- | -"
        lines.append(f"| {name} | {values} | {small['served'][name]:.2f} | {large['served'][name]:.2f} | {api_ratio:.2f}x "
                     f"| {statements} | {sql_small:.2f} | {sql_large:.2f} | {sql_ratio:.2f}x | {verdict(ok)} | {reference} "
                     f"| {before.get(name, '')} |")
    lines += ["", "Targets (issue 10): every totalCount's SQL time, and the landing page's time, at "
              f"{b} members within 1.2x of {a} (or within {NOISE_MS} ms of it): " + (verdict(True) if not missed else f"{verdict(False)} for {', '.join(missed)}"),
              (f"- landing page statements: {len(small['statements']['landing page'])} at {a}, "
              f"{len(large['statements']['landing page'])} at {b} (must not change with the community's size)")]
    return "\n".join(lines) + "\n"


# --- RESULTS.md ------------------------------------------------------------------------------------

def write_section(name: str, text: str) -> None:
    """Replace the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in RESULTS.md
    (appended when the markers are missing); everything else in the file is kept."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        updated = head + block + rest.split(end, 1)[1]
    else:
        updated = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(updated)


# --- the command -------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per load measurement")
    parser.add_argument("--mix-duration", type=int, default=None, help="seconds of the 90/10 mix (default: 2x --duration)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--soak", type=int, default=60, help="seconds of W1 for the RSS growth check (0 skips)")
    parser.add_argument("--repeats", type=int, default=300, help="in-process repetitions for the per-field costs")
    parser.add_argument("--only", default="", help="comma-separated subset: W1,W2,W2b,W3,W4,W5,soak,cached,mix")
    parser.add_argument("--redis-url", default="",
                        help="give the cached server REDIS_URL (default: the in-process cache); a database of its own: it is emptied first")
    parser.add_argument("--counts", action="store_true", help="the counts mode: totalCount SQL and landing page at two sizes")
    parser.add_argument("--workers", action="store_true", help="the workers mode: serve with 1 worker, then 2, same loads")
    parser.add_argument("--sizes", default="10000,100000", help="--counts: the two community sizes (members)")
    parser.add_argument("--show-sql", action="store_true", help="--counts: print the statements the API sent for each count")
    parser.add_argument("--count-repeats", type=int, default=50, help="--counts: requests (and statement runs) per median")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2,000 members, 3 s per measurement, 10 s soak (--counts: 1,000 and 10,000 members, 15 repeats)")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="write the section of bench/RESULTS.md (default: yes for full runs, no for --quick and --only)")
    args = parser.parse_args()
    if args.quick:
        args.members, args.duration, args.soak, args.repeats = 2000, 3, 10, 50
        if args.sizes == parser.get_default("sizes"):
            args.sizes = "1000,10000"
        if args.count_repeats == parser.get_default("count_repeats"):
            args.count_repeats = 15
    args.mix_duration = args.mix_duration or 2 * args.duration
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    args.sizes = [int(part) for part in args.sizes.split(",")]
    if args.write is None:
        args.write = not args.quick and not args.only
    if args.workers:
        return run_workers(args)
    return run_counts(args) if args.counts else run_throughput(args)


if __name__ == "__main__":
    sys.exit(main())
