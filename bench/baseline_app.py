"""Baselines measured beside the API in the same run, on the same data.

- /static/<name>: the exact bytes the API answered for a workload (the ceiling: no work at all);
- /hand/posts and /hand/faqs: hand-written endpoints issuing the same SQL as the API's loaders and
  building the same JSON with orjson, with no GraphQL in between.
Run: DATABASE_URL=... STATIC_DIR=... uvicorn bench.baseline_app:create_app --factory
"""

from __future__ import annotations

import os
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from gql.relay import to_global_id
from models.db import tortoise_config
from models.faqs import Faq, FaqCategory
from models.posts import Post, PostStatus, PostTag


def _json(data: object) -> Response:
    return Response(orjson.dumps({"data": data}), media_type="application/json")


async def posts(_request: Request) -> Response:
    rows = await Post.filter(status=PostStatus.PUBLISHED).select_related("author").order_by("-published_at", "-id").limit(101)
    rows = rows[:100]
    tags: dict[int, list[str]] = defaultdict(list)
    for row in await PostTag.filter(post_id__in=[p.pk for p in rows]).select_related("tag").order_by("tag__name"):
        tags[row.post_id].append(row.tag.name)
    return _json({"posts": {"nodes": [
        {"id": to_global_id("Post", p.pk), "title": p.title,
         "author": {"handle": p.author.handle, "displayName": p.author.display_name},
         "tags": tags[p.pk], "kudosCount": p.kudos_count}
        for p in rows]}})


async def faqs(_request: Request) -> Response:
    rows = (await Faq.filter(status="PUBLISHED").order_by("-views", "id").limit(51))[:50]
    categories = {c.pk: c for c in await FaqCategory.filter(id__in={f.category_id for f in rows})}
    return _json({"faqs": {"nodes": [
        {"id": to_global_id("Faq", f.pk), "slug": f.slug, "title": f.title, "views": f.views,
         "category": {"slug": categories[f.category_id].slug, "name": categories[f.category_id].name}}
        for f in rows]}})


def create_app() -> Starlette:
    static_dir = Path(os.environ["STATIC_DIR"])
    answers = {path.stem: path.read_bytes() for path in static_dir.glob("*.json")}

    async def static(request: Request) -> Response:
        return Response(answers[request.path_params["name"]], media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(os.environ["DATABASE_URL"])):
            yield

    return Starlette(lifespan=lifespan, routes=[Route("/static/{name}", static, methods=["GET", "POST"]),
                                                Route("/hand/posts", posts, methods=["GET", "POST"]),
                                                Route("/hand/faqs", faqs, methods=["GET", "POST"])])
