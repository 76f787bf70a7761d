"""TRUSTED_PROXIES: the client address budgets and login attempts are counted by.

Forwarding headers are believed only from a trusted peer, walked from the right; from anyone else
they are ignored, so sending one never buys a fresh anonymous budget.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest
import websockets
from starlette.requests import HTTPConnection, Request

from gql.app import create_app
from gql.limits.guard import FORWARDED_MAX_BYTES, client_address, resolve_client
from gql.settings import Settings, parse_trusted_proxies
from tests.conftest import settings_with
from tests.live_server import live_server

QUERY = "{ faqs(first: 3) { nodes { title } } }"  # costs 4 points
TRUSTED = parse_trusted_proxies("10.0.0.0/8, 192.0.2.10, fd00::/8, 2001:db8:ffff::1")


class _App:
    """What `client_address` reads of the app: `app.state.settings`."""

    def __init__(self, settings: Settings) -> None:
        self.state = type("State", (), {"settings": settings})()


def connection(peer: str | None, headers: list[tuple[str, str]] = (), *, trusted: str = "10.0.0.0/8, fd00::/8",
               kind: str = "http") -> HTTPConnection:
    scope = {"type": kind, "method": "POST", "path": "/graphql", "query_string": b"",
             "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
             "client": (peer, 4711) if peer is not None else None,
             "app": _App(Settings(trusted_proxies=trusted))}
    return Request(scope) if kind == "http" else HTTPConnection(scope)


def resolve(peer: str, **headers: str | list[str]) -> str:
    raw = []
    for name, values in headers.items():
        for value in [values] if isinstance(values, str) else values:
            raw.append((name.replace("_", "-").encode(), value.encode()))
    return resolve_client(peer, raw, TRUSTED)


# -- unit: resolve_client / client_address --------------------------------------------------------

def test_untrusted_peer_ignores_the_headers() -> None:
    assert resolve("203.0.113.7", x_forwarded_for="198.51.100.1") == "203.0.113.7"
    assert resolve("203.0.113.7", forwarded="for=198.51.100.1") == "203.0.113.7"
    assert resolve("2001:db8::7", x_forwarded_for="198.51.100.1") == "2001:db8::7"


def test_nothing_is_trusted_by_default() -> None:
    assert Settings().trusted_proxies == ()
    request = connection("10.0.0.1", [("X-Forwarded-For", "198.51.100.1")], trusted="")
    assert client_address(request) == "10.0.0.1"


def test_trusted_peer_gives_the_right_most_untrusted_hop() -> None:
    assert resolve("10.0.0.1", x_forwarded_for="198.51.100.1") == "198.51.100.1"
    # A client prepending a fake hop does not move the answer: the hop our proxy appended wins.
    assert resolve("10.0.0.1", x_forwarded_for="1.2.3.4, 198.51.100.1") == "198.51.100.1"
    assert resolve("10.0.0.1", x_forwarded_for="1.2.3.4, 198.51.100.1, 10.9.9.9, 192.0.2.10") == "198.51.100.1"
    # Every line of the header, in order.
    assert resolve("10.0.0.1", x_forwarded_for=["1.2.3.4", "198.51.100.1, 10.0.0.2"]) == "198.51.100.1"
    # Every hop trusted: the left-most.
    assert resolve("10.0.0.1", x_forwarded_for="10.0.0.7, 10.0.0.8") == "10.0.0.7"


def test_forwarded_header_rfc7239() -> None:
    assert resolve("10.0.0.1", forwarded='for=198.51.100.1;proto=https;by=10.0.0.1') == "198.51.100.1"
    assert resolve("10.0.0.1", forwarded='for=1.2.3.4, For="198.51.100.1:8080", for=10.0.0.3') == "198.51.100.1"
    assert resolve("10.0.0.1", forwarded='for="[2001:DB8:0::1]:4711"') == "2001:db8::1"
    assert resolve("10.0.0.1", forwarded=['for=1.2.3.4', 'for="[2001:db8::1]"']) == "2001:db8::1"
    # A quoted comma is not an element boundary.
    assert resolve("10.0.0.1", forwarded='by="a,b";for=198.51.100.1') == "198.51.100.1"


def test_unusable_headers_fall_back_to_the_peer() -> None:
    for bad in ["", "garbage", "198.51.100.1, not-an-ip", "999.1.1.1", "1.2.3.4,,", "[2001:db8::1", "[::1]x"]:
        assert resolve("10.0.0.1", x_forwarded_for=bad) == "10.0.0.1", bad
    for bad in ["for=unknown", "for=_hidden", 'for=198.51.100.1, for=_gazonk', "proto=https",
                'for="198.51.100.1', "for=198.51.100.1, by=10.0.0.2"]:
        assert resolve("10.0.0.1", forwarded=bad) == "10.0.0.1", bad
    # An unknown hop to the left of the client does not matter: the walk stopped before it.
    assert resolve("10.0.0.1", forwarded="for=unknown, for=198.51.100.1") == "198.51.100.1"
    assert resolve("10.0.0.1", x_forwarded_for="junk, 198.51.100.1") == "198.51.100.1"
    # No header at all from a trusted peer: the peer.
    assert resolve("10.0.0.1") == "10.0.0.1"


def test_two_headers_that_disagree_fall_back_to_the_peer() -> None:
    assert resolve("10.0.0.1", x_forwarded_for="198.51.100.1", forwarded="for=198.51.100.1") == "198.51.100.1"
    assert resolve("10.0.0.1", x_forwarded_for="198.51.100.1", forwarded="for=203.0.113.9") == "10.0.0.1"


def test_ipv6_peers_clients_and_ranges() -> None:
    assert resolve("fd00::5", x_forwarded_for="2001:db8:0:0::42") == "2001:db8::42"
    assert resolve("fd12:3456::1", x_forwarded_for="2001:db8::42, fd99::1") == "2001:db8::42"
    assert resolve("2001:db8:ffff::1", x_forwarded_for="198.51.100.1") == "198.51.100.1"  # a single v6 proxy
    assert resolve("2001:db8:ffff::2", x_forwarded_for="198.51.100.1") == "2001:db8:ffff::2"  # its neighbour is not
    assert resolve("10.0.0.1", x_forwarded_for="[2001:db8::42]:443") == "2001:db8::42"
    assert resolve("2001:DB8:0000::0042") == "2001:db8::42"


def test_ipv4_mapped_addresses_are_one_client() -> None:
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d: still trusted, still one key.
    assert resolve("::ffff:10.0.0.1", x_forwarded_for="::ffff:198.51.100.1") == "198.51.100.1"
    assert resolve("::ffff:203.0.113.7") == "203.0.113.7"
    assert parse_trusted_proxies("::ffff:10.0.0.0/104") == parse_trusted_proxies("10.0.0.0/8")


def test_only_the_tail_of_a_long_header_is_read() -> None:
    # Padding to the left cannot push the proxy's own hop out of what is read.
    padding = ", ".join(["1.2.3.4"] * 1000)
    assert resolve("10.0.0.1", x_forwarded_for=f"{padding}, 198.51.100.1") == "198.51.100.1"
    # A hop cut in half by the bound is dropped, not read as another address.
    value = "11.22.33.44" + ", 10.0.0.2" * ((FORWARDED_MAX_BYTES // 10) + 5)
    assert resolve("10.0.0.1", x_forwarded_for=value) == "10.0.0.2"


def test_client_address_uses_the_app_settings_for_requests_and_websockets() -> None:
    headers = [("X-Forwarded-For", "9.9.9.9, 198.51.100.1")]
    assert client_address(connection("10.1.2.3", headers)) == "198.51.100.1"
    assert client_address(connection("10.1.2.3", headers, kind="websocket")) == "198.51.100.1"
    assert client_address(connection("203.0.113.7", headers, kind="websocket")) == "203.0.113.7"
    assert client_address(connection(None, headers)) == "unknown"


@pytest.mark.parametrize("value", ["10.0.0.1/8", "lb.internal", "10.0.0.0/33", "10.0.0.0/8;fd00::/8", "2001:db8::g"])
def test_malformed_trusted_proxies_refuse_to_start(value: str) -> None:
    with pytest.raises(ValueError, match=r"^TRUSTED_PROXIES: .* is not an IP address or CIDR range"):
        Settings.from_env({"TRUSTED_PROXIES": value})


def test_trusted_proxies_setting_parses_both_families() -> None:
    settings = Settings.from_env({"TRUSTED_PROXIES": " 10.0.0.5 , 172.16.0.0/12,2001:DB8::/32,, "})
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.5/32", "172.16.0.0/12", "2001:db8::/32"]


# -- end to end over HTTP -------------------------------------------------------------------------

@asynccontextmanager
async def app_with(**overrides: object) -> AsyncIterator[object]:
    # No response cache: every request is admitted and spends (a cached answer spends nothing).
    settings = settings_with(rate_limit_anonymous_points=1000, response_cache_enabled=False, **overrides)
    app = create_app(settings, manage_orm=False)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def peer(app: object, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def used(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> int:
    """Points the caller's budget has used after one more QUERY (4 points) over POST."""
    answer = await http.post("/graphql", json={"query": QUERY}, headers=headers or {})
    assert answer.status_code == 200, answer.text
    return int(answer.headers["x-ratelimit-used"])


async def spend_over_get(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
    """QUERY over GET: it spends, but a shareable GET answer carries no budget headers."""
    answer = await http.get("/graphql", params={"query": QUERY}, headers=headers or {})
    assert answer.status_code == 200, answer.text


async def test_untrusted_peer_cannot_buy_a_fresh_budget_with_headers(db: str) -> None:
    async with app_with(trusted_proxies="10.0.0.0/8") as app, peer(app, "203.0.113.7") as http:
        assert await used(http, {"X-Forwarded-For": "198.51.100.1"}) == 4
        assert await used(http, {"X-Forwarded-For": "198.51.100.2"}) == 8
        assert await used(http, {"Forwarded": "for=198.51.100.3"}) == 12
        await spend_over_get(http, {"X-Forwarded-For": "198.51.100.4"})
        assert await used(http) == 20


async def test_trusted_proxy_gives_each_forwarded_client_its_own_budget(db: str) -> None:
    async with app_with(trusted_proxies="10.0.0.0/8, fd00::/8") as app, \
            peer(app, "10.0.0.1") as proxy_a, peer(app, "fd00::2") as proxy_b:
        assert await used(proxy_a, {"X-Forwarded-For": "198.51.100.1"}) == 4
        assert await used(proxy_a, {"X-Forwarded-For": "198.51.100.2"}) == 4
        # The same client through another trusted proxy (IPv6 peer, Forwarded header): one budget.
        assert await used(proxy_b, {"Forwarded": 'for=198.51.100.1;proto=https'}) == 8
        # A fake hop prepended by the client changes nothing; GET shares the budget too.
        await spend_over_get(proxy_a, {"X-Forwarded-For": "6.6.6.6, 198.51.100.1"})
        assert await used(proxy_a, {"X-Forwarded-For": "7.7.7.7, 198.51.100.1"}) == 16
        # IPv6 clients, written in two forms, are one budget; an IPv4-mapped one is its IPv4 address.
        assert await used(proxy_b, {"Forwarded": 'for="[2001:db8::1]:4711"'}) == 4
        assert await used(proxy_a, {"X-Forwarded-For": "2001:DB8:0::1"}) == 8
        assert await used(proxy_a, {"X-Forwarded-For": "::ffff:198.51.100.2"}) == 8
        # A malformed header: the proxy's own address.
        assert await used(proxy_a, {"X-Forwarded-For": "not an address"}) == 4


async def test_batches_and_login_attempts_count_by_the_forwarded_client(db: str) -> None:
    login = 'mutation { login(input: {handle: "tp_nobody", password: "wrong wrong wrong"}) { token } }'
    async with app_with(trusted_proxies="10.0.0.1", login_attempts=2, batch_max_operations=2) as app, \
            peer(app, "10.0.0.1") as proxy:
        batch = await proxy.post("/graphql", json=[{"query": QUERY}, {"query": QUERY}],
                                 headers={"X-Forwarded-For": "198.51.100.5"})
        assert batch.status_code == 200 and int(batch.headers["x-ratelimit-used"]) == 8
        assert await used(proxy, {"X-Forwarded-For": "198.51.100.6"}) == 4
        # Login attempts per address: a second forwarded client is not locked out by the first.
        # (The per-handle count is separate; each client tries its own handle.)
        codes = []
        for address in ("198.51.100.7", "198.51.100.7", "198.51.100.7"):
            answer = await proxy.post("/graphql", json={"query": login.replace("tp_nobody", f"tp_{len(codes)}")},
                                      headers={"X-Forwarded-For": address})
            codes.append(answer.status_code)
        assert codes == [200, 200, 429]
        other = await proxy.post("/graphql", json={"query": login.replace("tp_nobody", "tp_other")},
                                 headers={"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 200


# -- the WebSocket, over a real uvicorn ------------------------------------------------------------

async def test_websocket_admission_counts_by_the_forwarded_client(db: str, db_url: str) -> None:
    env = {"TRUSTED_PROXIES": "127.0.0.1", "WS_MAX_CONNECTIONS_PER_CLIENT": "1", "RATE_LIMIT_ENABLED": "false"}
    with live_server(db_url, **env) as base:
        url = base.replace("http", "ws") + "/graphql"

        async def open_from(address: str, forwarded_for: str):
            return await websockets.connect(url, subprotocols=["graphql-transport-ws"], local_addr=(address, 0),
                                            additional_headers={"X-Forwarded-For": forwarded_for})

        # Through the trusted proxy (127.0.0.1): one place per forwarded client.
        first = await open_from("127.0.0.1", "198.51.100.1")
        second = await open_from("127.0.0.1", "198.51.100.2")
        with pytest.raises(websockets.InvalidStatus) as again:
            await open_from("127.0.0.1", "6.6.6.6, 198.51.100.1")
        assert again.value.response.status_code == 429
        # From an untrusted peer the header is ignored: one place for the peer, whatever it says.
        third = await open_from("127.0.0.2", "198.51.100.3")
        with pytest.raises(websockets.InvalidStatus) as spoofed:
            await open_from("127.0.0.2", "198.51.100.4")
        assert spoofed.value.response.status_code == 429
        for socket in (first, second, third):
            await socket.close()
        await asyncio.sleep(0.1)


def test_the_cli_refuses_a_malformed_setting_in_one_line(tmp_path: Path) -> None:
    environment = {**os.environ, "TRUSTED_PROXIES": "10.0.0.5, lb.internal", "DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}"}
    done = subprocess.run([sys.executable, "-m", "gql.cli", "migrate"], env=environment, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parent.parent)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert "TRUSTED_PROXIES" in done.stderr and "lb.internal" in done.stderr
