"""Connections, cursors and global IDs, exercised through the announcements list."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio

from models.announcements import Announcement
from models.base import utcnow
from tests.support import GraphQLClient, count_sql

PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  announcements(first: $first, after: $after, last: $last, before: $before, includeExpired: true) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id title } }
  }
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def announcements(db: str) -> list[str]:
    now = utcnow()
    rows = [
        await Announcement.create(title=f"relay-{i}", body="b", published_at=now - timedelta(days=i + 400))
        for i in range(7)
    ]
    yield [row.title for row in rows]
    await Announcement.filter(id__in=[row.id for row in rows]).delete()


async def _all_titles(client: GraphQLClient) -> list[str]:
    data = await client.query(PAGE, {"first": 100})
    return [edge["node"]["title"] for edge in data["announcements"]["edges"]]


async def test_forward_pages_cover_the_list_once(client: GraphQLClient, announcements: list[str]) -> None:
    expected = await _all_titles(client)
    seen: list[str] = []
    after = None
    while True:
        page = (await client.query(PAGE, {"first": 3, "after": after}))["announcements"]
        seen += [edge["node"]["title"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert page["totalCount"] == len(expected)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    assert set(announcements) <= set(seen)


async def test_backward_pages_cover_the_list_once(client: GraphQLClient, announcements: list[str]) -> None:
    expected = await _all_titles(client)
    seen: list[str] = []
    before = None
    while True:
        page = (await client.query(PAGE, {"last": 3, "before": before}))["announcements"]
        seen = [edge["node"]["title"] for edge in page["edges"]] + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == expected


async def test_first_zero_returns_no_edges_but_knows_what_follows(client: GraphQLClient, announcements: list[str]) -> None:
    page = (await client.query(PAGE, {"first": 0}))["announcements"]
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["startCursor"] is None


async def test_total_count_is_not_queried_unless_asked(client: GraphQLClient, announcements: list[str]) -> None:
    with count_sql() as without_count:
        await client.query("{ announcements(first: 2) { nodes { title } } }")
    with count_sql() as with_count:
        await client.query("{ announcements(first: 2) { totalCount nodes { title } } }")
    assert with_count.count == without_count.count + 1


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"first": 101}, "between 0 and 100, got 101"),
        ({"first": -1}, "between 0 and 100, got -1"),
        ({"last": 500}, "between 0 and 100, got 500"),
        ({"first": 1, "last": 1}, "either `first` or `last`"),
        ({"after": "not-a-cursor"}, "`after` is not a cursor"),
        ({"before": "QW5ub3VuY2VtZW50OjE"}, "`before` is not a cursor"),
    ],
)
async def test_bad_page_arguments_are_refused_before_any_sql(
    client: GraphQLClient, variables: dict, fragment: str
) -> None:
    with count_sql() as sql:
        errors = await client.errors(PAGE, variables)
    assert fragment in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert sql.count == 0


async def test_node_fetches_by_global_id_and_nodes_keeps_order(client: GraphQLClient, announcements: list[str]) -> None:
    page = (await client.query(PAGE, {"first": 2}))["announcements"]
    ids = [edge["node"]["id"] for edge in page["edges"]]
    data = await client.query(
        "query($id: ID!, $ids: [ID!]!) { node(id: $id) { id ... on Announcement { title } } nodes(ids: $ids) { id } }",
        {"id": ids[0], "ids": list(reversed(ids))},
    )
    assert data["node"] == {"id": ids[0], "title": page["edges"][0]["node"]["title"]}
    assert [node["id"] for node in data["nodes"]] == list(reversed(ids))


@pytest.mark.parametrize("bad_id", ["%%%", "bm9wZQ", "VXNlcjphYmM", "TmVidWxhOjE", "QW5ub3VuY2VtZW50Oi0x"])
async def test_malformed_global_ids_are_bad_user_input(client: GraphQLClient, bad_id: str) -> None:
    errors = await client.errors("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in str(errors)


async def test_unknown_global_id_is_null(client: GraphQLClient) -> None:
    from gql.core.relay import to_global_id

    data = await client.query("query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Announcement", 987654)})
    assert data == {"node": None}


async def test_nodes_refuses_more_ids_than_a_page(client: GraphQLClient) -> None:
    from gql.core.relay import to_global_id

    ids = [to_global_id("Announcement", n) for n in range(1, 102)]
    errors = await client.errors("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert "at most 100" in errors[0]["message"]
