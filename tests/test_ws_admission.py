"""The WebSocket passes the same guard as HTTP: shape, cost, rate budget, login attempts, time limit,
and caps on connections and operations. Over a real uvicorn, with real graphql-transport-ws sockets.

The attack these stop: after 12 wrong HTTP logins answered 429, one `subscribe` message with 40
aliased `login` fields returned a token; 150 aliased searches ran 52 s with no limit at all.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from models.accounts import hash_password
from tests.factories import make_user
from tests.live_server import live_server
from tests.test_fragment_expansion import doubling
from tests.ws_client import acknowledged, close_code, connect, next_message, send_subscribe

LOGIN = 'mutation { %s }'
LOGIN_FIELD = 'a%d: login(input: {handle: "%s", password: "%s"}) { token userErrors { code } }'


async def refusal(socket, operation_id: str, query: str, variables: dict | None = None) -> dict:
    """The `error` message an operation is refused with (the protocol's refusal before execution)."""
    await send_subscribe(socket, operation_id, query, variables)
    message = await next_message(socket)
    while message.get("id") != operation_id:  # what earlier operations still had to say
        message = await next_message(socket)
    assert message["type"] == "error", message
    return message["payload"][0]["extensions"]


REFUSED = [
    (LOGIN % " ".join(LOGIN_FIELD % (i, "demo_member", "wrong") for i in range(40)), None, "MAX_ALIASES_EXCEEDED"),
    (doubling(21), None, "MAX_FIELDS_EXCEEDED"),
    ("{ posts(first: 100) { nodes { replies(first: 100) { nodes { author { handle } } } } } }", None, "QUERY_TOO_COMPLEX"),
    # The cost reads variables as execution does: defaults, and 100.0 as the Int 100.
    ("query($n: Int = 100) { posts(first: $n) { nodes { replies(first: $n) { nodes { id } } } } }", None,
     "QUERY_TOO_COMPLEX"),
    ("query($n: Int) { posts(first: $n) { nodes { replies(first: $n) { nodes { id } } } } }", {"n": 100.0},
     "QUERY_TOO_COMPLEX"),
    ("subscription { issueUpdated(number: 1001) { " + "number " * 301 + "} }", None, "MAX_FIELDS_EXCEEDED"),
]


async def test_every_operation_is_admitted_like_an_http_request(db: str, db_url: str) -> None:
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, None) as socket, httpx.AsyncClient(base_url=base) as http:
            for n, (query, variables, code) in enumerate(REFUSED):
                assert (await refusal(socket, f"op{n}", query, variables))["code"] == code, query
                # The socket stays usable, and the server answers others.
                await send_subscribe(socket, f"ok{n}", "{ __typename }")
                assert (await next_message(socket, "next"))["payload"]["data"] == {"__typename": "Query"}
                assert (await http.get("/healthz")).status_code == 200


async def test_login_attempts_and_budgets_are_shared_with_http(db: str, db_url: str) -> None:
    user = await make_user("ws_login")
    user.password_hash = hash_password("right-password")
    await user.save()
    env = {"LOGIN_ATTEMPTS": "3", "RATE_LIMIT_ANONYMOUS_POINTS": "200"}
    with live_server(db_url, **env) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(3):
                wrong = LOGIN % (LOGIN_FIELD % (0, user.handle, "wrong"))
                assert (await http.post("/graphql", json={"query": wrong})).status_code == 200
            async with acknowledged(base, None) as socket:
                # The right password, from a variable default: still the fourth attempt on that handle.
                query = ('mutation($i: LoginInput! = {handle: "%s", password: "right-password"}) '
                         '{ login(input: $i) { token } }' % user.handle.upper())
                assert (await refusal(socket, "login", query))["code"] == "RATE_LIMITED"
                # Points spent over the socket come out of the same anonymous budget as HTTP's.
                costly = "{ posts(first: 90) { nodes { id } } }"
                await send_subscribe(socket, "spend", costly)
                assert "data" in (await next_message(socket, "next"))["payload"]
                answer = await http.post("/graphql", json={"query": costly})
                assert answer.status_code == 429
                assert answer.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_queries_and_mutations_run_under_the_time_limit(db: str, db_url: str) -> None:
    # A limit of 0 s expires at the operation's first wait for the database.
    with live_server(db_url, RATE_LIMIT_ENABLED="false", REQUEST_TIMEOUT_SECONDS="0") as base:
        async with acknowledged(base, None) as socket:
            await send_subscribe(socket, "slow", "{ posts(first: 5) { nodes { id } } }")
            message = await next_message(socket)
            assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "TIMEOUT"


async def test_connections_are_capped_per_client_and_in_all(db: str, db_url: str) -> None:
    env = {"WS_MAX_CONNECTIONS_PER_CLIENT": "2", "WS_MAX_CONNECTIONS": "3", "RATE_LIMIT_ENABLED": "false"}
    with live_server(db_url, **env) as base:
        url = base.replace("http", "ws") + "/graphql"

        async def open_from(address: str):
            return await websockets.connect(url, subprotocols=["graphql-transport-ws"], local_addr=(address, 0))

        first = [await open_from("127.0.0.1") for _ in range(2)]
        with pytest.raises(websockets.InvalidStatus) as per_client:
            await open_from("127.0.0.1")
        assert per_client.value.response.status_code == 429
        # Another client may still connect, until the total is reached.
        other = await open_from("127.0.0.2")
        with pytest.raises(websockets.InvalidStatus) as in_all:
            await open_from("127.0.0.3")
        assert in_all.value.response.status_code == 503
        for socket in (*first, other):
            await socket.close()
        await asyncio.sleep(0.2)
        again = await open_from("127.0.0.1")  # closing frees the places
        await again.close()


async def test_operations_per_connection_are_capped(db: str, db_url: str) -> None:
    with live_server(db_url, WS_MAX_OPERATIONS="2", RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, None) as socket:
            for operation_id in ("a", "b"):
                await send_subscribe(socket, operation_id, "subscription { issueUpdated(number: 1001) { number } }")
            await send_subscribe(socket, "c", "subscription { issueUpdated(number: 1002) { number } }")
            message = await next_message(socket, "error")
            assert message["id"] == "c" and "limit" in message["payload"][0]["message"]


async def test_only_the_guarded_protocol_is_spoken(db: str, db_url: str) -> None:
    # The legacy `graphql-ws` protocol has a handler of its own that the guard does not wrap.
    with live_server(db_url) as base:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            socket = await connect(base, None, protocol="graphql-ws")
            await asyncio.wait_for(socket.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


@pytest.mark.parametrize("message", ['[1, 2]', '{"id": {"a": 1}, "type": "subscribe", "payload": {"query": "{ __typename }"}}',
                                     '"subscribe"', '{"id": 7, "type": "complete"}'])
async def test_a_malformed_message_closes_the_socket_as_malformed(db: str, db_url: str, message: str) -> None:
    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        async with acknowledged(base, None) as socket:
            await socket.send(message)
            assert await close_code(socket) == 4400
