"""Every string argument that filters or looks up rows is bounded, and a value past its bound is an
answer, never an INTERNAL_SERVER_ERROR.

Issue 9: a `posts(board:)` one character longer than the column made Tortoise raise a
ValidationError (500), `faqs(query:)` of 50,000 characters made SQLite give up ("LIKE pattern too
complex"), and `createAnnouncement(publishedAt: "9999-12-31T23:59:59-12:00")` overflowed on its way
to UTC. Filters answer BAD_USER_INPUT naming the `argument` and its `maximum`; lookups by slug
answer null (no row can have a slug longer than the column); mutation input answers userErrors and
changes nothing. The sweep at the end finds every string argument of the schema by itself, so an
argument added later is held to the same rule.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from graphql import GraphQLObjectType, GraphQLScalarType, GraphQLSchema, get_named_type, is_non_null_type

from gql.schema import build_schema
from models.accounts import AccessToken, Role, User
from models.announcements import Announcement
from models.base import column_max
from models.faqs import QUERY_MAX, Faq, FaqCategory, FaqLabel
from models.posts import Board, Post, Tag
from tests.conftest import settings_with
from tests.factories import gid, make_faq, make_user, token_for
from tests.support import GraphQLClient, database_state

# Just past what a request body may carry once JSON-encoded (MAX_BODY_BYTES is 100,000).
HUGE = 90_000

# (query field, argument, its maximum)
FILTERS = [
    ("posts", "board", column_max(Board, "slug")),
    ("posts", "tag", column_max(Tag, "name")),
    ("posts", "author", column_max(User, "handle")),
    ("faqs", "category", column_max(FaqCategory, "slug")),
    ("faqs", "label", column_max(FaqLabel, "name")),
    ("faqs", "query", QUERY_MAX),
]
LOOKUPS = [("post", column_max(Post, "slug")), ("faq", column_max(Faq, "slug"))]


def _filter_query(field: str, argument: str) -> str:
    return f"query($v: String) {{ {field}({argument}: $v) {{ totalCount }} }}"


@pytest.mark.parametrize(("field", "argument", "maximum"), FILTERS)
async def test_a_filter_at_its_bound_answers(module_client: GraphQLClient, field: str, argument: str, maximum: int) -> None:
    data = await module_client.query(_filter_query(field, argument), {"v": "x" * maximum})
    assert data[field]["totalCount"] == 0


@pytest.mark.parametrize("length_past", [1, HUGE], ids=["one past", "huge"])
@pytest.mark.parametrize(("field", "argument", "maximum"), FILTERS)
async def test_a_filter_past_its_bound_is_bad_user_input(
    module_client: GraphQLClient, field: str, argument: str, maximum: int, length_past: int
) -> None:
    response = await module_client.post(_filter_query(field, argument), {"v": "x" * (maximum + length_past)})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument, "maximum": maximum}
    assert error["path"] == [field]


@pytest.mark.parametrize(("field", "maximum"), LOOKUPS)
@pytest.mark.parametrize("length", [0, 1, HUGE], ids=["at the bound", "one past", "huge"])
async def test_a_lookup_past_its_bound_finds_nothing(module_client: GraphQLClient, field: str, maximum: int, length: int) -> None:
    data = await module_client.query(f"query($v: String!) {{ {field}(slug: $v) {{ id }} }}", {"v": "x" * (maximum + length)})
    assert data == {field: None}


# --- Mutation input ------------------------------------------------------------------------------

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { token userErrors { field code } } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { token userErrors { field code } } }"
CREATE_POST = "mutation($input: CreatePostInput!) { createPost(input: $input) { post { id } userErrors { field code } } }"
CREATE_FAQ = "mutation($input: CreateFaqInput!) { createFaq(input: $input) { faq { id } userErrors { field code } } }"
UPDATE_FAQ = "mutation($input: UpdateFaqInput!) { updateFaq(input: $input) { faq { id } userErrors { field code } } }"
ANNOUNCE = """mutation($input: CreateAnnouncementInput!) {
  createAnnouncement(input: $input) { announcement { id publishedAt expiresAt } userErrors { field code } }
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def staff_token(db: str) -> str:
    return await token_for(await make_user("bounds_mod", Role.MODERATOR))


async def refused_without_change(
    client: GraphQLClient, query: str, input: dict[str, Any], token: str | None = None, watched: tuple[Any, ...] = ()
) -> list[tuple[str, str]]:
    """Run a mutation that must be refused; returns its userErrors as (field, code), having checked
    that it answered 200 without a top-level error and that no row anywhere changed."""
    before = await database_state(*watched)
    response = await client.post(query, {"input": input}, token=token)
    payload = response.json()
    assert response.status_code == 200 and "errors" not in payload, payload
    [result] = payload["data"].values()
    assert await database_state(*watched) == before
    return [((error["field"] or [None])[-1], error["code"]) for error in result["userErrors"]]


CREDENTIALS = [
    {"handle": "h" * (column_max(User, "handle") + 1), "password": "long enough password"},
    {"handle": "h" * HUGE, "password": "long enough password"},
    {"handle": "demo_member", "password": "p" * HUGE},
]


@pytest.mark.parametrize("credentials", CREDENTIALS, ids=["handle one past", "huge handle", "huge password"])
async def test_over_long_credentials_are_wrong_credentials(module_client: GraphQLClient, credentials: dict) -> None:
    assert await refused_without_change(module_client, LOGIN, credentials) == [(None, "INVALID_CREDENTIALS")]


async def test_a_token_label_past_its_column_is_refused(module_client: GraphQLClient) -> None:
    good = {"handle": "demo_member", "password": "demo-password"}
    maximum = column_max(AccessToken, "label")
    assert await refused_without_change(module_client, LOGIN, {**good, "label": "l" * (maximum + 1)}) == [("label", "TOO_LONG")]
    assert (await module_client.query(LOGIN, {"input": {**good, "label": "l" * maximum}}))["login"]["token"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"handle": "h" * HUGE}, [("handle", "TOO_LONG")]),
        ({"email": "x@" + "." * 60_000 + "@"}, [("email", "TOO_LONG")]),  # the finding
        ({"email": "x@" + "." * 200 + "@"}, [("email", "INVALID")]),
        ({"email": "e" * HUGE}, [("email", "TOO_LONG")]),
        ({"password": "p" * HUGE}, [("password", "INVALID")]),
        ({"displayName": "d" * HUGE}, [("displayName", "TOO_LONG")]),
    ],
    ids=["handle", "dotted email", "dotted email within the column", "email", "password", "display name"],
)
async def test_register_refuses_over_long_fields(module_client: GraphQLClient, override: dict, expected: list) -> None:
    good = {"handle": "bounds_new", "password": "long enough password", "email": "bounds@example.com"}
    assert await refused_without_change(module_client, REGISTER, {**good, **override}) == expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"board": "b" * (column_max(Board, "slug") + 1)}, [("board", "NOT_FOUND")]),
        ({"board": "b" * HUGE}, [("board", "NOT_FOUND")]),
        ({"tags": ["t" * (column_max(Tag, "name") + 1)]}, [("tags", "INVALID")]),
        ({"tags": ["t" * HUGE]}, [("tags", "INVALID")]),
    ],
    ids=["board one past", "huge board", "tag one past", "huge tag"],
)
async def test_create_post_refuses_over_long_slugs_and_tags(
    module_client: GraphQLClient, staff_token: str, override: dict, expected: list
) -> None:
    good = {"board": "help", "title": "Bounded arguments", "body": "Nothing changes.", "tags": ["bounds"]}
    assert await refused_without_change(module_client, CREATE_POST, {**good, **override}, staff_token) == expected


FAQ_OVERRIDES = [
    ({"slug": "s" * (column_max(Faq, "slug") + 1)}, [("slug", "INVALID")]),
    ({"slug": "s" * HUGE}, [("slug", "INVALID")]),
    ({"category": "c" * (column_max(FaqCategory, "slug") + 1)}, [("category", "NOT_FOUND")]),
    ({"category": "c" * HUGE}, [("category", "NOT_FOUND")]),
    ({"labels": ["l" * (column_max(FaqLabel, "name") + 1)]}, [("labels", "INVALID")]),
    ({"labels": ["l" * HUGE]}, [("labels", "INVALID")]),
]
FAQ_IDS = ["slug one past", "huge slug", "category one past", "huge category", "label one past", "huge label"]


@pytest.mark.parametrize(("override", "expected"), FAQ_OVERRIDES, ids=FAQ_IDS)
async def test_create_faq_refuses_over_long_slugs_and_labels(
    module_client: GraphQLClient, staff_token: str, override: dict, expected: list
) -> None:
    good = {"slug": "bounded-faq", "title": "How long may a slug be?", "body": "As long as its column.", "category": "account"}
    assert await refused_without_change(module_client, CREATE_FAQ, {**good, **override}, staff_token) == expected


@pytest.mark.parametrize(("override", "expected"), FAQ_OVERRIDES, ids=FAQ_IDS)
async def test_update_faq_refuses_over_long_slugs_and_labels(
    module_client: GraphQLClient, staff_token: str, override: dict, expected: list
) -> None:
    faq = await make_faq()
    errors = await refused_without_change(module_client, UPDATE_FAQ, {"faqId": gid(faq), **override}, staff_token, (faq,))
    assert errors == expected


OUT_OF_RANGE = [
    "9999-12-31T23:59:59-12:00",  # the finding: a valid time whose UTC value is in year 10000
    "9999-12-31T12:00:00-12:00",
    "0001-01-01T00:00:00+01:00",  # UTC value in year 0
    "0001-01-01T11:59:59+14:00",
]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
@pytest.mark.parametrize("field", ["publishedAt", "expiresAt"])
async def test_times_outside_what_the_database_holds_are_refused(
    module_client: GraphQLClient, staff_token: str, field: str, moment: str
) -> None:
    good = {"title": "Out of range", "body": "Never stored.", "publishedAt": "2030-01-01T00:00:00Z"}
    errors = await refused_without_change(module_client, ANNOUNCE, {**good, field: moment}, staff_token)
    assert errors == [(field, "OUT_OF_RANGE")]


@pytest.mark.parametrize(
    ("published", "expires"),
    [("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"), ("9999-12-31T12:00:00Z", "9999-12-31T23:59:59-00:00"),
     ("0001-01-01T01:00:00+01:00", "9999-12-31T11:59:59-12:00")],
    ids=["first day", "last day", "edges with offsets"],
)
async def test_times_at_the_edges_are_stored_and_read_back(
    module_client: GraphQLClient, staff_token: str, published: str, expires: str
) -> None:
    input = {"title": "At the edge", "body": "Stored as given.", "publishedAt": published, "expiresAt": expires}
    payload = (await module_client.query(ANNOUNCE, {"input": input}, token=staff_token))["createAnnouncement"]
    try:
        assert payload["userErrors"] == []
        assert payload["announcement"]["publishedAt"][:4] in {"0001", "9999"}
    finally:
        # An announcement of year 1 would otherwise sit in every later test's announcements list.
        await Announcement.filter(title="At the edge").delete()


# --- The sweep -----------------------------------------------------------------------------------

# Cursors and `search(query:)` are bounded by their own modules (gql/core/relay.py, gql/search/).
ELSEWHERE = {"after", "before"}
SEARCH = ("Query", "search")


@functools.cache
def graphql_schema() -> GraphQLSchema:
    return build_schema(settings_with())._schema


def string_arguments() -> list[tuple[str, str, str, bool]]:
    """(type, field, argument, required) for every String argument of Query and of the types
    reached from it without arguments of their own (Viewer), found in the schema itself."""
    schema = graphql_schema()
    found = []
    for type_name in ("Query", "Viewer"):
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        for field_name, field in graphql_type.fields.items():
            for argument_name, argument in field.args.items():
                named = get_named_type(argument.type)
                if isinstance(named, GraphQLScalarType) and named.name == "String" and argument_name not in ELSEWHERE:
                    if (type_name, field_name) != SEARCH:
                        found.append((type_name, field_name, argument_name, is_non_null_type(argument.type)))
    return found


def _sweep_query(type_name: str, field: str, argument: str, required: bool, returns_object: bool) -> str:
    selection = f"{field}({argument}: $v)" + (" { __typename }" if returns_object else "")
    declared = "String!" if required else "String"
    return f"query($v: {declared}) {{ {selection if type_name == 'Query' else 'viewer { ' + selection + ' }'} }}"


def test_the_sweep_sees_the_arguments_named_in_the_issue() -> None:
    seen = {(field, argument) for _, field, argument, _ in string_arguments()}
    assert {("posts", "board"), ("posts", "tag"), ("posts", "author"), ("faqs", "category"), ("faqs", "label"),
            ("faqs", "query"), ("post", "slug"), ("faq", "slug")} <= seen


@pytest.mark.parametrize(("type_name", "field", "argument", "required"), string_arguments())
@pytest.mark.parametrize("length", [HUGE], ids=["huge"])
async def test_no_string_argument_makes_an_internal_error(
    module_client: GraphQLClient, staff_token: str, type_name: str, field: str, argument: str, required: bool, length: int
) -> None:
    schema = graphql_schema()
    returns_object = not isinstance(get_named_type(schema.get_type(type_name).fields[field].type), GraphQLScalarType)
    # Each fits a request body once JSON-encoded (a newline takes two bytes there).
    for hostile in ("x" * length, "\n" * (length // 2), "%_" * (length // 2), "x@" + "." * (length - 3) + "@"):
        response = await module_client.post(_sweep_query(type_name, field, argument, required, returns_object),
                                            {"v": hostile}, token=staff_token)
        assert response.status_code == 200
        codes = [error["extensions"]["code"] for error in response.json().get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes and set(codes) <= {"BAD_USER_INPUT"}, (field, argument, codes)


@pytest.mark.parametrize("handle", ["x" * 41, "x" * 5000])
async def test_the_cli_finds_no_user_for_a_handle_past_its_column(db: str, db_url: str, handle: str) -> None:
    tokens_before = await AccessToken.all().count()
    result = subprocess.run([sys.executable, "-m", "gql.cli", "token", "create", handle],
                            cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "DATABASE_URL": db_url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "no user" in result.stderr and "Traceback" not in result.stderr
    assert await AccessToken.all().count() == tokens_before
