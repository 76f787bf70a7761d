"""Rows of a page resolve synchronously and plain fields take the short path: the README's
performance claims, checked by work counted (never by timing), and the short paths checked to
answer exactly what the stock executor answers."""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql.execution.executor import ExecutionContext, is_awaitable, lighten_resolvers
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
    # Authors, boards and tags were filled for the page: no row awaits anything.
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


@pytest.fixture
def infos_built(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """`Type.field` for every field that got a GraphQLResolveInfo (the stock path)."""
    built: Counter[str] = Counter()
    build = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    def counting(self: Any, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
        built[f"{parent_type.name}.{field_nodes[0].name.value}"] += 1
        return build(self, field_def, field_nodes, parent_type, path)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "build_resolve_info", counting)
    return built


async def test_plain_fields_of_a_page_take_the_short_path(client: GraphQLClient, infos_built: Counter[str]) -> None:
    query = "{ posts(first: 8) { nodes { title slug status publishedAt kudosCount author { handle displayName } } } }"
    data = await client.query(query)
    assert len(data["posts"]["nodes"]) == 8
    # Scalars and enums read from their rows: no resolve info, whatever the page size. Fields
    # with resolvers of their own (author) keep the stock path.
    assert infos_built == Counter({"Query.posts": 1, "PostConnection.nodes": 1, "Post.author": 8}), infos_built


@strawberry.enum
class Shade(Enum):
    LIGHT = "light"
    DARK = "dark"


class Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _named(root: strawberry.Parent[Row]) -> str:
    return f"named {root.name.lower()}"


@strawberry.type
class Thing:
    named: str = strawberry.field(resolver=_named)
    name: str
    maybe: str | None
    count: int
    shade: Shade

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return f"{info.field_name}:{self.name}"

    @strawberry.field
    def broken(self) -> int:
        raise ValueError("broken resolver")


ROWS = [
    Row(name="ok", maybe=None, count=1, shade=Shade.DARK),
    Row(name=None, maybe="x", count=2, shade=Shade.LIGHT),  # null in a non-null field
    Row(name="big", maybe=None, count=2**40, shade=Shade.DARK),  # beyond GraphQL's Int
    Row(name="odd", maybe=None, count=3, shade="purple"),  # not a member
    Row(name="gone", count=4, shade=Shade.LIGHT),  # no `maybe` attribute at all
]


@strawberry.type
class ThingQuery:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return ROWS  # type: ignore[return-value]


def _twin_schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same little schema twice: stock execution, and ours with lightened resolvers."""
    stock = strawberry.Schema(query=ThingQuery)
    ours = strawberry.Schema(query=ThingQuery, execution_context_class=ExecutionContext)
    assert lighten_resolvers(ours) >= 4
    return stock, ours


@pytest.mark.parametrize("selection", ["name maybe count shade", "loud where", "named", "broken name", "shade count"])
async def test_short_paths_answer_what_the_stock_executor_answers(selection: str) -> None:
    stock, ours = _twin_schemas()
    query = f"{{ things {{ {selection} }} }}"
    expected, actual = await stock.execute(query), await ours.execute(query)
    assert actual.data == expected.data
    assert [(e.message, e.path) for e in actual.errors or []] == [(e.message, e.path) for e in expected.errors or []]
    assert expected.errors or selection == "loud where"
    assert expected.data and expected.data["things"]
