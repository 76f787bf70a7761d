"""The bad-input catalogue: every kind of hostile or malformed input, each over HTTP, each refused
with its status and code AND with no row changed anywhere (`fingerprint`: every table's row count
and a checksum of its rows, taken before and after).

Cases are rows of tables, grouped by kind: bounds (at and past every documented maximum), raw
bodies (invalid UTF-8, NUL bytes, lone surrogates, nesting, non-finite numbers), numbers past 32
and 64 bits in literals and variables, every scalar given the wrong JSON type, unknown enum
values, malformed cursors and global IDs, dates out of range and time-zone edge cases. Text that
looks like markup or SQL is stored through a mutation and must come back byte for byte.
A case a fuzzer found (tests/test_fuzz.py) gets its row here.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator

import orjson
import pytest
import pytest_asyncio
from tortoise import Tortoise

from models.accounts import Role
from tests.conftest import BACKEND
from tests.factories import make_user, token_for
from tests.support import GraphQLClient

# --- The database's fingerprint ------------------------------------------------------------------


async def fingerprint() -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of all its rows, in one statement: equal before and
    after a request means it inserted, deleted and updated nothing anywhere."""
    models = sorted(Tortoise.apps.get_models_iterable(), key=lambda model: model._meta.db_table)
    parts = []
    for model in models:
        table = model._meta.db_table
        columns = sorted(model._meta.fields_db_projection.values())
        if BACKEND == "postgres":
            digest = f'(SELECT md5(COALESCE(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) FROM "{table}" t)'
        else:
            row = " || ',' || ".join(f'quote("{column}")' for column in columns)
            digest = f'(SELECT group_concat(r, \'|\') FROM (SELECT {row} AS r FROM "{table}" ORDER BY r))'
        parts.append(f'(SELECT COUNT(*) FROM "{table}") AS "{table}#count", {digest} AS "{table}#sum"')
    [row] = await Tortoise.get_connection("default").execute_query_dict("SELECT " + ", ".join(parts))
    return {model._meta.db_table: (row[f"{model._meta.db_table}#count"],
                                   hashlib.sha256(str(row[f"{model._meta.db_table}#sum"]).encode()).hexdigest())
            for model in models}


# --- Cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request and the refusal it must get. `code` is the top-level error's
    `extensions.code`, or the first userError's code when `user_error`; None: an answer without
    errors (a lookup that finds nothing). `body` is raw bytes, or a JSON object to send."""

    id: str
    body: bytes | dict[str, Any]
    status: int
    code: str | None
    who: str = "anonymous"  # "anonymous", "member" or "admin"
    user_error: bool = False
    # Something the answer must hold, as (path, value) into the JSON answer.
    expect: tuple[tuple[tuple[str | int, ...], Any], ...] = field(default=())

    def __str__(self) -> str:
        return self.id


def op(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"query": query, **({"variables": variables} if variables is not None else {})}


CREATE_POST = "mutation($i: CreatePostInput!) { createPost(input: $i) { post { id title body } userErrors { code field } } }"
REPLY = "mutation($i: ReplyToPostInput!) { replyToPost(input: $i) { reply { id } userErrors { code field } } }"
APPLY = "mutation($i: ApplyToStarsProgramInput!) { applyToStarsProgram(input: $i) { userErrors { code field } } }"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code field } } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code field } } }"
REPORT = "mutation($i: ReportContentInput!) { reportContent(input: $i) { report { id } userErrors { code field } } }"
ANNOUNCE = ("mutation($i: CreateAnnouncementInput!) { createAnnouncement(input: $i) { announcement { id } "
            "userErrors { code field } } }")

# A post every mutation case may name (the seed's first published post, looked up once).
POST_ID = "{POST_ID}"


def post_input(**fields: Any) -> dict[str, Any]:
    return {"board": "help", "title": "A title long enough", "body": "A body.", **fields}


def apply_input(**fields: Any) -> dict[str, Any]:
    return {"dateOfBirth": "1990-01-01", "motivation": "m" * 60, "weeklyMinutes": 60, **fields}


def past(bound: int) -> str:
    return "x" * (bound + 1)


# (id, query, input, status, code, who): mutation input past its documented bound (README, models/).
BOUNDS_PAST = [
    ("post title 201", CREATE_POST, post_input(title=past(200)), "TOO_LONG", "member"),
    ("post body 20,001", CREATE_POST, post_input(body=past(20_000)), "TOO_LONG", "member"),
    ("post tag 41", CREATE_POST, post_input(tags=[past(40)]), "INVALID", "member"),
    ("post 6 tags", CREATE_POST, post_input(tags=[f"t{n}" for n in range(6)]), "TOO_MANY", "member"),
    ("post board slug 61", CREATE_POST, post_input(board=past(60)), "NOT_FOUND", "member"),
    ("reply body 10,001", REPLY, {"postId": POST_ID, "body": past(10_000)}, "TOO_LONG", "member"),
    ("motivation 2,001", APPLY, apply_input(motivation=past(2000)), "MOTIVATION", "member"),
    ("language 51", APPLY, apply_input(languages=[past(50)]), "TOO_LONG", "member"),
    ("report note 1,001", REPORT, {"contentId": POST_ID, "reason": "SPAM", "note": past(1000)}, "TOO_LONG", "member"),
    ("handle 31 at register", REGISTER, {"handle": past(30), "password": "long enough password"}, "TOO_LONG", "anonymous"),
    ("password 201 at register", REGISTER, {"handle": "fresh_handle", "password": past(200)}, "INVALID", "anonymous"),
    ("email 255 at register", REGISTER, {"handle": "fresh_handle", "password": "long enough password",
                                         "email": past(244) + "@example.com"}, "TOO_LONG", "anonymous"),
    ("handle 41 at login", LOGIN, {"handle": past(40), "password": "whatever it is"}, "INVALID_CREDENTIALS", "anonymous"),
    ("announcement title 201", ANNOUNCE, {"title": past(200), "body": "b"}, "TOO_LONG", "admin"),
    ("announcement body 10,001", ANNOUNCE, {"title": "A title", "body": past(10_000)}, "TOO_LONG", "admin"),
    ("a 99,000-character title", CREATE_POST, post_input(title="x" * 99_000), "TOO_LONG", "member"),
]

# (argument, query with %s, bound, code past it): string arguments that filter or look up rows. At
# the bound each is read (nothing matches: no error, nothing written); past it, filters are
# BAD_USER_INPUT and lookups answer null, as for any slug that names nothing (README, Bounded arguments).
FILTERS = [
    ("search query", '{ search(query: "%s") { totalCount } }', 200, "BAD_USER_INPUT"),
    ("faqs query", '{ faqs(query: "%s") { totalCount } }', 200, "BAD_USER_INPUT"),
    ("posts board", '{ posts(board: "%s") { totalCount } }', 60, "BAD_USER_INPUT"),
    ("posts tag", '{ posts(tag: "%s") { totalCount } }', 40, "BAD_USER_INPUT"),
    ("posts author", '{ posts(author: "%s") { totalCount } }', 40, "BAD_USER_INPUT"),
    ("faqs category", '{ faqs(category: "%s") { totalCount } }', 60, "BAD_USER_INPUT"),
    ("faqs label", '{ faqs(label: "%s") { totalCount } }', 40, "BAD_USER_INPUT"),
    ("post slug", '{ post(slug: "%s") { id } }', 160, None),
    ("faq slug", '{ faq(slug: "%s") { id } }', 120, None),
]

TYPENAME = '{"query": "{ __typename }"}'
INT_VARIABLE = "query($v: Int) { posts(first: $v) { totalCount } }"
# (id, raw body, status, code): bodies no JSON reader should take, or that hold what JSON cannot.
RAW = [
    ("invalid UTF-8 in a string", b'{"query": "{ __typename }", "operationName": "\xff\xfe"}', 400, "BAD_REQUEST"),
    ("invalid UTF-8 outside strings", b'{"query": "{ __typename }"}\xc3', 400, "BAD_REQUEST"),
    ("a NUL byte after the object", TYPENAME.encode() + b"\x00", 400, "BAD_REQUEST"),
    ("a raw NUL byte in a string", b'{"query": "{ __typename \x00}"}', 400, "BAD_REQUEST"),
    ("an escaped NUL in the document", b'{"query": "{ __typename }\\u0000"}', 400, "GRAPHQL_PARSE_FAILED"),
    ("a lone high surrogate", b'{"query": "{ search(query: \\"\\ud800\\") { totalCount } }"}', 400, "BAD_REQUEST"),
    ("a lone low surrogate in variables", b'{"query": "{ __typename }", "variables": {"x": "\\udc00"}}', 400,
     "BAD_REQUEST"),
    ("1e400 in variables", b'{"query": "%s", "variables": {"v": 1e400}}' % INT_VARIABLE.encode(), 400, "BAD_REQUEST"),
    ("NaN in variables", b'{"query": "%s", "variables": {"v": NaN}}' % INT_VARIABLE.encode(), 400, "BAD_REQUEST"),
    ("Infinity in variables", b'{"query": "%s", "variables": {"v": -Infinity}}' % INT_VARIABLE.encode(), 400,
     "BAD_REQUEST"),
    ("variables 5,000 arrays deep", b'{"query": "%s", "variables": {"v": %s%s}}'
     % (INT_VARIABLE.encode(), b"[" * 5000, b"]" * 5000), 400, "BAD_REQUEST"),
    ("variables 500 arrays deep", b'{"query": "%s", "variables": {"v": %s1%s}}'
     % (INT_VARIABLE.encode(), b"[" * 500, b"]" * 500), 400, "BAD_USER_INPUT"),
    ("variables 500 objects deep, unused", b'{"query": "{ __typename }", "variables": {"x": %s1%s}}'
     % (b'{"a":' * 500, b"}" * 500), 200, None),
    ("a body that is a string", b'"{ __typename }"', 400, "BAD_REQUEST"),
    ("an empty body", b"", 400, "BAD_REQUEST"),
]

BIG = [2**31, 2**32, 2**63, 2**64, 51925414064664738791424]
COSTLY = " ".join(f"a{n}: posts(first: 2147483647) {{ nodes {{ replies(first: 2147483647) {{ nodes {{ id }} }} }} }}"
                  for n in range(4))
# (id, body, status, code): numbers past 32 and 64 bits, and non-finite ones.
NUMBERS = [
    *((f"literal {n} in posts(first:)", op("{ posts(first: %d) { totalCount } }" % n), 400, "GRAPHQL_VALIDATION_FAILED")
      for n in BIG),
    *((f"literal {n} in daily(days:)", op("{ communityStats { daily(days: %d) { date } } }" % n), 400,
       "GRAPHQL_VALIDATION_FAILED") for n in BIG),
    ("literal 1e400 in daily(days:)", op("{ communityStats { daily(days: 1e400) { date } } }"), 400,
     "GRAPHQL_VALIDATION_FAILED"),
    ("literal -1e400 in posts(first:)", op("{ posts(first: -1e400) { totalCount } }"), 400, "GRAPHQL_VALIDATION_FAILED"),
    *((f"variable {n}", op(INT_VARIABLE, {"v": n}), 400, "BAD_USER_INPUT") for n in BIG[:3]),
    # Past 64 bits: written raw (no encoder writes it); orjson reads it as a float, Int refuses it.
    *((f"variable {n}", b'{"query": "%s", "variables": {"v": %d}}' % (INT_VARIABLE.encode(), n), 400, "BAD_USER_INPUT")
      for n in BIG[3:]),
    ("variable 1e308", op(INT_VARIABLE, {"v": 1e308}), 400, "BAD_USER_INPUT"),
    ("variable -2**63", op(INT_VARIABLE, {"v": -2**63}), 400, "BAD_USER_INPUT"),
    # Found by the fuzzer: a cost past 64 bits crashed the refusal's own encoding (plain-text 500).
    ("a cost past 64 bits", op("{ %s }" % COSTLY), 400, "QUERY_TOO_COMPLEX"),
]
# Its figure, past what a 64-bit reader holds: written as a decimal string (gql/ops/encoding.py).
COSTLY_FIGURE = "18446744073709551616"

# (type, query with $v, wrong values): every scalar and kind given JSON of another type.
WRONG_TYPES: list[tuple[str, str, list[Any]]] = [
    ("ID", "query($v: ID!) { node(id: $v) { id } }", [True, 1.5, {}, [], None]),
    ("String", "query($v: String!) { search(query: $v) { totalCount } }", [1, True, 1.5, {}, ["a"], None]),
    ("Int", INT_VARIABLE, ["1", 1.5, True, {}, [1, 2]]),
    ("Boolean", "query($v: Boolean!) { __typename @include(if: $v) }", ["true", 0, 1, {}, [True], None]),
    ("Date", "mutation($v: Date!) { applyToStarsProgram(input: {dateOfBirth: $v, motivation: \"\", weeklyMinutes: 1})"
             " { userErrors { code } } }", [19900101, True, {}, ["1990-01-01"], "not a date", ""]),
    ("DateTime", "mutation($v: DateTime!) { createAnnouncement(input: {title: \"t\", body: \"b\", publishedAt: $v})"
                 " { userErrors { code } } }", [1700000000, True, {}, "yesterday", ""]),
    ("enum", "query($v: [SearchType!]) { search(query: \"a\", types: $v) { totalCount } }",
     ["post", "BOGUS", 1, {}, [None]]),
    ("input object", CREATE_POST, ["a post", 1, [], True, {"board": "general"}, {"unknown": 1, **post_input()}]),
    ("list", "query($v: [ID!]!) { nodes(ids: $v) { id } }", [{}, [None], [[["x"]]], True]),
]

# (id, body): U+0000 in a string argument, literal or variable. Found by this catalogue: PostgreSQL's
# text refuses it (INTERNAL_SERVER_ERROR from every filter, lookup and write) where SQLite stored it;
# now refused before anything runs, on both: 400 BAD_USER_INPUT naming the argument.
NUL = [
    ("NUL in a post title", op(CREATE_POST, {"i": post_input(title="ab\x00cdefg")}), "member"),
    ("NUL in a post body", op(CREATE_POST, {"i": post_input(body="a\x00b")}), "member"),
    ("NUL in a tag", op(CREATE_POST, {"i": post_input(tags=["a\x00"])}), "member"),
    ("NUL in a login handle", op(LOGIN, {"i": {"handle": "a\x00b", "password": "x\x00" * 6}}), "anonymous"),
    ("NUL in a register handle", op(REGISTER, {"i": {"handle": "ab\x00cd", "password": "x" * 12}}), "anonymous"),
    *((f"NUL escaped in a literal: {query}", op(query), "anonymous") for query in (
        '{ search(query: "a\\u0000b") { totalCount } }', '{ posts(tag: "a\\u0000b") { totalCount } }',
        '{ posts(author: "a\\u0000b") { totalCount } }', '{ faqs(query: "a\\u0000b") { totalCount } }',
        '{ post(slug: "a\\u0000b") { id } }', '{ posts(after: "a\\u0000b") { totalCount } }')),
]

# (id, query, status, code): enum values that do not exist, as literals and variables.
ENUMS = [
    ("unknown enum literal", '{ search(query: "a", types: [BOGUS]) { totalCount } }', 400, "GRAPHQL_VALIDATION_FAILED"),
    ("enum as a string literal", '{ search(query: "a", types: ["POST"]) { totalCount } }', 400,
     "GRAPHQL_VALIDATION_FAILED"),
    ("lower-case enum literal", '{ search(query: "a", types: [post]) { totalCount } }', 400, "GRAPHQL_VALIDATION_FAILED"),
]


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


# (id, argument value): cursors that are not ours; each is BAD_USER_INPUT, before any SQL.
CURSORS = ["garbage", "", "=", b64(b"\xff\xfe\x00"), b64(b"{}"), b64(b'{"v": 999, "o": "x", "k": []}'),
           b64(b'{"v": 1, "o": "new", "k": [99999999999999999999999]}'), b64(b"[]" * 100), "a" * 10_000]
# Global IDs that are not ours: BAD_USER_INPUT with `argument`, and `node` null; no SQL reads them.
GLOBAL_IDS = ["garbage", "", b64(b"Post:"), b64(b"Post:abc"), b64(b"Post:-1"), b64(b"Post:1.5"),
              b64(b"Post:99999999999999999999999"), b64(b"Post:9223372036854775808"), b64(b"Nope:1"),
              b64(b"\xff:1"), b64(b"Post:1\x00"), b64(b":::"), "x" * 5000]

# Dates a client may send that no calendar has: refused by the scalar (BAD_USER_INPUT, status 400).
BAD_DATES = ["0000-01-01", "10000-01-01", "2023-02-31", "2023-13-01", "2023-00-10", "-0001-01-01", "1990-1-1"]
BAD_DATETIMES = ["0000-01-01T00:00:00+00:00", "10000-01-01T00:00:00+00:00", "2023-02-31T00:00:00+00:00",
                 "2023-01-01T24:00:01+00:00", "2023-01-01T00:00:00+25:00"]


def cases() -> list[Case]:
    table: list[Case] = []
    for name, query, value, code, who in BOUNDS_PAST:
        table.append(Case(name, op(query, {"i": value}), 200, code, who, user_error=True))
    for name, query, bound, code in FILTERS:
        table.append(Case(f"{name} {bound}", op(query % ("x" * bound)), 200, None))
        table.append(Case(f"{name} {bound + 1}", op(query % past(bound)), 200, code))
    for name, raw, status, code in RAW:
        table.append(Case(name, raw, status, code))
    for name, body, status, code in NUMBERS:
        expect = ((("errors", 0, "extensions", "value"), COSTLY_FIGURE),) if code == "QUERY_TOO_COMPLEX" else ()
        table.append(Case(name, body, status, code, expect=expect))
    for type_name, query, values in WRONG_TYPES:
        for value in values:
            who = "admin" if query.startswith("mutation") else "anonymous"
            table.append(Case(f"{type_name} given {orjson.dumps(value).decode()[:30]}", op(query, {"v": value}),
                              400, "BAD_USER_INPUT", who))
    for name, body, who in NUL:
        table.append(Case(name, body, 400, "BAD_USER_INPUT", who))
    for name, query, status, code in ENUMS:
        table.append(Case(name, op(query), status, code))
    for cursor in CURSORS:
        table.append(Case(f"cursor {cursor[:24]!r}", op("query($c: String) { posts(first: 2, after: $c) { totalCount } }",
                                                      {"c": cursor}), 200, "BAD_USER_INPUT"))
    for global_id in GLOBAL_IDS:
        table.append(Case(f"global ID {global_id[:24]!r}", op("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}),
                          200, "BAD_USER_INPUT", expect=((("data", "node"), None),)))
    # Well formed, naming nothing: null without an error, as for a row the caller may not see.
    table.append(Case("global ID of no row", op("query($id: ID!) { node(id: $id) { id } }", {"id": b64(b"Post:987654321")}),
                      200, None, expect=((("data", "node"), None),)))
    for day in BAD_DATES:
        table.append(Case(f"Date {day}", op(APPLY, {"i": apply_input(dateOfBirth=day)}), 400, "BAD_USER_INPUT", "member"))
    for moment in BAD_DATETIMES:
        table.append(Case(f"DateTime {moment}", op(ANNOUNCE, {"i": {"title": "A title", "body": "b", "publishedAt": moment}}),
                          400, "BAD_USER_INPUT", "admin"))
    return table


CASES = cases()


# --- Fixtures ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tokens(db: str) -> dict[str, str | None]:
    member = await make_user("badinput")
    admin = await make_user("badinput_admin", Role.ADMIN)
    return {"anonymous": None, "member": await token_for(member), "admin": await token_for(admin)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def post_id(module_client: GraphQLClient) -> str:
    data = await module_client.query("{ posts(first: 1) { nodes { id } } }")
    return str(data["posts"]["nodes"][0]["id"])


def _dig(answer: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        answer = answer[step]
    return answer


def _codes(answer: dict[str, Any], user_error: bool) -> list[str | None]:
    if not user_error:
        return [(error.get("extensions") or {}).get("code") for error in answer.get("errors") or []]
    payload = next(iter((answer.get("data") or {}).values()), None) or {}
    return [error["code"] for error in payload.get("userErrors") or []]


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_bad_input_is_refused_and_changes_nothing(case: Case, module_client: GraphQLClient,
                                                       tokens: dict[str, str | None], post_id: str) -> None:
    headers = {"Content-Type": "application/json"}
    token = tokens[case.who]
    if token:
        headers["Authorization"] = f"Bearer {token}"
    raw = case.body if isinstance(case.body, bytes) else orjson.dumps(case.body).replace(POST_ID.encode(), post_id.encode())
    before = await fingerprint()
    response = await module_client.http.post("/graphql", content=raw, headers=headers)
    after = await fingerprint()
    assert response.headers["content-type"].startswith("application/json"), response.text[:300]
    answer = orjson.loads(response.content)
    codes = _codes(answer, case.user_error)
    assert response.status_code == case.status, answer
    # The case's code among those answered (a userError may come with others: eligibility, say).
    assert case.code in codes if case.code is not None else codes == [], answer
    for path, value in case.expect:
        assert _dig(answer, path) == value, answer
    assert after == before, [table for table in before if before[table] != after.get(table)]


@pytest.mark.only_on("sqlite")
async def test_the_standard_introspection_query_is_admitted_in_development(module_client: GraphQLClient) -> None:
    """Found by schemathesis, which could not load the schema: the introspection query GraphiQL,
    codegen and the fuzzers send (nine nested `ofType`) was refused by MAX_DEPTH (depth 13 > 12)."""
    from graphql import get_introspection_query

    data = await module_client.query(get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert data["__schema"]["queryType"]["name"] == "Query"
    # A circular one (`fields { type { fields { type ... } } }`) is still refused, by graphql-core's
    # introspection depth rule (validation): no `ofType` was needed to refuse it.
    circular = "{ __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }"
    [error] = await module_client.errors(circular)
    assert (error["message"], error["extensions"]["code"]) == ("Maximum introspection depth exceeded",
                                                               "GRAPHQL_VALIDATION_FAILED"), error


@pytest.mark.only_on("sqlite")
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_log_record_quoting_what_json_cannot_hold_is_one_line(log_format: str) -> None:
    """A lone surrogate and an int past 64 bits in a record (as an exception message or a request's
    figures may quote them): one line, in either format, written whole (never an error in logging)."""
    import logging

    from gql.ops.logs import formatter

    record = logging.makeLogRecord({"name": "gql.errors", "levelname": "ERROR", "msg": "refused %r and %s",
                                     "args": ("a\ud800b", 2**70), "cost": 2**70, "value": "\udc00"})
    line = formatter(log_format).format(record)
    assert "\n" not in line and line.encode("utf-8")  # encodable: no surrogate left raw
    if log_format == "json":
        entry = orjson.loads(line)
        assert (entry["cost"], entry["value"]) == (str(2**70), "\\udc00")
        assert entry["message"] == f"refused 'a\\ud800b' and {2**70}"


# --- Stored and returned byte for byte ---------------------------------------------------------------

STORED_TEXT = [
    ("script", "<script>alert('x')</script> <img src=x onerror=alert(1)>"),
    ("SQL", "'; DROP TABLE posts; -- \" OR 1=1 --"),
    ("LIKE wildcards", "100% of _all_ \\ backslashes \\\\ and %_%"),
    ("quotes and unicode", "“quoted” 'single' `back` — émoji 🎵 RTL \u202e mixed \u00a0 nbsp"),
    ("at the title bound", "t" * 200),
    ("at the body bound", "b" * 9_999),  # the body is the text twice and a blank line: 20,000
]


@pytest.mark.parametrize("name,text", STORED_TEXT, ids=[name for name, _ in STORED_TEXT])
async def test_text_is_stored_and_returned_byte_for_byte(name: str, text: str, module_client: GraphQLClient,
                                                         tokens: dict[str, str | None],
                                                         leave_queues_as_found: None) -> None:
    title = text[:200] if len(text) >= 5 else text + "....."
    body = text + "\n\n" + text
    before = await fingerprint()
    created = await module_client.query(CREATE_POST, {"i": post_input(title=title, body=body)}, token=tokens["member"])
    payload = created["createPost"]
    assert payload["userErrors"] == [] and (payload["post"]["title"], payload["post"]["body"]) == (title, body)
    read = await module_client.query("query($id: ID!) { node(id: $id) { ... on Post { title body } } }",
                                     {"id": payload["post"]["id"]}, token=tokens["member"])
    assert read["node"] == {"title": title, "body": body}
    after = await fingerprint()
    # Exactly one post more (and what a post brings with it: its counters), nothing else touched.
    changed = {table for table in before if before[table] != after[table]}
    assert "posts" in changed and after["posts"][0] == before["posts"][0] + 1, changed


@pytest.mark.parametrize("text", ["%", "_", "\\", "%_", "\\%", "_%_"])
async def test_wildcards_in_filters_match_themselves(text: str, module_client: GraphQLClient) -> None:
    """LIKE metacharacters are data: a filter or search for them finds nothing in the seed."""
    data = await module_client.query("query($q: String!) { search(query: $q) { totalCount } "
                                     "posts(tag: $q) { totalCount } faqs(query: $q) { totalCount } }", {"q": text})
    assert (data["posts"]["totalCount"], data["faqs"]["totalCount"]) == (0, 0)


# --- Time zones: accepted, each stored as the UTC moment it names -----------------------------------

TIME_ZONES = [
    ("Z", "2030-06-01T12:00:00Z", datetime(2030, 6, 1, 12, tzinfo=timezone.utc)),
    ("no offset", "2030-06-01T12:00:00", datetime(2030, 6, 1, 12, tzinfo=timezone.utc)),  # UTC, as the scalar says
    ("+14:00", "2030-06-01T12:00:00+14:00", datetime(2030, 5, 31, 22, tzinfo=timezone.utc)),
    ("-12:00", "2030-06-01T12:00:00-12:00", datetime(2030, 6, 2, 0, tzinfo=timezone.utc)),
]


@pytest.mark.parametrize("name,sent,moment", TIME_ZONES, ids=[name for name, *_ in TIME_ZONES])
async def test_time_zone_offsets_name_one_moment(name: str, sent: str, moment: datetime, module_client: GraphQLClient,
                                                 tokens: dict[str, str | None]) -> None:
    from models.announcements import Announcement

    data = await module_client.query(ANNOUNCE, {"i": {"title": f"Zone {name}", "body": "b", "publishedAt": sent}},
                                     token=tokens["admin"])
    assert data["createAnnouncement"]["userErrors"] == []
    stored = await Announcement.get(title=f"Zone {name}")
    try:
        assert stored.published_at == moment  # aware datetimes: equal when they name the same instant
    finally:
        await stored.delete()


# --- The WebSocket reads JSON as HTTP does -----------------------------------------------------------

SUBSCRIBE = '{"id": "b", "type": "subscribe", "payload": {"query": "%s", "variables": {"v": %s}}}'
# Messages a stdlib JSON reader took (Strawberry's default) but JSON does not have: the socket closes 4400.
NOT_JSON_OVER_WS = [SUBSCRIBE % (INT_VARIABLE, "NaN"), SUBSCRIBE % (INT_VARIABLE, "1e400"),
                    SUBSCRIBE % (INT_VARIABLE, "-Infinity"), SUBSCRIBE % ("{ __typename }", '"\\ud800"')]


@pytest.mark.slow
@pytest.mark.only_on("sqlite")
async def test_the_websocket_refuses_what_http_refuses(db: str, db_url: str) -> None:
    from tests.live_server import live_server
    from tests.ws_client import acknowledged, close_code, next_message

    with live_server(db_url, RATE_LIMIT_ENABLED="false") as base:
        for message in NOT_JSON_OVER_WS:
            async with acknowledged(base, None) as socket:
                await socket.send(message)
                assert await close_code(socket) == 4400, message
        async with acknowledged(base, None) as socket:
            # A number past 64 bits is read as a float and refused by Int; the socket stays open.
            await socket.send(SUBSCRIBE % (INT_VARIABLE, str(2**70)))
            refused = await next_message(socket)
            # Refused as execution starts: the protocol's `error` (a `next` with `data: null` until found
            # here), as over HTTP a 400 without `data`.
            assert (refused["type"], refused["payload"][0]["extensions"]["code"]) == ("error", "BAD_USER_INPUT"), refused
            # The refusal of a cost past 64 bits encodes (the figure as a decimal string).
            await socket.send(orjson.dumps({"id": "c", "type": "subscribe", "payload": {"query": "{ %s }" % COSTLY}}).decode())
            refused = await next_message(socket)
            extensions = refused["payload"][0]["extensions"]
            assert (extensions["code"], extensions["value"]) == ("QUERY_TOO_COMPLEX", COSTLY_FIGURE), refused
