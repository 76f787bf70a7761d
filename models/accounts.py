"""Users, roles and access tokens."""

from __future__ import annotations

import hashlib
import secrets
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.base import PubliclyVisible, column_max, get_by_column, nothing, utcnow
from models.errors import Problems, violation


class Role(str, Enum):
    MEMBER = "MEMBER"
    STAR = "STAR"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_ROLE_RANK = {Role.MEMBER: 0, Role.STAR: 1, Role.MODERATOR: 2, Role.ADMIN: 3}


def is_staff(viewer: User | None) -> bool:
    """Moderators and admins: they see every row, published or not, of every list."""
    return viewer is not None and viewer.role.at_least(Role.MODERATOR)


class Capability(str, Enum):
    """What a viewer may do; the single table both authorization and `viewer.capabilities` read."""

    POST = "POST"  # create posts and replies
    GIVE_KUDOS = "GIVE_KUDOS"
    RATE_FAQS = "RATE_FAQS"
    MARK_ISSUES = "MARK_ISSUES"  # "I have this too", subscriptions
    REPORT_CONTENT = "REPORT_CONTENT"
    APPLY_TO_STARS = "APPLY_TO_STARS"
    MARK_SPAM = "MARK_SPAM"  # Stars' community maintenance: hides a post pending review
    MODERATE = "MODERATE"  # moderation queue, moderatePost, audit log
    REVIEW_STAR_APPLICATIONS = "REVIEW_STAR_APPLICATIONS"
    MANAGE_CONTENT = "MANAGE_CONTENT"  # issues and their updates, FAQs, announcements
    MANAGE_USERS = "MANAGE_USERS"  # roles and suspensions


_MEMBER_CAPABILITIES = (
    Capability.POST,
    Capability.GIVE_KUDOS,
    Capability.RATE_FAQS,
    Capability.MARK_ISSUES,
    Capability.REPORT_CONTENT,
    Capability.APPLY_TO_STARS,
)
_MODERATOR_CAPABILITIES = (
    *_MEMBER_CAPABILITIES[:-1],  # staff do not apply to the Stars program
    Capability.MARK_SPAM,
    Capability.MODERATE,
    Capability.REVIEW_STAR_APPLICATIONS,
    Capability.MANAGE_CONTENT,
)
ROLE_CAPABILITIES: dict[Role, tuple[Capability, ...]] = {
    Role.MEMBER: _MEMBER_CAPABILITIES,
    Role.STAR: (*_MEMBER_CAPABILITIES, Capability.MARK_SPAM),
    Role.MODERATOR: _MODERATOR_CAPABILITIES,
    Role.ADMIN: (*_MODERATOR_CAPABILITIES, Capability.MANAGE_USERS),
}


class TokenScope(str, Enum):
    FULL = "FULL"
    READ = "READ"


class User(Model, PubliclyVisible):
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
    # Kept by triggers (models/counted.py): the user's published posts (`postCount`).
    published_post_count = fields.IntField(default=0, db_default=0)

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
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: int  # the column's attribute, added by Tortoise
    token_hash = fields.CharField(max_length=64, unique=True)
    scope = fields.CharEnumField(TokenScope, max_length=8, default=TokenScope.FULL)
    label = fields.CharField(max_length=80, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # A budget of its own, in points per rate-limit window, keyed by this token (a server-side
    # renderer's traffic is not one anonymous visitor's, nor its user's other tokens'); null: the
    # user's budget, shared by all their tokens. Set only by an operator (`token create --points`).
    rate_limit_points = fields.IntField(null=True)

    class Meta:
        table = "access_tokens"

    @classmethod
    def visible_to(cls, viewer: User | None) -> QuerySet[AccessToken]:
        """A token is its owner's business alone, whatever the viewer's role."""
        return nothing(cls) if viewer is None else cls.filter(user_id=viewer.pk)


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


# --- Rules for accounts -------------------------------------------------------------------------

# Every check below reads a value's length before anything else reads the value, and then only
# scans it once: no pattern that can backtrack runs on user text (an e-mail pattern with two
# overlapping `[^@\s]+` once held the event loop for 35 s on one request).
HANDLE_MIN, HANDLE_MAX = 3, 30
HANDLE_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
EMAIL_MAX, EMAIL_LOCAL_MAX = 254, 64
PASSWORD_MIN, PASSWORD_MAX = 10, 200
# Verifying against this keeps every refused login as slow as one with a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def normalize_handle(handle: str) -> str:
    return handle.strip().lower()


def handle_problem(handle: str) -> tuple[str, str] | None:
    """Why a (normalized) handle cannot be registered, as (message, code); None when it can."""
    if len(handle) > HANDLE_MAX:
        return f"Handle takes at most {HANDLE_MAX} characters", "TOO_LONG"
    if len(handle) < HANDLE_MIN or not HANDLE_CHARACTERS.issuperset(handle):
        return f"Handle must be {HANDLE_MIN}–{HANDLE_MAX} characters: letters, digits and underscores", "INVALID"
    return None


def email_problem(email: str) -> tuple[str, str] | None:
    """Why an e-mail address is refused, as (message, code); None when it looks like one.

    `local@domain.tld`: one `@`, at most 64 characters before it, a dot inside the domain, no
    whitespace. Length first, then one linear pass (partition and character tests).
    """
    if len(email) > EMAIL_MAX:
        return f"An email address takes at most {EMAIL_MAX} characters", "TOO_LONG"
    local, _, domain = email.partition("@")
    if (
        not 1 <= len(local) <= EMAIL_LOCAL_MAX
        or "@" in domain
        or "." not in domain[1:-1]
        or any(character.isspace() for character in email)
    ):
        return "That is not an email address", "INVALID"
    return None


async def register(handle: str, password: str, email: str | None, display_name: str | None) -> User:
    """Every field is checked before any lookup, and the password is hashed before uniqueness is:
    whether a handle or an e-mail is taken is told only about an otherwise valid registration,
    in the same time either way."""
    problems = Problems()
    # Raw lengths first: nothing strips or scans a value longer than its column.
    if len(handle) > column_max(User, "handle"):
        handle_refusal: tuple[str, str] | None = (f"Handle takes at most {HANDLE_MAX} characters", "TOO_LONG")
    else:
        handle = normalize_handle(handle)
        handle_refusal = handle_problem(handle)
    if handle_refusal:
        problems.add(*handle_refusal, "handle")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        problems.add(f"Password must be {PASSWORD_MIN}–{PASSWORD_MAX} characters", "INVALID", "password")
    if email is not None and len(email) > column_max(User, "email"):
        email_refusal: tuple[str, str] | None = (f"An email address takes at most {EMAIL_MAX} characters", "TOO_LONG")
    else:
        email = email.strip().lower() if email else None
        email_refusal = email_problem(email) if email is not None else None
    if email_refusal:
        problems.add(*email_refusal, "email")
    if display_name is None and handle_refusal:
        name = ""  # defaults to a handle that is itself refused: nothing more to say
    else:
        name = problems.check_text(display_name or handle, "displayName", minimum=1, maximum=80, label="Display name")
    problems.raise_if_any()

    password_hash = hash_password(password)
    if await User.filter(handle=handle).exists():
        problems.add("That handle is taken", "TAKEN", "handle")
    if email is not None and await User.filter(email=email).exists():
        problems.add("That email is already registered", "TAKEN", "email")
    problems.raise_if_any()
    try:
        return await User.create(
            handle=handle, email=email, display_name=name, password_hash=password_hash, created_at=utcnow()
        )
    except IntegrityError:
        # Someone registered the same handle or email between the check and the insert.
        raise violation("That handle or email was just taken", "TAKEN", "handle") from None


async def authenticate(handle: str, password: str) -> User:
    """The user with this handle and password; any other case, whatever it is (unknown or
    over-long handle, wrong or over-long password, an account without a password), gets the
    same answer after exactly one argon2 verification."""
    user = await get_by_column(User, "handle", normalize_handle(handle))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    # An over-long password cannot be anyone's (register refuses it): verify a bounded prefix.
    matches = verify_password(stored, password[: PASSWORD_MAX + 1])
    if user is None or stored is _DUMMY_HASH or len(password) > PASSWORD_MAX or not matches:
        raise violation("Wrong handle or password", "INVALID_CREDENTIALS")
    return user


def checked_token_label(label: str) -> str:
    """A token's label as given, refused (never cut) when longer than its column."""
    maximum = column_max(AccessToken, "label")
    if len(label) > maximum:
        raise violation(f"The label takes at most {maximum} characters", "TOO_LONG", "label")
    return label


# A token's own budget, in points per window: at least one, and at most what no renderer needs
# (about 140,000 landing pages of 71 points): a larger figure is a typo, not a budget. Far inside
# the 32-bit column, too.
TOKEN_POINTS_MAX = 10_000_000


def checked_token_points(points: int) -> int:
    """A budget for a token of its own, refused (never clamped) outside 1..TOKEN_POINTS_MAX."""
    if not 1 <= points <= TOKEN_POINTS_MAX:
        raise violation(f"A token's budget is 1 to {TOKEN_POINTS_MAX:,} points per window, not {points:,}",
                        "OUT_OF_RANGE", "points")
    return points


async def issue_token(user: User, scope: TokenScope = TokenScope.FULL, label: str = "",
                      rate_limit_points: int | None = None) -> str:
    """Create a token and return it; this is the only time its clear text exists.

    `rate_limit_points` gives it a budget of its own instead of its user's shared one: for an
    operator (the CLI) only, never for a client, who would otherwise mint budgets at will."""
    if rate_limit_points is not None:
        checked_token_points(rate_limit_points)
    token = new_token()
    await AccessToken.create(user=user, token_hash=hash_token(token), scope=scope, label=label[:80],
                             rate_limit_points=rate_limit_points)
    return token


async def revoke_token(user: User, token_id: int) -> AccessToken:
    """Revoke one of the user's own tokens; a token of someone else is as good as missing."""
    updated = await AccessToken.filter(id=token_id, user_id=user.id, revoked_at__isnull=True).update(revoked_at=utcnow())
    if not updated:
        raise violation("No live token with that ID belongs to you", "NOT_FOUND", "tokenId")
    return await AccessToken.get(id=token_id)
