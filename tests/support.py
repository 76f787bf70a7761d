"""Helpers the tests share: a GraphQL client over real HTTP (in-process ASGI) and a SQL counter."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx
from tortoise import Tortoise
from tortoise.models import Model


@dataclass
class SqlCounter(logging.Handler):
    """Counts the statements Tortoise sends (its `tortoise.db_client` DEBUG lines)."""

    statements: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, level=logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("Created connection", "Closed connection")):
            return
        self.statements.append(message)

    def __hash__(self) -> int:
        return id(self)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_sql() -> Iterator[SqlCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = SqlCounter()
    previous_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous_level)


async def database_state(*rows: Model) -> tuple[dict[str, int], list[list[dict[str, Any]]]]:
    """How many rows every table holds, and every column of `rows` as stored now.

    Equal before and after a call means it changed nothing: the counts catch an INSERT or DELETE
    anywhere, the columns an UPDATE of the rows the call was about.
    """
    tables = sorted({model._meta.db_table for model in Tortoise.apps.get_models_iterable()})
    # One statement for all the counts: tests take a state before and after hundreds of calls.
    counts = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{table}") AS "{table}"' for table in tables))
    return counts[0], [await type(row).filter(pk=row.pk).values() for row in rows]


class GraphQLClient:
    """Sends real HTTP requests to the app; `token` signs them in."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                   operation_name: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        all_headers = {"Authorization": f"Bearer {token}"} if token else {}
        all_headers.update(headers or {})
        return await self.http.post("/graphql", json=body, headers=all_headers)

    async def query(self, query: str, variables: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        """Run an operation that must succeed; returns `data`."""
        response = await self.post(query, variables, **options)
        payload = response.json()
        assert response.status_code == 200, payload
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    async def errors(self, query: str, variables: dict[str, Any] | None = None, **options: Any) -> list[dict[str, Any]]:
        """Run an operation that must fail; returns its errors."""
        response = await self.post(query, variables, **options)
        payload = response.json()
        assert payload.get("errors"), payload
        return payload["errors"]
