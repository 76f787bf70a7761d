"""Fuzzing over real HTTP: schemathesis and hypothesis-graphql against a live development server.

The server (development profile, seeded) runs on a throwaway database of this module's own (a copy
of the session's SQLite file, or a PostgreSQL database that `community-api serve` migrates and
seeds, dropped afterwards): the fuzzed mutations write into it, not into the session's. Both fuzzers read the schema by introspection, as a client
would. Every answer must be sound (`assert_sound`): never a 5xx, always a JSON object, every error
coded and none INTERNAL_SERVER_ERROR, `data` only next to errors that carry a `path` (a request
error answers 400 and no `data`; an execution error, 200 with its path). Fixed seeds
(`derandomize`) and bounded examples keep a run repeatable and short; a finding's regression test
goes in tests/test_bad_input.py.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import AsyncIterator, Callable

import asyncpg
import httpx
import hypothesis_graphql
import orjson
import pytest
import pytest_asyncio
import requests
import schemathesis
from graphql import GraphQLSchema
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis_graphql import nodes
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup

from models.seed.content import DEMO_PASSWORD
from tests.conftest import BACKEND, _admin_dsn
from tests.live_server import free_port, serving_process

pytestmark = pytest.mark.slow

# Documents per hypothesis-graphql test: the SQLite pass fuzzes fully; the PostgreSQL pass a smaller
# part, for what only its dialect refuses (its text refused U+0000: see tests/test_bad_input.py).
DOCUMENTS = 60 if BACKEND == "sqlite" else 25
# Codes an execution error may carry: a refusal the API means (anything but an unexpected failure).
UNEXPECTED = {"INTERNAL_SERVER_ERROR", None}
JSON_TYPES = ("application/json", "application/graphql-response+json")

# The schema's own scalars, generated as a client would send them (ISO 8601; DateTime with an offset).
SCALARS = {
    "Date": st.dates().map(lambda day: nodes.String(day.isoformat())),
    "DateTime": st.datetimes(timezones=st.just(timezone.utc)).map(lambda moment: nodes.String(moment.isoformat())),
}
for _name, _strategy in SCALARS.items():
    schemathesis.graphql.scalar(_name, _strategy)


def fuzz_settings(examples: int) -> settings:
    """Repeatable (a fixed seed: `derandomize`) and bounded; no example database left behind."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])


def assert_sound(status: int, content_type: str, body: bytes, sent: object) -> None:
    """What every answer must be, whatever was sent (see the module's docstring)."""
    assert status < 500, (status, body[:2000], sent)
    assert content_type.split(";")[0].strip() in JSON_TYPES, (status, content_type, body[:500], sent)
    answer = orjson.loads(body)
    assert isinstance(answer, dict), (answer, sent)
    errors = answer.get("errors") or []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and code not in UNEXPECTED, (error, sent)
    if "data" in answer:
        assert status == 200, (status, answer, sent)
        assert all(error.get("path") for error in errors), (answer, sent)
    else:
        assert status >= 400 and errors, (status, answer, sent)
        assert not any(error.get("path") for error in errors), (answer, sent)


@dataclass
class FuzzServer:
    url: str
    admin_token: str
    schema: GraphQLSchema
    log: Path

    def headers(self, signed_in: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"} if signed_in else {}


async def throwaway_database(db_url: str, tmp: Path) -> AsyncIterator[tuple[str, bool]]:
    """A database for this module alone, and whether it still needs migrating and seeding.

    SQLite: a copy of the session's (migrated and seeded), made with SQLite's backup API in a
    moment. PostgreSQL: an empty database, dropped afterwards (a template copy would need the
    session's connections closed)."""
    if BACKEND == "sqlite":
        copy = tmp / "fuzz.sqlite3"
        with sqlite3.connect(db_url.removeprefix("sqlite://")) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        yield f"sqlite://{copy}", False
        return
    base = os.environ["TEST_POSTGRES_URL"]
    name = f"community_api_fuzz_{os.getpid()}"
    admin = await asyncpg.connect(_admin_dsn(base), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.rsplit("/", 1)[0] + f"/{name}", True
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(db: str, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FuzzServer]:
    """A development server on the module's database, and a token of its demo administrator."""
    tmp = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    log = tmp / "server.log"
    async for url, empty in throwaway_database(db_url, tmp):
        env = {**os.environ, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port), "APP_ENV": "development",
               "SEED_ON_START": "true", "RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning"}
        # `serve` migrates and seeds first; a copy of the session's database needs neither.
        command = [sys.executable, "-c", "import sys, gql.cli; sys.exit(gql.cli.main(['serve']))"] if empty else \
            [sys.executable, "-m", "uvicorn", "gql.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        with log.open("wb") as stderr, serving_process(command, port, env, stderr=stderr):
            base = f"http://127.0.0.1:{port}/graphql"
            login = httpx.post(base, json={"query": "mutation($p: String!) { login(input: {handle: \"demo_admin\", "
                                                    "password: $p}) { token } }", "variables": {"p": DEMO_PASSWORD}})
            token = login.json()["data"]["login"]["token"]
            assert token, login.text
            yield FuzzServer(base, token, schemathesis.graphql.from_url(base).client_schema, log)


def _with_log(server: FuzzServer, failures: list[str]) -> str:
    """The failures, and what the server logged (a 5xx's traceback)."""
    return "\n\n".join(failures) + "\n\nserver log:\n" + server.log.read_text(errors="replace")[-6000:]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_schemathesis_finds_no_server_error(server: FuzzServer, signed_in: bool) -> None:
    """Every root field, queries and mutations, with arguments schemathesis generates from the
    introspected schema. Its `not_a_server_error` counts every execution error as a server error;
    ours are coded refusals by design (UNAUTHENTICATED, NOT_FOUND, BAD_USER_INPUT...), so a failure
    of that check counts only when `assert_sound` also refuses the answer."""
    schema = schemathesis.graphql.from_url(server.url, headers=server.headers(signed_in))
    session = requests.Session()
    session.headers.update(server.headers(signed_in))
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # every root field of Query and Mutation
    for operation in operations:
        @given(case=operation.as_strategy())
        @fuzz_settings(examples=2)
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(session=session)
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except (Failure, FailureGroup):
                # schemathesis's Response lists each header's values.
                content_type = (response.headers.get("content-type") or [""])[0]
                assert_sound(response.status_code, content_type, response.content, case.body)

        try:
            fuzz()
        except (AssertionError, FailureGroup) as failure:
            failures.append(f"{operation.label}: {failure}")
    assert not failures, _with_log(server, failures)


def _send(server: FuzzServer, http: httpx.Client, document: str) -> None:
    response = http.post(server.url, json={"query": document})
    assert_sound(response.status_code, response.headers.get("content-type", ""), response.content, document)


@pytest.mark.parametrize("mode", [hypothesis_graphql.Mode.POSITIVE, hypothesis_graphql.Mode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_generated_queries_get_sound_answers(server: FuzzServer, mode: hypothesis_graphql.Mode) -> None:
    """Whole query documents from the schema (several root fields, nested selections, every
    argument): valid ones, and invalid ones (wrong types, missing required arguments)."""
    run(server, hypothesis_graphql.queries(server.schema, custom_scalars=SCALARS, mode=mode), signed_in=False)


def test_generated_mutations_get_sound_answers(server: FuzzServer) -> None:
    """Mutations as an administrator (every mutation is allowed to run), on the module's database."""
    run(server, hypothesis_graphql.mutations(server.schema, custom_scalars=SCALARS), signed_in=True)


def run(server: FuzzServer, documents: st.SearchStrategy[str], *, signed_in: bool, examples: int = DOCUMENTS) -> None:
    with httpx.Client(headers=server.headers(signed_in), timeout=30) as http:
        fuzz: Callable[[], None] = fuzz_settings(examples)(given(document=documents)(
            lambda document: _send(server, http, document)))
        try:
            fuzz()
        except AssertionError as failure:
            pytest.fail(_with_log(server, [str(failure)]))
