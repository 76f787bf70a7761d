"""Who may do what, in one place: who a connection's credentials sign in, and the rules fields declare.

Authentication: a missing `Authorization` is anonymous; anything else must be a live `Bearer`
token. A malformed header, an unknown or a revoked token is refused, never silently treated as
anonymous: the client must learn that its credentials did not count. `authenticate` serves both
transports (HTTP reads the header, a WebSocket its `connection_init` payload); a WebSocket reads
the token's state again before each operation and each event (`refresh`), so that revoking it
takes effect on open connections.

Authorization is declared on the field it guards, `permission_classes=[...]`, so that a reader of
a type sees who may read it: `SignedIn`, `holding(capability)` (writes: a full token, no
suspension) and `reading(capability)` (reads with the role's rights, a read-only token too). A
refusal is a top-level UNAUTHENTICATED or FORBIDDEN error on that field; mutations are refused
before their input is decoded. A subscription's rule is checked by `gql.core.subscriptions.deliveries`
as its stream starts and again before each event, with the rights of that moment.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from graphql import OperationType
from strawberry.permission import BasePermission

from gql.core.context import Context, Info
from gql.core.errors import Forbidden, Unauthenticated
from models.accounts import ROLE_CAPABILITIES, AccessToken, Capability, User, user_for_token

# Far more than a token needs (`cht_` + 43 characters); longer headers are refused unread.
MAX_AUTHORIZATION_CHARS = 200
MALFORMED = "Malformed Authorization header: send `Authorization: Bearer <token>`"


class CredentialsRefused(Exception):
    """The request carried credentials that do not sign anyone in."""

    def __init__(self, message: str, *, malformed: bool) -> None:
        super().__init__(message)
        self.message, self.malformed = message, malformed


@dataclass(frozen=True)
class SignIn:
    """Who a connection's credentials sign in: the user and the token they sent."""

    viewer: User
    token: AccessToken


def bearer_token(header: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`; None when there is no header at all."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    token = value.strip()
    if len(header) > MAX_AUTHORIZATION_CHARS or scheme.lower() != "bearer" or not token or " " in token:
        raise CredentialsRefused(MALFORMED, malformed=True)
    return token


async def authenticate(context: Context, authorization: object) -> None:
    """Sign `context` in with the `Authorization` value its transport read (HTTP: the header; a
    WebSocket: its `connection_init` payload): anonymous without one; CredentialsRefused for anything
    but a live bearer token, a value that is not even a string (a JSON payload's) included."""
    if authorization is not None and not isinstance(authorization, str):
        raise CredentialsRefused(MALFORMED, malformed=True)
    token = bearer_token(authorization)
    if token is None:
        return
    found = await user_for_token(token)
    if found is None:
        raise CredentialsRefused("Invalid or revoked token", malformed=False)
    context.viewer, context.token = found


async def refresh(token: AccessToken) -> SignIn | None:
    """The token and its user as they are now; None once it is revoked (or its user is gone)."""
    access = await AccessToken.filter(pk=token.pk, revoked_at__isnull=True).select_related("user").first()
    return SignIn(access.user, access) if access else None


def require_viewer(info: Info, capability: Capability | None = None) -> User:
    """The signed-in viewer holding `capability`, or a top-level UNAUTHENTICATED / FORBIDDEN error.

    Without a capability only a sign-in is needed (reading one's own data, revoking a token).
    """
    context = info.context
    viewer = signed_in(info)
    if capability is None or capability in context.capabilities:
        return viewer
    if viewer.is_suspended:
        raise Forbidden("Not allowed: your account is suspended")
    if not context.can_write:
        raise Forbidden("Not allowed: this token is read-only")
    raise _role_lacks(viewer, capability)


def require_reader(info: Info, capability: Capability) -> User:
    """The signed-in viewer whose role holds `capability`, to read what that role may see.

    Reading is not writing: a read-only token reads with its role's rights (a partner dashboard
    on a moderator's READ token); a suspended account keeps no privileged reads.
    """
    viewer = signed_in(info)
    if viewer.is_suspended:
        raise Forbidden("Not allowed: your account is suspended")
    if not reads_as(viewer, capability):
        raise _role_lacks(viewer, capability)
    return viewer


def reads_as(viewer: User | None, capability: Capability) -> bool:
    """Whether `viewer` may read what `capability`'s holders read (see `require_reader`)."""
    return viewer is not None and not viewer.is_suspended and capability in ROLE_CAPABILITIES[viewer.role]


def signed_in(info: Info) -> User:
    """The viewer, or UNAUTHENTICATED: what every rule asks first."""
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated("Sign in to do this: send `Authorization: Bearer <token>`")
    return viewer


def _role_lacks(viewer: User, capability: Capability) -> Forbidden:
    return Forbidden(
        f"Not allowed: the {viewer.role.value} role does not have {capability.value}", capability=capability.value
    )


class Permission(BasePermission):
    """A rule declared on a field: `check` answers the viewer it lets through, or raises the
    field's UNAUTHENTICATED / FORBIDDEN error (ours, with its code and extensions, rather than
    Strawberry's uncoded one)."""

    @abc.abstractmethod
    def check(self, info: Info, arguments: dict[str, Any]) -> User:
        """The viewer allowed, given the field's (converted) arguments; raises when refused."""

    # Whether `check` reads the field's arguments. A subscription's rules are checked by
    # `deliveries`, which has no arguments to give: they must not (tests/test_declared_permissions.py).
    reads_arguments: ClassVar[bool] = False

    def has_permission(self, source: Any, info: Info, **arguments: Any) -> bool:
        if info.operation.operation is OperationType.SUBSCRIPTION and info.path.prev is None:
            # Checked by `deliveries` inside the stream, as it starts and before each event: a
            # refusal is then the stream's `next` with the error, as a lost right later is.
            return True
        self.check(info, arguments)
        return True


class SignedIn(Permission):
    """Anyone signed in, whatever their role, token or suspension (reading their own data, revoking a token)."""

    def check(self, info: Info, arguments: dict[str, Any]) -> User:
        return signed_in(info)


class Capable(Permission):
    """A signed-in viewer whose role holds `capability`, to write it (`holding`: on a full token, not
    suspended) or to read what its holders see (`reading`: a read-only token reads too, a suspended
    account does not). One class per capability and use, as `permission_classes` asks for classes."""

    capability: ClassVar[Capability]
    reads: ClassVar[bool]

    def check(self, info: Info, arguments: dict[str, Any]) -> User:
        return require_reader(info, self.capability) if self.reads else require_viewer(info, self.capability)


def holding(capability: Capability) -> type[Capable]:
    """To write with `capability`: `permission_classes=[holding(Capability.POST)]`."""
    return _capable(capability, reads=False)


def reading(capability: Capability) -> type[Capable]:
    """To read what `capability`'s holders see: `permission_classes=[reading(Capability.MODERATE)]`."""
    return _capable(capability, reads=True)


@cache
def _capable(capability: Capability, *, reads: bool) -> type[Capable]:
    class Rule(Capable):
        pass

    Rule.capability, Rule.reads = capability, reads
    Rule.__name__ = Rule.__qualname__ = f"{'Reading' if reads else 'Holding'}({capability.value})"
    return Rule


def declared(info: Info) -> list[Permission]:
    """The rules declared on the field being resolved: what a subscription checks again per event."""
    field = info.schema.get_field_for_type(field_name=info.field_name, type_name=info.path.typename or "")
    classes = field.permission_classes if field is not None else []
    return [permission() for permission in classes if issubclass(permission, Permission)]
