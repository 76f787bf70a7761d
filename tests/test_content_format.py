"""The body format: Markdown in, sanitised HTML and word-boundary excerpts out (models/text.py)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from models.posts import Post
from models.seed.content import read
from models.text import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    ELLIPSIS,
    RenderCache,
    URL_SCHEMES,
    excerpt,
    plain_text,
    render_html,
    sanitise,
)
from tests.factories import make_board, make_user, token_for
from tests.support import GraphQLClient, count_sql


class Elements(HTMLParser):
    """Every start tag of a fragment, with its attributes, as a browser would read them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(html: str) -> None:
    """Only allowed tags and attributes; every link to an allowed scheme, with nofollow noopener."""
    for tag, attributes in Elements(html).found:
        assert tag in ALLOWED_TAGS, (tag, html)
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        assert set(attributes) <= allowed, (tag, attributes, html)
        if tag == "a":
            assert attributes["rel"] == "nofollow noopener", html
            if "href" in attributes:
                assert urlsplit(attributes["href"] or "").scheme in URL_SCHEMES, html


# --- Rendering -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "html"), [
    ("**bold**, *em* and _em_", "<p><strong>bold</strong>, <em>em</em> and <em>em</em></p>\n"),
    ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
    ("1. first\n2. second", "<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n"),
    ("3. third\n4. fourth", '<ol start="3">\n<li>third</li>\n<li>fourth</li>\n</ol>\n'),
    ("Use `Ctrl+S`", "<p>Use <code>Ctrl+S</code></p>\n"),
    ("```python\nprint(1 < 2)\n```", "<pre><code>print(1 &lt; 2)\n</code></pre>\n"),
    ("    indented code", "<pre><code>indented code\n</code></pre>\n"),
    ("## Steps\n\n> quoted\n\n---", "<h2>Steps</h2>\n<blockquote>\n<p>quoted</p>\n</blockquote>\n<hr>\n"),
    ("line one  \nline two", "<p>line one<br>\nline two</p>\n"),
    ("[the help page](https://example.com/help)",
     '<p><a href="https://example.com/help" rel="nofollow noopener">the help page</a></p>\n'),
    ('[titled](https://example.com "A title")',
     '<p><a href="https://example.com" title="A title" rel="nofollow noopener">titled</a></p>\n'),
    ("<https://example.com/a>", '<p><a href="https://example.com/a" rel="nofollow noopener">https://example.com/a</a></p>\n'),
    ("[write to us](mailto:help@example.com)",
     '<p><a href="mailto:help@example.com" rel="nofollow noopener">write to us</a></p>\n'),
    ("Fish &amp; chips &copy;", "<p>Fish &amp; chips ©</p>\n"),
])
def test_markdown_renders_to_these_tags(source: str, html: str) -> None:
    assert render_html(source) == html
    assert_safe(html)


def test_an_image_becomes_a_link_named_by_its_alt_text() -> None:
    # No <img>: a remote image would tell its host about every reader.
    assert render_html("![the settings screen](https://example.com/s.png)") == (
        '<p><a href="https://example.com/s.png" rel="nofollow noopener">the settings screen</a></p>\n')


@pytest.mark.parametrize("link", ["/faq/reset", "#top", "faq.html", "ftp://example.com/x", "tel:+123"])
def test_links_keep_their_text_but_only_absolute_http_https_mailto_urls(link: str) -> None:
    html = render_html(f"[text]({link})")
    assert html == '<p><a rel="nofollow noopener">text</a></p>\n'


ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="https://example.com" onclick="alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "<!-- comment --><b>bold</b>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x][evil]\n\n[evil]: javascript:alert(1)",
    '[x](https://example.com "title\\" onmouseover=\\"alert(1)")',
    '[x](https://example.com/"onmouseover="alert(1))',
    '![x" onerror="alert(1)](https://example.com/a.png)',
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "**<script>alert(1)</script>**",
    "`<script>alert(1)</script>`",
    "[x](https://example.com)<script>alert(1)</script>",
    "<a href='javascript:alert(1)'>[x](https://example.com)</a>",
    "[[x](javascript:alert(1))](https://example.com)",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_attacks_come_out_as_harmless_text(source: str) -> None:
    html = render_html(source)
    assert_safe(html)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<svg" not in lowered
    assert 'href="javascript' not in lowered and 'href="data' not in lowered and 'href="vbscript' not in lowered


def test_raw_html_is_shown_as_text_not_passed_through() -> None:
    assert render_html("<b>hi</b> <script>alert(1)</script>") == (
        "<p>&lt;b&gt;hi&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>\n")


def test_the_sanitiser_alone_stops_what_a_renderer_bug_would_let_through() -> None:
    html = sanitise('<p onclick="x"><a href="javascript:alert(1)" target="_blank">a</a>'
                    '<img src="https://example.com/a.png"><script>alert(1)</script>'
                    '<a href="data:text/html,x">b</a><a href="https://example.com" rel="opener">c</a></p>')
    assert html == ('<p><a rel="nofollow noopener">a</a><a rel="nofollow noopener">b</a>'
                    '<a href="https://example.com" rel="nofollow noopener">c</a></p>')


def test_renders_are_cached_by_source_text_and_bounded() -> None:
    cache = RenderCache(max_chars=200)
    first = cache.html_of("some *text*")
    assert cache.html_of("some *text*") == first and cache.misses == 1
    for n in range(20):
        cache.html_of(f"body number {n}")
    assert cache.chars <= 200 and "some *text*" not in cache.entries
    assert sum(len(source) + len(html) for source, html in cache.entries.items()) == cache.chars
    cache.html_of("x" * 500)  # larger than the whole cache: rendered, not kept
    assert cache.chars <= 200


# --- Excerpts ------------------------------------------------------------------------------------

def whole_words_of(text: str, cut: str) -> bool:
    """Whether `cut` (an excerpt without its ellipsis) is the start of `text`, ending after a word."""
    assert text.startswith(cut), (text, cut)
    rest = text[len(cut):]
    return rest == "" or rest[0] == " " or rest.lstrip(",;:.-–—").startswith(" ")


def test_short_text_is_returned_whole_without_an_ellipsis() -> None:
    assert excerpt("Why does  my\nplaylist stop?") == "Why does my playlist stop?"
    assert excerpt("a" * 200) == "a" * 200
    assert excerpt("Wait for it...") == "Wait for it..."


def test_markup_is_dropped_and_entities_decoded() -> None:
    assert plain_text("**bold** [a link](https://example.com) `code` ![alt](https://example.com/i.png)").split() == [
        "bold", "a", "link", "code", "alt"]
    assert excerpt("- one\n- two\n\n> three") == "one two three"
    assert excerpt("Fish &amp; chips&nbsp;&nbsp;&nbsp;tonight &lt;3") == "Fish & chips tonight <3"
    assert excerpt("<b>not a tag</b>") == "<b>not a tag</b>"  # plain text: escaping is the reader's job


@pytest.mark.parametrize("limit", [20, 37, 50, 80, 120, 200])
def test_long_text_is_cut_between_words_with_one_ellipsis(limit: int) -> None:
    source = ("The quick brown fox, jumping; over the lazy dog: again and again — until nightfall. " * 6).strip()
    text = " ".join(source.split())
    cut = excerpt(source, limit)
    assert cut.endswith(ELLIPSIS) and cut.count(ELLIPSIS) == 1 and len(cut) <= limit
    kept = cut[:-1]
    assert kept == kept.rstrip(" ,;:.-–—")
    assert whole_words_of(text, kept)


@pytest.mark.parametrize("entity", ["&nbsp;", "&amp;", "&eacute;", "&#8212;", "&#x1F3B5;"])
def test_entities_near_the_limit_are_decoded_never_cut(entity: str) -> None:
    for padding in range(150, 210):
        source = ("word " * 60)[:padding] + entity + "tail " * 20
        cut = excerpt(source)
        assert not any(fragment in cut for fragment in ("&n", "&e", "&#", "&am")), cut
        assert whole_words_of(" ".join(plain_text(source).split()), cut[:-1])


def test_the_page_s_broken_excerpt_does_not_come_back() -> None:
    # The old page cut "users).  &n": mid-entity, after a run of &nbsp;.
    source = ("Spotify Star Special: Backstage Intro! &nbsp; This month, we're happy to introduce you to Leticia "
              "aka @ribezaz (whom you might have seen around the Community helping out users).&nbsp;&nbsp;&nbsp;"
              "Leticia answers questions on the Help boards in Portuguese and English.")
    cut = excerpt(source, 180)
    assert "&" not in cut and "\xa0" not in cut and "  " not in cut
    assert cut == ("Spotify Star Special: Backstage Intro! This month, we're happy to introduce you to Leticia aka "
                   "@ribezaz (whom you might have seen around the Community helping out users). Leticia…")


@pytest.mark.parametrize("word", ["Привет", "καλημέρα", "שלום", "مرحبا", "नमस्ते", "Ελληνικά", "naïve", "ﬁnale"])
def test_words_of_other_scripts_stay_whole(word: str) -> None:
    source = " ".join([word] * 80)
    for limit in range(30, 60):
        cut = excerpt(source, limit)
        assert cut.endswith(ELLIPSIS) and len(cut) <= limit
        assert set(cut[:-1].split(" ")) == {word}, cut


def test_combining_marks_stay_with_their_letters() -> None:
    decomposed = "cafe\u0301 "  # "café" as e + combining acute accent
    for limit in range(10, 40):
        assert set(excerpt(decomposed * 30, limit)[:-1].split(" ")) == {"cafe\u0301"}


def test_text_without_spaces_is_cut_between_characters() -> None:
    japanese = "日本語の文章です。" * 40
    cut = excerpt(japanese, 50)
    assert len(cut) == 50 and cut.endswith(ELLIPSIS) and japanese.startswith(cut[:-1])
    chinese = "这是一个很长的句子没有空格" * 30
    assert chinese.startswith(excerpt(chinese, 33)[:-1])


def test_one_word_longer_than_the_limit_is_cut_between_whole_characters() -> None:
    family = "👩\u200d👩\u200d👧"  # one emoji made of three joined by zero-width joiners
    for limit in range(10, 30):
        cut = excerpt(family * 30, limit)[:-1]
        assert cut and len(cut) % len(family) == 0, (limit, cut)
    url = "https://example.com/" + "a" * 300
    cut = excerpt(f"<{url}>", 60)
    assert cut == url[:59] + ELLIPSIS


# --- The seed ------------------------------------------------------------------------------------

async def test_meet_the_stars_excerpts_read_well(db: str) -> None:
    intros = await Post.filter(board__slug="stars-blog").order_by("-published_at")
    assert [post.slug for post in intros][:3] == [
        "backstage-intro-meet-vincent", "backstage-intro-meet-leticia", "backstage-intro-meet-susana"]
    for post in intros[:3]:
        text = " ".join(plain_text(post.body).split())
        assert post.excerpt == excerpt(post.body)
        assert post.excerpt.endswith(ELLIPSIS) and 150 <= len(post.excerpt) <= 200
        assert not post.excerpt.startswith(".") and "..." not in post.excerpt[-4:]
        assert "&" not in post.excerpt and "*" not in post.excerpt and "  " not in post.excerpt
        assert whole_words_of(text, post.excerpt[:-1])
    assert intros[0].excerpt.startswith("Hey folks, October is here, time sure flies fast")


async def test_every_seeded_excerpt_is_derived_from_its_body(db: str) -> None:
    # Given and generated excerpts in one style: the seed gives none of its own.
    seeded = read("community.toml")["posts"]
    assert all("excerpt" not in item for item in seeded)
    posts = await Post.filter(slug__in=[item["slug"] for item in seeded])
    assert len(posts) == len(seeded)
    for post in posts:
        assert post.excerpt == excerpt(post.body), post.slug


def test_seed_faqs_use_lists_and_links() -> None:
    faqs = {item["slug"]: item["body"] for item in read("help.toml")["faqs"]}
    reset = render_html(faqs["reset-your-password"])
    assert reset.startswith("<ol>\n<li>Go to the <a href=\"https://www.spotify.com/password-reset/\" rel=\"nofollow noopener\">")
    assert "The link works for 24 hours." in reset
    for body in faqs.values():
        assert_safe(render_html(body))


# --- Over HTTP -----------------------------------------------------------------------------------

def test_every_body_and_its_html_are_described_in_the_schema() -> None:
    from graphql import build_schema as parse_sdl

    from gql.schema import export_sdl

    types = parse_sdl(export_sdl()).type_map
    pairs = {"Faq": "body", "Post": "body", "Reply": "body", "Announcement": "body", "IssueUpdate": "body",
             "Issue": "description"}
    for typename, source in pairs.items():
        fields = types[typename].fields  # type: ignore[union-attr]
        assert "Markdown" in (fields[source].description or ""), typename
        assert "sanitised" in (fields[f"{source}Html"].description or ""), typename
    assert "…" in (types["Post"].fields["excerpt"].description or "")  # type: ignore[union-attr]



async def test_every_type_with_a_body_serves_its_html(client: GraphQLClient) -> None:
    data = await client.query("""{
      faq(slug: "reset-your-password") { bodyHtml }
      issue(number: 1003) { descriptionHtml updates(first: 1) { nodes { body bodyHtml } } }
      announcements(first: 1) { nodes { body bodyHtml } }
      post(slug: "backstage-intro-meet-leticia") { bodyHtml replies(first: 1) { nodes { body bodyHtml } } }
    }""")
    assert data["faq"]["bodyHtml"].startswith("<ol>\n<li>Go to the <a href=\"https://www.spotify.com/password-reset/\"")
    assert data["issue"]["descriptionHtml"] == "<p>Lyrics stay empty in the Now Playing view on Windows and macOS.</p>\n"
    update = data["issue"]["updates"]["nodes"][0]
    assert update["bodyHtml"] == f"<p>{update['body']}</p>\n"
    announcement = data["announcements"]["nodes"][0]
    assert announcement["bodyHtml"] == render_html(announcement["body"]) and "<strong>" in announcement["bodyHtml"]
    post = data["post"]
    assert post["bodyHtml"].startswith("<p><strong>Spotify Star Special: Backstage Intro!</strong>")
    reply = post["replies"]["nodes"][0]
    assert reply["bodyHtml"] == f"<p>{reply['body']}</p>\n"


async def test_a_hostile_post_is_stored_as_written_and_served_safe(client: GraphQLClient) -> None:
    author = await make_user("fmt")
    board = await make_board("fmt")
    body = "Hello <script>alert(1)</script> [click](javascript:alert(1)) &amp; **bye**\n\n" + " ".join(["word"] * 60)
    created = (await client.query(
        """mutation($input: CreatePostInput!) {
          createPost(input: $input) { post { body bodyHtml excerpt } userErrors { code } }
        }""",
        {"input": {"board": board.slug, "title": "A hostile post", "body": body}}, token=await token_for(author),
    ))["createPost"]
    assert created["userErrors"] == []
    post = created["post"]
    assert post["body"] == body
    assert_safe(post["bodyHtml"])
    assert "&lt;script&gt;" in post["bodyHtml"] and "<strong>bye</strong>" in post["bodyHtml"]
    assert post["excerpt"].startswith("Hello <script>alert(1)</script> [click](javascript:alert(1)) & bye word")
    assert post["excerpt"].endswith(" word" + ELLIPSIS) and len(post["excerpt"]) <= 200


async def test_a_body_with_more_brackets_than_a_render_can_afford_is_refused(client: GraphQLClient) -> None:
    """Brackets are what makes markdown-it slow (each may open a link label): past MAX_BRACKETS a
    body is refused before it is stored or rendered; at the bound it is accepted."""
    from models.posts import Post
    from models.text import MAX_BRACKETS

    author = await make_user("brackets")
    board = await make_board("brackets")
    token = await token_for(author)
    mutation = """mutation($input: CreatePostInput!) {
      createPost(input: $input) { post { slug } userErrors { code field } }
    }"""
    before = await Post.filter(board_id=board.pk).count()
    for count, expected in ((MAX_BRACKETS + 1, [{"code": "TOO_MANY_LINKS", "field": ["input", "body"]}]), (20_000, None)):
        body = "[" * count
        refused = (await client.query(mutation, {"input": {"board": board.slug, "title": "Many brackets", "body": body}},
                                      token=token))["createPost"]
        assert refused["post"] is None
        assert refused["userErrors"] == (expected or [{"code": "TOO_MANY_LINKS", "field": ["input", "body"]}])
    assert await Post.filter(board_id=board.pk).count() == before  # nothing stored
    accepted = (await client.query(mutation, {"input": {"board": board.slug, "title": "Many brackets",
                                                        "body": "[" * MAX_BRACKETS}}, token=token))["createPost"]
    assert accepted["userErrors"] == [] and accepted["post"] is not None


@pytest.mark.uncached
async def test_selecting_html_adds_no_statements(client: GraphQLClient) -> None:
    plain = """{ posts(first: 50) { nodes { body replies(first: 3) { nodes { body } } } }
                 faqs(first: 50) { nodes { body } }
                 ongoingIssues(first: 50) { nodes { description updates(first: 3) { nodes { body } } } }
                 announcements(first: 20) { nodes { body } } }"""
    rendered = plain.replace("{ body }", "{ body bodyHtml }").replace("{ body replies", "{ body bodyHtml replies") \
                    .replace("{ description ", "{ description descriptionHtml ")
    assert rendered.count("Html") == 6
    with count_sql() as without_html:
        await client.query(plain)
    with count_sql() as with_html:
        data = await client.query(rendered)
    assert without_html.count > 0 and with_html.count == without_html.count
    assert all(node["bodyHtml"] for node in data["posts"]["nodes"])
