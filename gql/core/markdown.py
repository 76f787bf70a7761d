"""The `…Html` fields: a Markdown column of the row, as sanitised HTML (models/text.py).

Computed on read from the row the type already holds, so selecting one adds no SQL; the render
is cached by source text, so a list page re-reads HTML it made before instead of making it again.
"""

from __future__ import annotations

from typing import Any

import strawberry

from models.text import render_html

FORMAT = ("Rendered from the Markdown (CommonMark) source and sanitised: paragraphs, emphasis, "
          "lists, links (http, https and mailto only, with rel=\"nofollow noopener\"; an image "
          "becomes a link to it), block quotes, headings and code; raw HTML in the source shows "
          "as text.")


# For the inputs that take a body.
MARKDOWN_SOURCE = "Markdown (CommonMark), stored as given; the type's …Html field shows what readers get."


def html_of(column: str, what: str) -> Any:
    """A field giving the row's `column` as HTML; `what` names it in the description."""

    def resolve(root: Any) -> str:
        return render_html(getattr(root, column))

    return strawberry.field(resolver=resolve, graphql_type=str, description=f"{what} as HTML. {FORMAT}")
