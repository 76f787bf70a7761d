"""The per-request Context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import HTTPConnection
from starlette.responses import Response

from gql.core.admission import Admission
from gql.core.loaders import Loaders
from gql.live.broker import Broker
from gql.settings import Settings
from models.accounts import ROLE_CAPABILITIES, AccessToken, Capability, Role, TokenScope, User


@dataclass
class Context:
    """Who asks (`viewer`, `token`: gql/permissions.py signs them in), the loaders of this operation,
    and what the transport and the guard know of it. One per operation: a batch's operations and a
    WebSocket's each get a copy with loaders of their own."""

    request: HTTPConnection
    settings: Settings
    broker: Broker
    # The HTTP response the answer goes out in, one for all the operations of a request (headers a
    # resolver sets reach the client); None over WebSocket.
    response: Response | None = None
    viewer: User | None = None
    token: AccessToken | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # The id the answer's `X-Request-Id` (or the WebSocket operation's log record) carries; masked errors name it.
    request_id: str | None = None
    # What the guard admitted the operation with (gql/limits/guard.py): its cost, kind and budget spend.
    admission: Admission | None = None
    # What a WebSocket client sent in `connection_init` (its token, for subscriptions).
    connection_params: dict[str, Any] | None = None

    @property
    def role(self) -> Role | None:
        return self.viewer.role if self.viewer else None

    @property
    def can_write(self) -> bool:
        return (
            self.viewer is not None
            and not self.viewer.is_suspended
            and (self.token is None or self.token.scope is TokenScope.FULL)
        )

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        """What this request may do: the role's capabilities, none with a read-only token or suspension."""
        if self.viewer is None or not self.can_write:
            return ()
        return ROLE_CAPABILITIES[self.viewer.role]


Info = strawberry.Info[Context, None]
