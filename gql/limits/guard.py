"""Admits or refuses an operation before it runs: shape limits, cost, rate budgets, login attempts."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence
from typing import Any

from graphql import GraphQLSyntaxError, OperationType
from starlette.requests import HTTPConnection
from strawberry import Schema

from gql.core.admission import Admission, Spend
from gql.core.context import Context
from gql.core.errors import RequestError
from gql.limits.analysis import Analysis, NulInArgument, ShapeLimitExceeded, ShapeLimits, analyse_cached
from gql.limits.budget import Budgets
from gql.settings import IPNetwork, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# Of the forwarding headers only the right-most part is read: the hops our own proxies appended
# are at the right, and whatever a client wrote to the left of them cannot push them out.
FORWARDED_MAX_BYTES = 2048
FORWARDED_MAX_HOPS = 32
_SCOPE_KEY = "gql.client_address"


def client_address(connection: HTTPConnection) -> str:
    """The address anonymous budgets, login attempts and WebSocket caps are counted by.

    The direct peer, normalised (IPv4-mapped IPv6 as IPv4, IPv6 compressed), unless the peer is
    inside TRUSTED_PROXIES: then the client named by the forwarding headers (`resolve_client`).
    Decided once per connection (kept in its scope)."""
    scope = connection.scope
    cached = scope.get(_SCOPE_KEY)
    if cached is None:
        app = scope.get("app")
        settings = getattr(getattr(app, "state", None), "settings", None)
        trusted = settings.trusted_proxies if settings is not None else ()
        peer = connection.client.host if connection.client else None
        cached = scope[_SCOPE_KEY] = resolve_client(peer, scope.get("headers") or (), trusted)
    return cached


def resolve_client(peer: str | None, headers: Iterable[tuple[bytes, bytes]],
                   trusted: Sequence[IPNetwork]) -> str:
    """The client address of a request from `peer` carrying these raw headers.

    - The peer is not inside a trusted network (or none are set): the peer, headers ignored.
    - Otherwise `Forwarded` (RFC 7239 `for=`) or `X-Forwarded-For` (every line, joined in order)
      is walked from the right, skipping trusted addresses; the first address that is not trusted
      is the client. Every hop trusted: the left-most hop read.
    - A hop that is not an IP address (`unknown`, an obfuscated `_id`, garbage, an element without
      `for=`) reached before an untrusted address makes the header unusable: the peer.
    - Both headers present and naming different clients: the peer (one of them was written by the
      client, and which one cannot be told); an absent or empty header: the peer.
    Only the last FORWARDED_MAX_BYTES of a header and FORWARDED_MAX_HOPS hops are read."""
    if peer is None:
        return "unknown"
    peer_address = _address(peer)
    if peer_address is None:
        return peer
    if not trusted or not _is_trusted(peer_address, trusted):
        return str(peer_address)
    forwarded: list[bytes] = []
    forwarded_for: list[bytes] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"forwarded":
            forwarded.append(value)
        elif lowered == b"x-forwarded-for":
            forwarded_for.append(value)
    candidates = []
    if forwarded:
        candidates.append(_walk(_forwarded_hops(_tail(forwarded)), trusted))
    if forwarded_for:
        candidates.append(_walk(_tail(forwarded_for).split(","), trusted))
    if not candidates or None in candidates or len(set(candidates)) > 1:
        return str(peer_address)
    return str(candidates[0])


def _tail(lines: list[bytes]) -> str:
    """The header's lines joined with commas, cut to its last FORWARDED_MAX_BYTES at a hop boundary."""
    joined = b",".join(lines)
    if len(joined) > FORWARDED_MAX_BYTES:
        joined = joined[-FORWARDED_MAX_BYTES:]
        comma = joined.find(b",")
        joined = joined[comma + 1:] if comma >= 0 else b""  # the first hop may have been cut in half
    return joined.decode("latin-1")


def _walk(hops: Sequence[str | None], trusted: Sequence[IPNetwork]) -> IPAddress | None:
    """The right-most hop that is not trusted; the left-most when all are; None when unusable."""
    address: IPAddress | None = None
    for hop in reversed(hops[-FORWARDED_MAX_HOPS:]):
        address = _address(hop) if hop is not None else None
        if address is None:
            return None
        if not _is_trusted(address, trusted):
            return address
    return address


def _forwarded_hops(value: str) -> list[str | None]:
    """The `for=` node of each element of a `Forwarded` value (None: no `for`), quoted strings
    honoured; one pass over the characters, no regular expressions."""
    hops: list[str | None] = []
    node: str | None = None
    name: list[str] = []
    text: list[str] = []
    in_value = quoted = escaped = False
    for char in value + ",":
        if quoted:
            if escaped:
                text.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            else:
                text.append(char)
        elif char == '"' and in_value:
            quoted = True
        elif char in ";,":
            if in_value and "".join(name).strip().lower() == "for":
                node = "".join(text).strip()
            name, text, in_value = [], [], False
            if char == ",":
                hops.append(node)
                node = None
        elif char == "=" and not in_value:
            in_value = True
        else:
            (text if in_value else name).append(char)
    if quoted:
        return [None]  # an unterminated quoted string: the whole header is unusable
    return hops


def _address(node: str) -> IPAddress | None:
    """An address from a hop as proxies write them (`192.0.2.4`, `192.0.2.4:80`, `2001:db8::1`,
    `[2001:db8::1]:4711`), normalised; None for anything else."""
    node = node.strip()
    if node.startswith("["):
        end = node.find("]")
        if end < 0 or (end + 1 < len(node) and node[end + 1] != ":"):
            return None
        node = node[1:end]
    elif node.count(":") == 1:
        node = node.split(":", 1)[0]
    if not node or len(node) > 45:
        return None
    try:
        address = ipaddress.ip_address(node)
    except ValueError:
        return None
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            return ipaddress.IPv6Address(node.split("%", 1)[0])
    return address


def _is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted)


class Guard:
    def __init__(self, schema: Schema, settings: Settings, budgets: Budgets) -> None:
        self.schema = schema._schema
        self.settings = settings
        self.budgets = budgets
        self.shape_limits = ShapeLimits(depth=settings.max_depth, aliases=settings.max_aliases,
                                        fields=settings.max_fields, directives=settings.max_directives_per_field)

    async def admit(self, context: Context, query: str, operation_name: str | None,
                    variables: dict[str, Any] | None) -> Admission:
        """Check the operation's shape and cost, then spend its points and login attempts; the
        same for every transport (HTTP, batches, persisted queries, the WebSocket)."""
        settings = self.settings
        try:
            analysis = analyse_cached(self.schema, query, settings.max_tokens, operation_name, variables,
                                      settings.page_size_default, self.shape_limits)
        except GraphQLSyntaxError as error:
            code = "TOO_MANY_TOKENS" if "tokens" in error.message else "GRAPHQL_PARSE_FAILED"
            raise RequestError(400, error.message, code) from None
        except ShapeLimitExceeded as exceeded:
            raise RequestError(400, str(exceeded), exceeded.code, value=exceeded.value, limit=exceeded.limit) from None
        except NulInArgument as refused:
            raise RequestError(400, str(refused), "BAD_USER_INPUT", argument=refused.argument) from None
        if analysis.cost > settings.max_query_cost:
            raise RequestError(400, f"Query cost is {analysis.cost}, over the limit of {settings.max_query_cost}",
                               "QUERY_TOO_COMPLEX", value=analysis.cost, limit=settings.max_query_cost)
        admission = Admission(cost=analysis.cost, operation=analysis.operation, operation_name=analysis.operation_name,
                              per_client=analysis.per_client)
        context.admission = admission
        if not settings.rate_limit_enabled:
            return admission
        points = max(analysis.cost, 1) + (settings.mutation_cost if analysis.operation is OperationType.MUTATION else 0)
        key, limit = self._budget(context)
        spend = await self.budgets.spend(key, points, limit, settings.rate_limit_window_seconds)
        admission.spend, admission.headers = spend, spend.headers()
        if not spend.allowed:
            raise self._too_many("Rate limit exceeded", spend, points=points)
        await self._check_logins(analysis, client_address(context.request))
        return admission

    async def standing(self, connection: HTTPConnection, context: Context | None) -> dict[str, str]:
        """The caller's budget as headers, spending nothing: for answers refused before admission."""
        if not self.settings.rate_limit_enabled:
            return {}
        key, limit = self._budget(context) if context is not None else self._anonymous(connection)
        return (await self.budgets.peek(key, limit, self.settings.rate_limit_window_seconds)).headers()

    def _budget(self, context: Context) -> tuple[str, int]:
        """The budget the caller spends: the key it is counted under and its points per window."""
        # A token an operator gave points of its own (a server-side renderer's) spends those alone:
        # its traffic is many visitors', not its user's nor one address's. Read from the token row
        # authentication loaded: no query.
        token = context.token
        if token is not None and token.rate_limit_points is not None:
            return f"token:{token.pk}", token.rate_limit_points
        # Otherwise per person, not per token: signing in again must not buy a fresh budget.
        if context.viewer is not None:
            return f"user:{context.viewer.pk}", self.settings.rate_limit_points
        return self._anonymous(context.request)

    def _anonymous(self, connection: HTTPConnection) -> tuple[str, int]:
        return f"ip:{client_address(connection)}", self.settings.rate_limit_anonymous_points

    async def _check_logins(self, analysis: Analysis, client: str) -> None:
        # Each `login`, aliased or not, is an attempt: per client IP and per handle tried.
        window = self.settings.login_window_seconds
        for handle in analysis.login_handles:
            for key in (f"login-ip:{client}", *([f"login-handle:{handle}"] if handle else [])):
                spend = await self.budgets.spend(key, 1, self.settings.login_attempts, window)
                if not spend.allowed:
                    raise self._too_many("Too many login attempts", spend)

    def _too_many(self, message: str, spend: Spend, **extensions: Any) -> RequestError:
        retry_after = max(spend.reset_at - int(time.time()), 1)
        return RequestError(429, f"{message}; try again in {retry_after} s", "RATE_LIMITED",
                            {**spend.headers(), "Retry-After": str(retry_after)}, **extensions)
