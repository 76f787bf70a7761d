"""Rows of a page resolve synchronously: the README's performance claim, checked without timing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from graphql.execution.executor import Executor

from gql.execution import is_awaitable
from models.posts import Post
from tests.support import GraphQLClient

POSTS = "{ posts(first: 50) { nodes { id title author { handle } board { slug } tags kudosCount } } }"


@pytest.fixture
def awaited_fields(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """`Type.field` for every field whose resolution the executor had to await."""
    awaited: Counter[str] = Counter()
    execute_field = Executor.execute_field

    def counting(self: Executor, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
        result = execute_field(self, parent_type, source, details, *args)
        if self.is_awaitable(result):
            awaited[f"{parent_type.name}.{details[0].node.name.value}"] += 1
        return result

    monkeypatch.setattr(Executor, "execute_field", counting)
    return awaited


async def test_a_page_of_posts_awaits_only_the_page(client: GraphQLClient, awaited_fields: Counter[str]) -> None:
    data = await client.query(POSTS)
    assert len(data["posts"]["nodes"]) > 5
    # Authors came with the join, boards and tags were filled for the page: no row awaits anything.
    assert awaited_fields == Counter({"Query.posts": 1})


async def test_connections_inside_a_page_are_ready_without_a_wait(client: GraphQLClient, awaited_fields: Counter[str]) -> None:
    # Each issue's timeline is a connection over a loader the page filled: paged in memory, now.
    query = "{ ongoingIssues(first: 5) { nodes { number platforms updates(first: 1) { nodes { body } } } } }"
    data = await client.query(query)
    assert len(data["ongoingIssues"]["nodes"]) > 1
    assert awaited_fields == Counter({"Query.ongoingIssues": 1})


async def test_models_are_values_and_coroutines_are_awaitable() -> None:
    async def later() -> None:
        return None

    pending = later()
    assert is_awaitable(pending) and not is_awaitable(Post(title="x"))
    await pending
