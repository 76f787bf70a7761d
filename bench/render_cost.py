"""What `bodyHtml` costs a list page, in process: `.venv/bin/python bench/render_cost.py`.

Seeds a scratch SQLite database (the page content and 1,000 generated members), then times
`posts(first: 50)` without `bodyHtml`, with it from the render cache, and with the cache emptied
before every request; then renders 50 intro-sized bodies (several paragraphs, bold, a link), and
the slowest inputs found at the bodies' size limit. Figures are CPU time of this process (SQLite
runs on a thread of it), medians; they are for comparing with each other, not across machines.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PAGE = "{ posts(first: 50) { nodes { title body } } }"
PAGE_WITH_HTML = "{ posts(first: 50) { nodes { title body bodyHtml } } }"
SLOWEST = {'20,000 "["': "[" * 20000, '10,000 "!["': "![" * 10000, '10,000 "*a"': "*a" * 10000,
           "700 links": "[x](https://example.com/a) " * 700, "20,000 of prose": "word " * 4000}


async def page_ms(client: httpx.AsyncClient, query: str, runs: int, cold: bool) -> float:
    from models.text import render_cache

    samples = []
    for _ in range(runs):
        if cold:
            render_cache.clear()
        start = time.process_time()
        response = await client.post("/graphql", json={"query": query})
        samples.append((time.process_time() - start) * 1000)
        assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
    return statistics.median(samples)


async def measure_page() -> None:
    from gql.app import create_app
    from gql.settings import Settings

    app = create_app(Settings.from_env(rate_limit_enabled=False, response_cache_enabled=False))
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await page_ms(client, PAGE_WITH_HTML, 20, cold=False)  # warm up
        plain = await page_ms(client, PAGE, 200, cold=False)
        cached = await page_ms(client, PAGE_WITH_HTML, 200, cold=False)
        cold = await page_ms(client, PAGE_WITH_HTML, 100, cold=True)
    print(f"posts(first: 50), generated bodies: {plain:.2f} ms without bodyHtml, "
          f"{cached:.2f} ms with it cached, {cold:.2f} ms with every body rendered")


def measure_renders() -> None:
    from models.seed.content import read
    from models.text import RenderCache

    intros = [post["body"] for post in read("community.toml")["posts"][:3]]
    bodies = [f"{intros[n % 3]}\n\nPost {n}: see [the help page](https://example.com/help/{n})." for n in range(50)]
    cache = RenderCache(max_chars=10_000_000)
    start = time.process_time()
    for body in bodies:
        cache.html_of(body)
    print(f"50 intro-sized bodies ({sum(map(len, bodies)) // 50} characters on average): "
          f"{(time.process_time() - start) * 1000:.1f} ms to render")
    for name, source in SLOWEST.items():
        fastest = min(_render_seconds(source) for _ in range(3))
        print(f"  {name}: {fastest * 1000:.0f} ms")


def _render_seconds(source: str) -> float:
    from models.text import RenderCache

    start = time.process_time()
    RenderCache(max_chars=0).html_of(source)
    return time.process_time() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["DATABASE_URL"] = f"sqlite://{Path(scratch) / 'render.sqlite3'}"
        os.environ.setdefault("LOG_LEVEL", "warning")
        command = [str(Path(sys.executable).with_name("community-api"))]
        for arguments in (["migrate"], ["seed", "--scale", "1000"]):
            subprocess.run(command + arguments, check=True, capture_output=True)
        asyncio.run(measure_page())
    measure_renders()


if __name__ == "__main__":
    main()
