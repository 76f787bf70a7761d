"""Users, roles and access tokens."""

from __future__ import annotations

import hashlib
import secrets
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise import fields
from tortoise.models import Model


class Role(str, Enum):
    MEMBER = "MEMBER"
    STAR = "STAR"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


_ROLE_RANK = {Role.MEMBER: 0, Role.STAR: 1, Role.MODERATOR: 2, Role.ADMIN: 3}


class TokenScope(str, Enum):
    FULL = "FULL"
    READ = "READ"


class User(Model):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=40, unique=True)
    email = fields.CharField(max_length=254, unique=True, null=True)
    display_name = fields.CharField(max_length=80)
    password_hash = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER, db_index=True)
    avatar_url = fields.CharField(max_length=500, null=True)
    bio = fields.TextField(default="")
    created_at = fields.DatetimeField(db_index=True)
    suspended_at = fields.DatetimeField(null=True)
    suspension_reason = fields.TextField(null=True)

    class Meta:
        table = "users"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.handle

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class AccessToken(Model):
    # A bearer token; only its SHA-256 digest is stored, the token itself is shown once.

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="tokens", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    scope = fields.CharEnumField(TokenScope, max_length=8, default=TokenScope.FULL)
    label = fields.CharField(max_length=80, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "access_tokens"


# Tokens: 32 random bytes shown to the client once; the database keeps only their SHA-256.
TOKEN_PREFIX = "cht_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def user_for_token(token: str) -> tuple[User, AccessToken] | None:
    """The live (unrevoked) token and its user, in one query."""
    access = (
        await AccessToken.filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    return (access.user, access) if access else None


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
