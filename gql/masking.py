"""Unexpected resolver errors reach clients as "Internal server error" with a request id.

The log line with the same id carries the real exception, so support can find it; the client never
sees a stack trace or an SQL message. GraphQL's own errors (ours, validation, variable coercion)
speak about the request and pass unchanged.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

logger = logging.getLogger("gql.errors")
MESSAGE = "Internal server error"


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return error.path is not None and original is not None and not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        extras = getattr(context, "extras", {})
        request_id = extras.get("request_id")
        # %r keeps CR/LF in client-chosen names from forging log lines.
        logger.error(
            "request %s: operation %r failed at %s",
            request_id, self.execution_context.operation_name, ".".join(map(str, error.path or ())),
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return masked
