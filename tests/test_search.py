"""search: several kinds of content, paged together, text taken as plain text."""

from __future__ import annotations

import pytest

from tests.support import GraphQLClient, count_sql

SEARCH = """query($q: String!, $types: [SearchType!], $first: Int, $after: String) {
  search(query: $q, types: $types, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { __typename ... on Faq { slug } ... on Issue { number } ... on Post { slug } }
  }
}"""


async def test_search_finds_every_kind(client: GraphQLClient) -> None:
    found = (await client.query(SEARCH, {"q": "android", "first": 100}))["search"]
    kinds = {node["__typename"] for node in found["nodes"]}
    assert kinds == {"Faq", "Issue", "Post"}
    assert found["totalCount"] == len(found["nodes"])
    assert {"number": 1001, "__typename": "Issue"} in found["nodes"]


async def test_search_by_type_and_pages_cover_everything_once(client: GraphQLClient) -> None:
    # The first 100 in one page, and the whole list (more than 100 once other modules' rows are in).
    first_hundred = (await client.query(SEARCH, {"q": "a", "first": 100}))["search"]
    everything, total = first_hundred["nodes"], first_hundred["totalCount"]
    seen, after = [], None
    while True:
        page = (await client.query(SEARCH, {"q": "a", "first": 7, "after": after}))["search"]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen[:100] == everything and len(seen) == total == len({str(node) for node in seen})
    only_faqs = (await client.query(SEARCH, {"q": "password", "types": ["FAQ"]}))["search"]["nodes"]
    assert only_faqs and {n["__typename"] for n in only_faqs} == {"Faq"}


async def test_search_hides_what_readers_may_not_see(client: GraphQLClient) -> None:
    slugs = {n.get("slug") for n in (await client.query(SEARCH, {"q": "premium", "first": 100}))["search"]["nodes"]}
    assert "free-premium-generator" not in slugs and "draft-new-billing-portal" not in slugs


@pytest.mark.parametrize("text", ["%", "_", "' OR 1=1 --"])
async def test_search_text_is_data(client: GraphQLClient, text: str) -> None:
    assert (await client.query(SEARCH, {"q": text}))["search"]["nodes"] == []


@pytest.mark.parametrize("text", ["", "   ", "x" * 201])
async def test_blank_or_long_search_is_refused(client: GraphQLClient, text: str) -> None:
    errors = await client.errors(SEARCH, {"q": text})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_search_costs_one_statement_per_kind(client: GraphQLClient) -> None:
    with count_sql() as small:
        await client.query(SEARCH, {"q": "e", "first": 2})
    with count_sql() as large:
        await client.query(SEARCH, {"q": "e", "first": 50})
    assert small.count == large.count == 3 + 3  # rows and counts for FAQs, issues, posts
