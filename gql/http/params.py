"""One operation's parameters as a client sent them, checked once into a frozen, typed object.

HTTP (a GET query string, a POST body, each item of a batch) and the WebSocket's `subscribe`
payload carry the same four members; this is the one reading of them, so that what travels on
through admission, persisted queries, the response cache and execution has names a checker sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gql.core.errors import RequestError


@dataclass(frozen=True)
class OperationParams:
    """`query`, `variables`, `operationName` and `extensions` (where `persistedQuery` travels)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, from_query_string: bool) -> OperationParams:
        """Check the members' types; decode GET's JSON parts (`variables`, `extensions`). A wrong
        one is a 400 BAD_REQUEST naming it."""
        query = data.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestError(400, "`query` must be a string", "BAD_REQUEST")
        variables = _json_object(data, "variables", from_query_string)
        extensions = _json_object(data, "extensions", from_query_string)
        operation_name = data.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            # `0` and `false` too: only null (or "") leaves the operation to the document.
            raise RequestError(400, "`operationName` must be a string", "BAD_REQUEST")
        return cls(query, variables, operation_name or None, extensions)


def _json_object(data: Mapping[str, Any], name: str, from_query_string: bool) -> dict[str, Any] | None:
    value = data.get(name)
    if from_query_string and isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise RequestError(400, f"`{name}` is not valid JSON", "BAD_REQUEST") from None
    if value is not None and not isinstance(value, dict):
        raise RequestError(400, f"`{name}` must be a JSON object", "BAD_REQUEST")
    return value
