"""Who is asking: the bearer token of a request or a WebSocket, in one place for both transports.

A missing `Authorization` is anonymous; anything else must be a live `Bearer` token. A malformed
header, an unknown or a revoked token is refused, never silently treated as anonymous: the client
must learn that its credentials did not count. A WebSocket reads the token's state again before
each operation and each event (`refresh`), so that revoking it takes effect on open connections.
"""

from __future__ import annotations

from models.accounts import AccessToken, User, user_for_token

# Far more than a token needs (`cht_` + 43 characters); longer headers are refused unread.
MAX_AUTHORIZATION_CHARS = 200


class CredentialsRefused(Exception):
    """The request carried credentials that do not sign anyone in."""

    def __init__(self, message: str, *, malformed: bool) -> None:
        super().__init__(message)
        self.message, self.malformed = message, malformed


def bearer_token(header: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`; None when there is no header at all."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    token = value.strip()
    if len(header) > MAX_AUTHORIZATION_CHARS or scheme.lower() != "bearer" or not token or " " in token:
        raise CredentialsRefused("Malformed Authorization header: send `Authorization: Bearer <token>`",
                                 malformed=True)
    return token


async def authenticate(header: str | None) -> tuple[User, AccessToken] | None:
    """The user and token the header names; None for anonymous; CredentialsRefused otherwise."""
    token = bearer_token(header)
    if token is None:
        return None
    found = await user_for_token(token)
    if found is None:
        raise CredentialsRefused("Invalid or revoked token", malformed=False)
    return found


async def refresh(token: AccessToken) -> tuple[User, AccessToken] | None:
    """The token and its user as they are now; None once it is revoked (or its user is gone)."""
    access = await AccessToken.filter(pk=token.pk, revoked_at__isnull=True).select_related("user").first()
    return (access.user, access) if access else None
