"""The benchmark's workloads: GraphQL operations, and which baselines answer each of them."""

from __future__ import annotations

from pathlib import Path

LANDING_PAGE = (Path(__file__).resolve().parent.parent / "gql" / "landing_page.graphql").read_text()

POSTS_100 = "{ posts(first: 100) { nodes { id title author { handle displayName } tags kudosCount } } }"
# The (#10) W2: the query its reference figures were measured with.
POSTS_50 = "{ posts(first: 50) { nodes { id title publishedAt author { handle displayName } } } }"
FAQS_50 = "{ faqs(first: 50, orderBy: POPULAR) { nodes { id slug title views category { slug name } } } }"

READ_WORKLOADS = {
    "W1 landing page": {"query": LANDING_PAGE, "variables": {"n": 5}},
    "W2 posts(first: 100)": {"query": POSTS_100},
    "W2b posts(first: 50)": {"query": POSTS_50},
    "W3 faqs(first: 50)": {"query": FAQS_50},
}


def key(name: str) -> str:
    """"W2b posts(first: 50)" -> "W2b": the static file's, the raw endpoint's and bench/raw.py's name."""
    return name.split()[0]


# Tortoise hand-written Starlette endpoints answering the same JSON (bench/baseline_app.py).
HAND_WRITTEN = {"W1 landing page": "/hand/landing", "W2 posts(first: 100)": "/hand/posts",
                "W2b posts(first: 50)": "/hand/posts50", "W3 faqs(first: 50)": "/hand/faqs"}
# Driver-level endpoints (bench/raw.py): /raw/<key> for every read workload.
RAW = {name: f"/raw/{key(name)}" for name in READ_WORKLOADS}
# The in-memory Strawberry app (bench/ceiling.py) answers every read workload's document at /ceiling.
CEILING = "/ceiling"

# Reads of the 90/10 mix (anonymous, cacheable): the landing page and post lists.
MIX_READS = [READ_WORKLOADS["W1 landing page"], READ_WORKLOADS["W2 posts(first: 100)"], READ_WORKLOADS["W2b posts(first: 50)"],
             {"query": "{ posts(first: 20) { nodes { id title kudosCount replyCount author { handle } } } }"}]
