"""`register` and `login` do not tell which accounts exist beyond what they must.

Issue 9: `register` said "That email is already registered" before validating anything else, and
`login` for an account without a password answered in 3 ms instead of 165 ms. Now uniqueness is
told only about an otherwise valid registration, and only after the password is hashed, as for a
free one; every refused login gets the same answer after exactly one argon2 verification. Work is
counted (argon2 calls), not timed: timing is a poor witness on a shared machine.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

import pytest
from argon2 import PasswordHasher

from models import accounts
from models.accounts import User
from tests.factories import make_user
from tests.support import GraphQLClient

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { token userErrors { field message code } } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { token user { handle } userErrors { field message code } } }"
PASSWORD = "enumeration password"


class CountingHasher(PasswordHasher):
    """The app's argon2 hasher, counting the hashes and verifications it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def hash(self, password: str | bytes, **kwargs: Any) -> str:
        self.calls["hash"] += 1
        return super().hash(password, **kwargs)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls["verify"] += 1
        return super().verify(hash, password)


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", hasher)
    yield hasher.calls


async def register(client: GraphQLClient, **input: str) -> dict[str, Any]:
    return (await client.query(REGISTER, {"input": input}))["register"]


@pytest.fixture
async def existing(client: GraphQLClient) -> dict[str, str]:
    """A registered account: its handle and e-mail are taken."""
    taken = {"handle": "enum_taken", "email": "enum.taken@example.com"}
    if not await User.filter(handle=taken["handle"]).exists():
        assert (await register(client, **taken, password=PASSWORD))["userErrors"] == []
    return taken


INVALID_FIELDS = {
    "password": ({"password": "short"}, "INVALID"),
    "displayName": ({"displayName": " "}, "BLANK"),
    "handle": ({"handle": "no spaces allowed"}, "INVALID"),
    "email": ({"email": "not-an-email"}, "INVALID"),
}


@pytest.mark.parametrize(("taken_field", "invalid_field"), [
    (taken, invalid) for taken in ("handle", "email") for invalid in INVALID_FIELDS if invalid != taken])
async def test_register_tells_nothing_about_taken_values_while_another_field_is_invalid(
    client: GraphQLClient, existing: dict[str, str], taken_field: str, invalid_field: str
) -> None:
    fresh = {"handle": "enum_fresh", "email": "enum.fresh@example.com", "password": PASSWORD}
    override, code = INVALID_FIELDS[invalid_field]
    with_taken = await register(client, **{**fresh, taken_field: existing[taken_field], **override})
    with_free = await register(client, **{**fresh, **override})
    assert with_taken == with_free  # the same answer, whether the value is taken or free
    assert [(error["field"], error["code"]) for error in with_taken["userErrors"]] == [(["input", invalid_field], code)]


async def test_register_hashes_the_password_whether_the_email_is_taken_or_free(
    client: GraphQLClient, existing: dict[str, str], argon2_calls: Counter[str]
) -> None:
    taken = await register(client, handle="enum_second", email=existing["email"], password=PASSWORD)
    assert [error["code"] for error in taken["userErrors"]] == ["TAKEN"]
    assert argon2_calls == {"hash": 1}
    argon2_calls.clear()
    free = await register(client, handle="enum_second", email="enum.second@example.com", password=PASSWORD)
    assert free["userErrors"] == [] and argon2_calls == {"hash": 1}


async def test_register_reports_both_taken_values_at_once(client: GraphQLClient, existing: dict[str, str]) -> None:
    again = await register(client, **existing, password=PASSWORD)
    assert [(error["field"], error["code"]) for error in again["userErrors"]] == [
        (["input", "handle"], "TAKEN"), (["input", "email"], "TAKEN")]


async def _login_cases() -> dict[str, dict[str, str]]:
    """Every way a login can fail, each on its own account so that none depends on another."""
    with_password = await make_user("enum_login")
    with_password.password_hash = accounts.hash_password(PASSWORD)
    await with_password.save()
    without_password = await make_user("enum_nopass")  # members seeded without a password, say
    return {
        "unknown handle": {"handle": "enum_nobody_here", "password": PASSWORD},
        "wrong password": {"handle": with_password.handle, "password": "not the password"},
        "account without a password": {"handle": without_password.handle, "password": PASSWORD},
        "account without a password, empty password": {"handle": without_password.handle, "password": ""},
        "over-long handle": {"handle": with_password.handle + "x" * 100, "password": PASSWORD},
        "over-long password": {"handle": with_password.handle, "password": PASSWORD + "x" * 500},
        "a handle one character off": {"handle": with_password.handle + "_", "password": PASSWORD},
    }


async def test_every_failed_login_answers_the_same_after_one_verification(
    client: GraphQLClient, argon2_calls: Counter[str]
) -> None:
    cases = await _login_cases()
    answers = {}
    for name, credentials in cases.items():
        argon2_calls.clear()
        answers[name] = (await client.query(LOGIN, {"input": credentials}))["login"]
        assert argon2_calls == {"verify": 1}, name
    expected = {"token": None, "user": None,
                "userErrors": [{"field": None, "message": "Wrong handle or password", "code": "INVALID_CREDENTIALS"}]}
    assert answers == dict.fromkeys(cases, expected)


async def test_a_right_login_also_costs_one_verification(client: GraphQLClient, argon2_calls: Counter[str]) -> None:
    cases = await _login_cases()
    handle = cases["wrong password"]["handle"]
    argon2_calls.clear()
    ok = (await client.query(LOGIN, {"input": {"handle": f"  {handle.upper()} ", "password": PASSWORD}}))["login"]
    assert ok["token"] and ok["user"] == {"handle": handle}
    assert argon2_calls == {"verify": 1}
