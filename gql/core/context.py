"""The per-request Context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import HTTPConnection
from starlette.responses import Response

from gql.core.loaders import Loaders
from gql.live.broker import Broker
from gql.settings import Settings
from models.accounts import ROLE_CAPABILITIES, AccessToken, Capability, Role, TokenScope, User


@dataclass
class Context:
    request: HTTPConnection
    response: Response | None
    settings: Settings
    broker: Broker
    viewer: User | None = None
    token: AccessToken | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # Free-form per-request values other layers share (the request id, the query cost, ...).
    extras: dict[str, Any] = field(default_factory=dict)
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
