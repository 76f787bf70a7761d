"""The app for tests/test_log_injection.py, with two ways for a client's text to reach the log.

A library's exception may quote the value it refused (Tortoise's ValidationError quoted a
too-long `posts(board:)`, issue 9); the bounds now stop that value before it reaches Tortoise, so
the probe brings the path back on purpose: `post(slug:)` fails with the slug in its exception
message, and `GET /probe/uncaught?text=…` raises an exception nothing catches, which uvicorn logs.
Importing this module also makes it `gql.app.create_app`, so that `community-api serve` (which
names that factory) serves the probe too.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from gql import app as app_module
from models.posts import Post

_real_create_app = app_module.create_app


class EchoingLookup:
    """Stands in for `Post.visible_to(viewer)`: a lookup that fails repeating what it was given."""

    model = Post  # what `get_by_column` reads the slug's column bound from, as from a QuerySet

    async def get_or_none(self, **filters: Any) -> None:
        raise LookupError("no post with slug " + str(filters.get("slug")))


async def uncaught(request: Request) -> None:
    raise RuntimeError("uncaught: " + request.query_params.get("text", ""))


def create_app() -> Starlette:
    Post.visible_to = classmethod(lambda cls, viewer: EchoingLookup())  # type: ignore[method-assign, assignment]
    app = _real_create_app()
    app.router.routes.append(Route("/probe/uncaught", uncaught))
    return app


app_module.create_app = create_app  # type: ignore[assignment]
