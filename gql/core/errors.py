"""Top-level GraphQL errors with a stable `extensions.code` clients can branch on.

Bad input to a mutation and broken business rules are *userErrors* in the payload instead;
these are for requests that cannot be answered at all.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class ApiError(GraphQLError):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Resolved(ApiError):
    """The issue is resolved: nothing more happens to it (no marks, no updates) until staff reopen it."""

    code = "RESOLVED"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class RequestError(Exception):
    """A request refused before execution: HTTP status, message, code, extra headers and extensions."""

    def __init__(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None, **extensions: object
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}
        self.extensions = extensions


VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def coded(error: dict[str, Any]) -> dict[str, Any]:
    """An answered error (formatted) with an `extensions.code`, as every error of ours has: the
    ones graphql-core makes itself before execution come without one, validation's
    (GRAPHQL_VALIDATION_FAILED) and the variables' coercion (BAD_USER_INPUT)."""
    extensions = error.setdefault("extensions", {})
    if "code" not in extensions and not error.get("path"):
        extensions["code"] = BadUserInput.code if str(error.get("message", "")).startswith("Variable '$") \
            else VALIDATION_FAILED
    return error
