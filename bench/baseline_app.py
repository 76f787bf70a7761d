"""Baselines measured beside the API in the same run, on the same data.

- /static/<name>: the exact bytes the API answered for a workload (no work at all);
- /raw/<name> (W1, W2, W2b, W3): the database driver directly (asyncpg / aiosqlite), the lean SQL a
  batched API needs, orjson (bench/raw.py): the floor;
- /ceiling: stock Strawberry with the API's schema shape, answering from objects loaded once at
  start (bench/ceiling.py): what the GraphQL layer costs by itself;
- /hand/landing, /hand/posts, /hand/posts50 and /hand/faqs: hand-written endpoints issuing the same
  SQL as the API's loaders through Tortoise models and building the same JSON with orjson.
Run: DATABASE_URL=... STATIC_DIR=... uvicorn bench.baseline_app:create_app --factory
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from tortoise.contrib.starlette import RegisterTortoise

from bench import ceiling, raw
from gql.app import tune_garbage_collector
from gql.core.relay import to_global_id
from gql.core.scalars import serialize_datetime
from gql.settings import Settings
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


async def posts50(_request: Request) -> Response:
    rows = (await Post.filter(status=PostStatus.PUBLISHED).select_related("author").order_by("-published_at", "-id").limit(51))[:50]
    return _json({"posts": {"nodes": [
        {"id": to_global_id("Post", p.pk), "title": p.title, "publishedAt": _iso(p.published_at),
         "author": {"handle": p.author.handle, "displayName": p.author.display_name}}
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

    database = raw.RawDB(os.environ["DATABASE_URL"])

    async def raw_endpoint(request: Request) -> Response:
        async with database.session() as session:
            data = await raw.BUILDERS[request.path_params["name"]](session)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.open()
        await ceiling.load(database)
        try:
            async with RegisterTortoise(app, config=tortoise_config(os.environ["DATABASE_URL"])):
                # The same process tuning as the API's, so that the ratio compares the code alone.
                tune_garbage_collector(Settings.from_env().gc_young_threshold)
                yield
        finally:
            await database.close()

    return Starlette(lifespan=lifespan, routes=[Route("/static/{name}", static, methods=["GET", "POST"]),
                                                Route("/raw/{name}", raw_endpoint, methods=["GET", "POST"]),
                                                Route("/ceiling", GraphQL(ceiling.build_schema(), graphql_ide=None)),
                                                Route("/hand/posts", posts, methods=["GET", "POST"]),
                                                Route("/hand/posts50", posts50, methods=["GET", "POST"]),
                                                Route("/hand/faqs", faqs, methods=["GET", "POST"]),
                                                Route("/hand/landing", landing, methods=["GET", "POST"])])


def _iso(moment: datetime | None) -> str | None:
    return serialize_datetime(moment) if moment is not None else None


async def landing(_request: Request) -> Response:
    """The landing-page query (n=5) by hand: the same statements as the API's loaders, in order."""
    from tortoise.expressions import Q
    from tortoise.functions import Count, Sum

    from models.announcements import Announcement
    from models.base import utcnow
    from models.faqs import FaqLabel
    from models.issues import OPEN_STATUSES, Issue, IssuePlatform, IssueUpdate
    from models.posts import Board
    from models.stars import EligibilityRequirement, Perk, ProgramValue, StarProfile, StarsProgram, star_members
    from models.wizard import WizardOption, WizardStep

    n = 5
    now = utcnow()
    announcements = (await Announcement.filter(Q(published_at__lte=now), Q(expires_at__isnull=True) | Q(expires_at__gt=now)).limit(n + 1))[:n]

    first = await WizardStep.filter(is_first=True).first()
    options = await WizardOption.filter(step_id=first.pk)
    next_steps = {s.pk: s for s in await WizardStep.filter(id__in=[o.next_step_id for o in options if o.next_step_id])}

    faqs = (await Faq.filter(status="PUBLISHED").order_by("-views", "id").limit(n + 1))[:n]
    faq_total = await Faq.filter(status="PUBLISHED").count()
    categories = {c.pk: c for c in await FaqCategory.filter(id__in={f.category_id for f in faqs})}
    labels: dict[int, list[str]] = defaultdict(list)
    for label in await FaqLabel.filter(faq_id__in=[f.pk for f in faqs]).order_by("name"):
        labels[label.faq_id].append(label.name)

    issues = (await Issue.filter(status__in=OPEN_STATUSES).order_by("-affected_count", "-id").limit(n + 1))[:n]
    issue_total = await Issue.filter(status__in=OPEN_STATUSES).count()
    platforms: dict[int, list[str]] = defaultdict(list)
    for row in await IssuePlatform.filter(issue_id__in=[i.pk for i in issues]).order_by("platform"):
        platforms[row.issue_id].append(row.platform.value)
    updates: dict[int, list[IssueUpdate]] = defaultdict(list)
    for update in await IssueUpdate.filter(issue_id__in=[i.pk for i in issues]).order_by("-posted_at", "-id"):
        updates[update.issue_id].append(update)

    program = await StarsProgram.first()
    eligibility, perks, values = await EligibilityRequirement.all(), await Perk.all(), await ProgramValue.all()
    blog = (await Post.filter(status=PostStatus.PUBLISHED, board__slug="stars-blog").select_related("author")
            .order_by("-published_at", "-id").limit(4))[:3]

    stars = (await star_members().limit(n + 1))[:n]
    star_total = await star_members().count()
    star_ids = [s.pk for s in stars]
    profiles = {p.user_id: p for p in await StarProfile.filter(user_id__in=star_ids)}
    post_counts = dict(await Post.filter(author_id__in=star_ids, status=PostStatus.PUBLISHED)
                       .annotate(n=Count("id")).group_by("author_id").values_list("author_id", "n"))
    kudos = dict(await Post.filter(author_id__in=star_ids, status=PostStatus.PUBLISHED)
                 .annotate(total=Sum("kudos_count")).group_by("author_id").values_list("author_id", "total"))

    posts = (await Post.filter(status=PostStatus.PUBLISHED).select_related("author").order_by("-published_at", "-id").limit(n + 1))[:n]
    boards = {b.pk: b for b in await Board.filter(id__in={p.board_id for p in posts})}
    tags: dict[int, list[str]] = defaultdict(list)
    for row in await PostTag.filter(post_id__in=[p.pk for p in posts]).select_related("tag").order_by("tag__name"):
        tags[row.post_id].append(row.tag.name)

    return _json({
        "viewer": {"isAuthenticated": False, "role": None},
        "announcements": {"nodes": [{"id": to_global_id("Announcement", a.pk), "title": a.title, "body": a.body,
                                      "pinned": a.pinned, "publishedAt": _iso(a.published_at)} for a in announcements]},
        "helpWizard": {"firstStep": {
            "id": to_global_id("WizardStep", first.pk), "stepNumber": first.step_number, "title": first.title, "prompt": first.prompt,
            "options": [{"label": o.label, "next": {"id": to_global_id("WizardStep", o.next_step_id), "title": next_steps[o.next_step_id].title}
                         if o.next_step_id else None} for o in options]}},
        "faqs": {"totalCount": faq_total, "nodes": [
            {"id": to_global_id("Faq", f.pk), "slug": f.slug, "title": f.title, "views": f.views, "helpfulCount": f.helpful_count,
             "category": {"slug": categories[f.category_id].slug, "name": categories[f.category_id].name}, "labels": labels[f.pk]}
            for f in faqs]},
        "ongoingIssues": {"totalCount": issue_total, "nodes": [
            {"id": to_global_id("Issue", i.pk), "number": i.number, "title": i.title, "status": i.status.value,
             "affectedCount": i.affected_count, "platforms": platforms[i.pk], "updatedAt": _iso(i.updated_at),
             "updates": {"nodes": [{"status": u.status.value, "body": u.body, "postedAt": _iso(u.posted_at)} for u in updates[i.pk][:1]]}}
            for i in issues]},
        "starsProgram": {
            "name": program.name, "tagline": program.tagline, "description": program.description,
            "becomeAStar": program.become_a_star, "applicationsOpen": program.applications_open,
            "eligibility": [{"code": e.code, "description": e.description} for e in eligibility],
            "perks": [{"title": p.title} for p in perks],
            "values": [{"name": v.name, "description": v.description, "icon": v.icon} for v in values],
            "blogPosts": {"nodes": [{"id": to_global_id("Post", p.pk), "title": p.title, "excerpt": p.excerpt,
                                     "publishedAt": _iso(p.published_at),
                                     "author": {"handle": p.author.handle, "displayName": p.author.display_name}} for p in blog]}},
        "stars": {"totalCount": star_total, "nodes": [
            {"id": to_global_id("User", s.pk), "handle": s.handle, "displayName": s.display_name, "avatarUrl": s.avatar_url,
             "starSince": _iso(profiles[s.pk].star_since) if s.pk in profiles else None,
             "postCount": post_counts.get(s.pk, 0), "kudosReceived": int(kudos.get(s.pk) or 0)} for s in stars]},
        "posts": {"nodes": [
            {"id": to_global_id("Post", p.pk), "title": p.title, "author": {"handle": p.author.handle, "displayName": p.author.display_name},
             "board": {"slug": boards[p.board_id].slug, "name": boards[p.board_id].name}, "tags": tags[p.pk],
             "kudosCount": p.kudos_count, "replyCount": p.reply_count} for p in posts]},
    })
