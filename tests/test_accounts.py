"""register, login, revokeToken and the viewer over HTTP."""

from __future__ import annotations

import pytest

from models.accounts import AccessToken, User
from tests.support import GraphQLClient, count_sql

REGISTER = """mutation($input: RegisterInput!) {
  register(input: $input) { token user { handle displayName role } userErrors { field message code } clientMutationId }
}"""
LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { token user { handle } userErrors { field message code } }
}"""
VIEWER = "{ viewer { isAuthenticated role capabilities user { handle } tokens { id scope label } } }"
REVOKE = "mutation($input: RevokeTokenInput!) { revokeToken(input: $input) { revokedTokenId userErrors { code message } } }"


async def test_register_signs_in_and_the_token_works(client: GraphQLClient) -> None:
    data = await client.query(REGISTER, {"input": {
        "handle": "Acc_Alice", "password": "correct horse battery", "email": "alice@example.com",
        "displayName": "Alice", "clientMutationId": "r1"}})
    payload = data["register"]
    assert payload["userErrors"] == [] and payload["clientMutationId"] == "r1"
    assert payload["user"] == {"handle": "acc_alice", "displayName": "Alice", "role": "MEMBER"}
    token = payload["token"]
    assert token.startswith("cht_") and len(token) > 40
    stored = await AccessToken.filter(user__handle="acc_alice").first()
    assert stored is not None and token not in stored.token_hash  # only the digest is kept

    viewer = (await client.query(VIEWER, token=token))["viewer"]
    assert viewer["isAuthenticated"] and viewer["role"] == "MEMBER"
    assert viewer["user"] == {"handle": "acc_alice"}
    assert "POST" in viewer["capabilities"] and "MODERATE" not in viewer["capabilities"]


@pytest.mark.parametrize(
    ("override", "field", "code"),
    [
        ({"handle": "x"}, "handle", "INVALID"),
        ({"handle": "bad handle!"}, "handle", "INVALID"),
        ({"password": "short"}, "password", "INVALID"),
        ({"email": "not-an-email"}, "email", "INVALID"),
        ({"displayName": "   "}, "displayName", "BLANK"),
        ({"displayName": "d" * 81}, "displayName", "TOO_LONG"),
    ],
)
async def test_register_refuses_bad_input_and_creates_nothing(
    client: GraphQLClient, override: dict, field: str, code: str
) -> None:
    good = {"handle": "acc_refused", "password": "long enough password", "email": "refused@example.com"}
    before = await User.all().count()
    payload = (await client.query(REGISTER, {"input": {**good, **override}}))["register"]
    assert payload["token"] is None and payload["user"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", field], code)]
    assert await User.all().count() == before


async def test_register_refuses_a_taken_handle_case_insensitively(client: GraphQLClient) -> None:
    first = {"handle": "acc_bob", "password": "long enough password"}
    assert (await client.query(REGISTER, {"input": first}))["register"]["userErrors"] == []
    again = (await client.query(REGISTER, {"input": {**first, "handle": "ACC_BOB"}}))["register"]
    assert again["userErrors"][0]["code"] == "TAKEN"
    assert await User.filter(handle="acc_bob").count() == 1


async def test_login_issues_a_new_token_and_refuses_wrong_passwords(client: GraphQLClient) -> None:
    await client.query(REGISTER, {"input": {"handle": "acc_carol", "password": "carols password"}})
    ok = (await client.query(LOGIN, {"input": {"handle": "acc_carol", "password": "carols password"}}))["login"]
    assert ok["token"] and ok["user"] == {"handle": "acc_carol"}
    for handle, password in (("acc_carol", "wrong password"), ("nobody_here", "carols password")):
        bad = (await client.query(LOGIN, {"input": {"handle": handle, "password": password}}))["login"]
        assert bad["token"] is None
        assert bad["userErrors"] == [{"field": None, "message": "Wrong handle or password", "code": "INVALID_CREDENTIALS"}]


async def test_revoked_token_no_longer_signs_in(client: GraphQLClient) -> None:
    token = (await client.query(REGISTER, {"input": {"handle": "acc_dave", "password": "daves password"}}))["register"]["token"]
    revoked = (await client.query(REVOKE, {"input": {}}, token=token))["revokeToken"]
    assert revoked["userErrors"] == [] and revoked["revokedTokenId"]
    for query, variables in ((VIEWER, None), (REVOKE, {"input": {}})):
        response = await client.post(query, variables, token=token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_token_is_refused_not_treated_as_anonymous(client: GraphQLClient) -> None:
    response = await client.post(VIEWER, token="cht_made-up")
    assert response.status_code == 401
    assert "data" not in response.json()


async def test_cannot_revoke_someone_elses_token(client: GraphQLClient) -> None:
    mine = (await client.query(REGISTER, {"input": {"handle": "acc_erin", "password": "erins password"}}))["register"]["token"]
    theirs = (await client.query(REGISTER, {"input": {"handle": "acc_frank", "password": "franks password"}}))["register"]["token"]
    their_id = (await client.query(VIEWER, token=theirs))["viewer"]["tokens"][0]["id"]
    refused = (await client.query(REVOKE, {"input": {"tokenId": their_id}}, token=mine))["revokeToken"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await client.query(VIEWER, token=theirs))["viewer"]["isAuthenticated"] is True


async def test_read_only_token_has_no_capabilities(client: GraphQLClient) -> None:
    await client.query(REGISTER, {"input": {"handle": "acc_gina", "password": "ginas password"}})
    read = (await client.query(LOGIN, {"input": {"handle": "acc_gina", "password": "ginas password", "scope": "READ"}}))["login"]["token"]
    viewer = (await client.query(VIEWER, token=read))["viewer"]
    assert viewer["isAuthenticated"] and viewer["capabilities"] == []


async def test_a_token_costs_one_statement_per_request(client: GraphQLClient) -> None:
    token = (await client.query(REGISTER, {"input": {"handle": "acc_hal", "password": "hals password!"}}))["register"]["token"]
    with count_sql() as sql:
        await client.query("{ viewer { user { handle } } }", token=token)
    assert sql.count == 1
