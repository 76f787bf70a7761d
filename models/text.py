"""The body format: Markdown (CommonMark) source, sanitised HTML and plain-text excerpts.

Every body people write (FAQs, issue descriptions and updates, announcements, posts, replies) is
stored as the Markdown its author typed. Readers get it two more ways, both derived here:

- `render_html`: HTML for a page. markdown-it-py renders CommonMark with raw HTML switched off
  (`<b>` in the source is the text "<b>"), and nh3 then keeps only the tags Markdown makes and
  links to http, https and mailto URLs, each with `rel="nofollow noopener"`. The sanitiser runs
  even though the renderer escapes everything: one library's bug is not then an XSS.
- `excerpt`: a short plain-text preview, cut between words and marked with "…" when cut.

The work is bounded by the bodies' own limits (20,000 characters for posts and FAQs, 10,000 for
replies, announcements and issue descriptions, 5,000 for issue updates: see each model's
validation). markdown-it's time grows linearly with the text and its nesting is capped
(`maxNesting`): 20,000 characters of ordinary text render in about a millisecond, and the
slowest input found (20,000 `[`, each a link label to try) in about half a second of CPU: so a
body holding more than `MAX_BRACKETS` is refused when written (TOO_MANY_LINKS), which keeps every
render of a body under about 20 ms, once per body and process, after which the cache below serves it.
"""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Brackets (`[`, the start of every link and image) one body may hold: markdown-it-py scans ahead
# for each one's label, so 20,000 of them took half a second of CPU while 500 take about 15 ms
# (measured); the body checks refuse more (`Problems.check_markdown`), before anything renders.
MAX_BRACKETS = 500

ELLIPSIS = "…"
EXCERPT_LIMIT = 200

# What Markdown can make, and nothing else: no images (a remote image is a beacon that reports
# every reader to its host; they are rendered as links instead), no tables, no raw HTML.
ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol",
    "p", "pre", "strong", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener"

_markdown = MarkdownIt("commonmark", {"html": False})


def _image_as_link(renderer: Any, tokens: Sequence[Token], index: int, options: Any, env: Any) -> str:
    """`![alt](url)` becomes a link to the image, named by its alt text (or the URL)."""
    token = tokens[index]
    source = str(token.attrGet("src") or "")
    label = renderer.renderInlineAsText(token.children or [], options, env) or source
    return f'<a href="{escape(source)}">{escape(label)}</a>'


_markdown.add_render_rule("image", _image_as_link)

_sanitiser = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    # Relative URLs (`/x`, `#x`, `x.html`) name nothing outside the page the client renders on.
    url_relative="deny",
    link_rel=LINK_REL,
)


def sanitise(html: str) -> str:
    """`html` with only the allowed tags, attributes and URL schemes left, and `rel` on links."""
    return _sanitiser.clean(html)


def _render(markdown: str) -> str:
    return sanitise(_markdown.render(markdown))


class RenderCache:
    """The HTML of recently read bodies, by their source text; least recently used go first.

    Bounded by characters (source and HTML together), not entries: a body may be 20,000
    characters, and a count of entries alone would let a few thousand long ones hold hundreds of
    megabytes. A list page reads the same bodies again and again; an edited body is new text,
    so nothing ever needs invalidating.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.misses = 0

    def html_of(self, markdown: str) -> str:
        html = self.entries.get(markdown)
        if html is not None:
            self.entries.move_to_end(markdown)
            return html
        self.misses += 1
        html = _render(markdown)
        size = len(markdown) + len(html)
        if size <= self.max_chars:
            self.entries[markdown] = html
            self.chars += size
            while self.chars > self.max_chars:
                old_source, old_html = self.entries.popitem(last=False)
                self.chars -= len(old_source) + len(old_html)
        return html

    def clear(self) -> None:
        self.entries.clear()
        self.chars = 0
        self.misses = 0


# About 4 million characters per process: thousands of typical bodies, at least 100 of the longest.
RENDER_CACHE_MAX_CHARS = 4_000_000
render_cache = RenderCache(RENDER_CACHE_MAX_CHARS)


def render_html(markdown: str) -> str:
    """`markdown` as sanitised HTML (see the module's docstring), from the cache when read before."""
    return render_cache.html_of(markdown)


# --- Excerpts -----------------------------------------------------------------------------------

def plain_text(markdown: str) -> str:
    """The words a reader sees, without markup: entities decoded (`&amp;` is "&"), images by
    their alt text, code as its text, one space between blocks and lines."""
    pieces: list[str] = []
    for token in _markdown.parse(markdown):
        if token.type == "inline":
            _inline_text(token.children or [], pieces)
        elif token.type in ("code_block", "fence"):
            pieces.append(token.content)
        pieces.append(" ")
    return "".join(pieces)


def _inline_text(tokens: Sequence[Token], pieces: list[str]) -> None:
    for token in tokens:
        if token.type in ("text", "code_inline"):
            pieces.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            pieces.append(" ")
        elif token.type == "image":
            _inline_text(token.children or [], pieces)


# Scripts written without spaces between words, where a line may break between any two
# characters: Han, kana, CJK punctuation and full-width forms.
_SPACELESS = (
    (0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)
# What the excerpt loses at its end before the ellipsis: a dangling space, comma, colon, dash...
_TRAILING = " ,;:.-–—"
_ZWJ = "\u200d"


def _spaceless(character: str) -> bool:
    code = ord(character)
    return any(low <= code <= high for low, high in _SPACELESS)


def _joins_previous(character: str) -> bool:
    """Whether `character` belongs to the one before it: a combining mark (accents, Indic vowel
    signs), a variation selector, a zero-width joiner or an emoji modifier."""
    return (
        unicodedata.category(character) in ("Mn", "Mc", "Me")
        or character == _ZWJ
        or 0xFE00 <= ord(character) <= 0xFE0F
        or 0x1F3FB <= ord(character) <= 0x1F3FF
    )


def _whole_character_at(text: str, index: int) -> bool:
    """Whether cutting before `text[index]` keeps every character whole (no accent, emoji
    sequence or vowel sign left without the character it belongs to)."""
    return not _joins_previous(text[index]) and text[index - 1] != _ZWJ


def _word_boundary_at(text: str, index: int) -> bool:
    before, after = text[index - 1], text[index]
    if after == " " or before == " ":
        return True
    return (_spaceless(before) or _spaceless(after)) and _whole_character_at(text, index)


def _cut(text: str, room: int) -> int:
    """The longest prefix of `text` within `room` characters that ends between two words; when
    one word fills all the room (a long URL), between two whole characters."""
    for index in range(room, 0, -1):
        if _word_boundary_at(text, index):
            return index
    for index in range(room, 0, -1):
        if _whole_character_at(text, index):
            return index
    return room


def excerpt(markdown: str, limit: int = EXCERPT_LIMIT) -> str:
    """At most `limit` characters of the body's plain text, whitespace collapsed, cut between two
    words with "…" when the text is longer: never inside a word, an entity or a character."""
    text = " ".join(plain_text(markdown).split())
    if len(text) <= limit:
        return text
    kept = text[: _cut(text, limit - len(ELLIPSIS))]
    return (kept.rstrip(_TRAILING) or kept) + ELLIPSIS
