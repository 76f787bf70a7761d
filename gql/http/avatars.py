"""`GET /avatars/<INITIALS>-<colour>.svg`: the default avatars `User.avatarUrl` points at.

A pure function of the path (models/avatars.py): no database, so not rate limited; cached by
browsers and CDNs for a year. The SVG holds no script and is sent with a CSP that would not run
one, and `nosniff`, so no browser takes it for anything else.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from models.avatars import avatar_svg

_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}


async def avatar(request: Request) -> Response:
    svg = avatar_svg(request.path_params["file"])
    if svg is None:
        return Response("No such avatar", status_code=404, media_type="text/plain")
    return Response(svg, media_type="image/svg+xml", headers=_HEADERS)


def avatars_route() -> Route:
    return Route("/avatars/{file}", avatar, methods=["GET", "HEAD"])
