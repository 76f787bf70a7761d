"""Unexpected resolver errors, and answers that do not fit the schema, reach clients as
"Internal server error" with a request id.

The log line with the same id carries the real exception, so support can find it; the client never
sees a stack trace or an SQL message. GraphQL's own errors (ours, validation, variable coercion)
speak about the request and pass unchanged.

An error caused by an unreachable database (`models.db.is_unreachable`) is no bug: it becomes
`SERVICE_UNAVAILABLE` with UNAVAILABLE_MESSAGE, logged as one warning per outage (`DATABASE`),
not a traceback per request; the endpoint answers 503 when nothing else was answered (gql/transport).
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from gql.ops.outage import Outage
from models.db import is_unreachable

logger = logging.getLogger("gql.errors")
MESSAGE = "Internal server error"
UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly"
UNAVAILABLE_RETRY_AFTER_SECONDS = 5  # as /readyz says (gql/http/health.py)


# This process's view of the database: one warning when requests start failing to reach it, one
# when an operation is answered again (gql/http/transport.py).
DATABASE = Outage("requests", f"answering {UNAVAILABLE}", store="database")


def is_unexpected(error: GraphQLError) -> bool:
    """An error met while executing (it has a path) that is not one of ours (those carry a code):
    an exception, or graphql-core finding that an answer does not fit the schema (a null for a
    non-null field, a stored value no enum member names). A bug on our side either way."""
    if error.path is None:
        return False
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return "code" not in ((original or error).extensions or {})
    return True


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        # Any context of ours carries the request id; a schema run without one (a script, a test) has none.
        request_id = getattr(self.execution_context.context, "request_id", None)
        original = error.original_error
        if original is not None and is_unreachable(original):
            DATABASE.failed(original)
            unavailable = GraphQLError(UNAVAILABLE_MESSAGE, nodes=error.nodes, source=error.source,
                                       positions=error.positions, path=error.path)
            unavailable.extensions = {"code": UNAVAILABLE, "requestId": request_id}
            return unavailable
        # %r keeps CR/LF in client-chosen names from forging log lines.
        logger.error(
            "request %s: operation %r failed at %s: %r",
            request_id, self.execution_context.operation_name, ".".join(map(str, error.path or ())), error.message,
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return masked
