"""Every user's avatar: the picture they were given, or one drawn from their name.

Why drawn: no member has uploaded a picture (the API takes no uploads), yet every page shows one
per person. The default avatar is a circle of one colour, derived from the handle (the same in
every process and release: SHA-256, not Python's salted `hash`), with the initials of the display
name. Everything the picture shows is in its path, `/avatars/<INITIALS>-<colour>.svg`: the image
is a pure function of its URL (cached for a year, immutable), the route reads no database and
tells nothing about anyone, and the set of images it draws is small and fixed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import escape

# Eight colours, each dark enough for white initials (contrast above 4.5:1).
PALETTE = ("1e6b3a", "4b3f9e", "9c2f5b", "0f5e8c", "8a4b08", "5b2b8c", "7a2e2e", "2f5d62")
AVATAR_PATH = "/avatars/{initials}-{colour}.svg"
# What the route accepts: up to two letters or digits (any script), a dash, a palette colour.
AVATAR_FILE = re.compile(r"([^\W_]{0,2})-([0-9a-f]{6})\.svg")
INITIALS_MAX = 2


@dataclass(frozen=True)
class Avatar:
    url: str
    initials: str
    colour: str  # "#rrggbb"


def initials_of(display_name: str, handle: str) -> str:
    """The first letter or digit of the display name's first two words, upper-cased; the
    handle's when the name has none (an emoji-only name); empty when neither has any."""
    for text in (display_name, handle):
        words = ["".join(char for char in word if char.isalnum()) for word in text.split()]
        letters = [word[0] for word in words if word]
        if letters:
            # Upper-casing can lengthen a letter ("ß" → "SS") or split it ("ǰ" → "J" + a combining
            # mark): recompose, keep letters and digits only (what the route accepts), then cut.
            upper = unicodedata.normalize("NFC", "".join(letters[:INITIALS_MAX]).upper())
            return "".join(char for char in upper if char.isalnum())[:INITIALS_MAX]
    return ""


def colour_of(handle: str) -> str:
    digest = hashlib.sha256(handle.encode()).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def default_avatar(display_name: str, handle: str) -> Avatar:
    initials, colour = initials_of(display_name, handle), colour_of(handle)
    # Initials in any script: percent-encoded in the URL, decoded again by the route.
    return Avatar(AVATAR_PATH.format(initials=quote(initials), colour=colour), initials, f"#{colour}")


def avatar_url(stored: str | None, display_name: str, handle: str) -> str:
    """The picture an admin or the seed stored for the user, else the drawn default."""
    return stored or default_avatar(display_name, handle).url


def avatar_svg(file_name: str) -> str | None:
    """The SVG for a default avatar's file name (`VI-1e6b3a.svg`); None for any other name."""
    match = AVATAR_FILE.fullmatch(file_name)
    if match is None or match.group(2) not in PALETTE or match.group(1) != match.group(1).upper():
        return None
    initials, colour = escape(match.group(1)), match.group(2)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96" role="img" '
        f'aria-label="{initials}"><circle cx="48" cy="48" r="48" fill="#{colour}"/>'
        '<text x="48" y="48" dy="0.35em" text-anchor="middle" font-family="system-ui, sans-serif" '
        f'font-size="38" font-weight="600" fill="#ffffff">{initials}</text></svg>'
    )
