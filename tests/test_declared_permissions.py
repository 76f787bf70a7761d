"""Permissions are declared on the fields they guard (gql/permissions.py), and the tests see all of them.

The authorization matrix of tests/test_authorization.py says who may call each guarded operation;
these checks keep it complete: a new mutation, or a new field with a declared permission, that the
matrix does not name fails here, before it can ship untested. Subscriptions are not in the matrix
(it speaks HTTP): each declared one is refused to an anonymous subscriber here, over a real WebSocket.
"""

from __future__ import annotations

import inspect
import json
import re
from functools import cache

import pytest
import websockets
from graphql import GraphQLObjectType, GraphQLSchema

from gql.permissions import Permission
from gql.schema import build_schema
from gql.settings import Settings
from tests.live_server import live_server
from tests.support import GraphQLClient
from tests.test_authorization import OPERATIONS
from tests.factories import make_user, token_for
from tests.ws_client import PROTOCOL, close_code, next_message, send_subscribe, subscribed


@cache
def schema() -> GraphQLSchema:
    return build_schema(Settings())._schema


def guarded_fields() -> dict[tuple[str, str], list[type[Permission]]]:
    """(type, field) -> the permissions declared on it, for every field of the schema that declares one."""
    guarded = {}
    for named in schema().type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, field in named.fields.items():
            definition = field.extensions.get("strawberry-definition")
            declared = [rule for rule in getattr(definition, "permission_classes", ()) if issubclass(rule, Permission)]
            if declared:
                guarded[named.name, name] = declared
    return guarded


def in_matrix() -> set[str]:
    """The fields the matrix calls: `moderatePost(HIDE)` calls moderatePost, `communityStats.postsByStatus`
    calls postsByStatus."""
    return {re.sub(r"\(.*\)$", "", operation).rpartition(".")[2] for operation in OPERATIONS}


@pytest.mark.only_on("sqlite")
def test_every_mutation_is_in_the_authorization_matrix() -> None:
    mutation = schema().mutation_type
    assert mutation is not None
    assert sorted(set(mutation.fields) - in_matrix()) == []


@pytest.mark.only_on("sqlite")
def test_every_field_with_a_declared_permission_is_in_the_matrix() -> None:
    guarded = [name for (typename, name) in guarded_fields() if typename != "Subscription"]
    assert guarded, "no declared permission found: the schema walk is broken"
    assert sorted(set(guarded) - in_matrix()) == []


@pytest.mark.only_on("sqlite")
def test_what_the_matrix_refuses_to_anonymous_callers_is_declared() -> None:
    """A reader of a type sees who may read it: no guarded operation of the matrix is left to a
    check hidden in its resolver (register, login and recordFaqView are open to anyone)."""
    declared = {name for (_, name) in guarded_fields()}
    refused = {re.sub(r"\(.*\)$", "", operation).rpartition(".")[2]
               for operation, (_, allowed) in OPERATIONS.items() if "anonymous" not in allowed}
    assert sorted(refused - declared) == []


async def test_each_guarded_subscription_refuses_an_anonymous_subscriber(db: str, db_url: str) -> None:
    """The declared rule runs as the stream starts (gql/core/subscriptions.py): the refusal is the
    stream's one `next`, without data, with UNAUTHENTICATED, then `complete`."""
    guarded = sorted(name for (typename, name) in guarded_fields() if typename == "Subscription")
    assert guarded
    with live_server(db_url) as base:
        for name in guarded:
            async with subscribed(base, None, f"subscription {{ {name} {{ __typename }} }}") as socket:
                refusal = await next_message(socket)
                assert refusal["type"] == "next" and refusal["payload"].get("data") is None, refusal
                assert [error["extensions"]["code"] for error in refusal["payload"]["errors"]] == ["UNAUTHENTICATED"]
                assert (await next_message(socket))["type"] == "complete"


@pytest.mark.parametrize("query", ['{ moderationQueue(first: 500) { totalCount } }',
                                   '{ starApplications(after: "not-a-cursor") { totalCount } }'])
async def test_a_guarded_connection_checks_its_page_arguments_first(client: GraphQLClient, query: str) -> None:
    """As when the check sat in the resolver: a bad page argument is BAD_USER_INPUT for anyone."""
    errors = (await client.post(query)).json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]


@pytest.mark.only_on("sqlite")
def test_each_guarded_subscription_streams_through_deliveries_with_rules_it_can_check() -> None:
    """A subscription's declared rules run only inside `deliveries` (as the stream starts and before
    each event), which has no arguments to give them: a subscription that streamed otherwise, or a
    rule that read its arguments, would go unguarded or fail."""
    guarded = {name: rules for (typename, name), rules in guarded_fields().items() if typename == "Subscription"}
    assert guarded
    subscription = schema().subscription_type
    assert subscription is not None
    for name, rules in guarded.items():
        resolver = subscription.fields[name].extensions["strawberry-definition"].base_resolver.wrapped_func
        assert "deliveries(info" in inspect.getsource(resolver), name
        assert [rule.__name__ for rule in rules if rule.reads_arguments] == [], name


REFUSED_CREDENTIALS = [12, ["Bearer x"], {"token": "x"}, True, "", "Basic abc", "Bearer", "Bearer two words",
                       "Bearer " + "x" * 300, "Bearer cht_not-a-token"]


async def test_a_websocket_whose_credentials_sign_no_one_in_is_refused(db: str, db_url: str) -> None:
    """The one `authenticate()` serves `connection_init` as it serves the HTTP header: anything but a
    live bearer token (a JSON value that is no string included) closes the socket 4403, unacknowledged."""
    with live_server(db_url) as base:
        for authorization in REFUSED_CREDENTIALS:
            socket = await websockets.connect(base.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL])
            await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": authorization}}))
            assert await close_code(socket) == 4403, authorization


async def test_a_websocket_signs_in_with_either_spelling_of_the_key(db: str, db_url: str) -> None:
    user = await make_user("ws_key_spelling")
    token = await token_for(user)
    with live_server(db_url) as base:
        for key in ("Authorization", "authorization"):
            socket = await websockets.connect(base.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL])
            await socket.send(json.dumps({"type": "connection_init", "payload": {key: f"Bearer {token}"}}))
            assert (await next_message(socket))["type"] == "connection_ack"
            await send_subscribe(socket, "1", "{ viewer { user { handle } } }")
            answer = await next_message(socket, "next")
            assert answer["payload"]["data"]["viewer"]["user"]["handle"] == user.handle
            await socket.close()
