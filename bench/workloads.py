"""The benchmark's workloads: GraphQL operations, and what the hand-written baseline must answer."""

from __future__ import annotations

from pathlib import Path

LANDING_PAGE = (Path(__file__).resolve().parent.parent / "gql" / "landing_page.graphql").read_text()

POSTS_100 = "{ posts(first: 100) { nodes { id title author { handle displayName } tags kudosCount } } }"
FAQS_50 = "{ faqs(first: 50, orderBy: POPULAR) { nodes { id slug title views category { slug name } } } }"

READ_WORKLOADS = {
    "W1 landing page": {"query": LANDING_PAGE, "variables": {"n": 5}},
    "W2 posts(first: 100)": {"query": POSTS_100},
    "W3 faqs(first: 50)": {"query": FAQS_50},
}
# Hand-written Starlette endpoints answering the same JSON from the same SQL (bench/baseline_app.py).
HAND_WRITTEN = {"W1 landing page": "/hand/landing", "W2 posts(first: 100)": "/hand/posts", "W3 faqs(first: 50)": "/hand/faqs"}
