"""Accounts: register and sign in (open to anyone: they act for no one yet), and revoke a token."""

from __future__ import annotations

import strawberry

from gql.accounts.types import TokenScope, User
from gql.core.context import Info
from gql.core.mutations import MutationPayload, mutate, perform
from gql.core.refreshes import RefreshesViewer
from gql.core.relay import global_id_of, pk_of
from gql.live import events
from gql.permissions import SignedIn
from models import accounts as rules


@strawberry.input(description="A new account.")
class RegisterInput:
    handle: str = strawberry.field(description="3–30 characters: letters, digits, underscores.")
    password: str = strawberry.field(description="10–200 characters.")
    email: str | None = strawberry.field(default=None, description="Optional; unique when given (at most 254 characters).")
    display_name: str | None = strawberry.field(default=None, description="Defaults to the handle.")
    client_mutation_id: str | None = None


@strawberry.input(description="A handle and password to exchange for a bearer token.")
class LoginInput:
    handle: str = strawberry.field(description="The account's handle (case does not matter).")
    password: str = strawberry.field(description="The account's password.")
    scope: TokenScope = strawberry.field(default=TokenScope.FULL, description=(
        "FULL (the default) may write; READ only reads, for a partner dashboard."))
    label: str = strawberry.field(default="", description="Where the token is used, to recognise it later (at most 80 characters).")
    client_mutation_id: str | None = None


@strawberry.input(description="Which token to revoke.")
class RevokeTokenInput:
    token_id: strawberry.ID | None = strawberry.field(
        default=None, description="The token to revoke; the one sending this request when omitted."
    )
    client_mutation_id: str | None = None


@strawberry.type(description="The result of `register` or `login`.")
class AuthPayload(MutationPayload):
    token: str | None = strawberry.field(default=None, description="Bearer token; shown only this once.")
    user: rules.User | None = strawberry.field(default=None, graphql_type=User | None,
                                               description="The signed-in user; null on userErrors.")


@strawberry.type(description="The result of `revokeToken`.")
class RevokeTokenPayload(MutationPayload, RefreshesViewer):
    revoked_token_id: strawberry.ID | None = strawberry.field(default=None, description=(
        "The revoked token's ID (an AccessToken); null on userErrors."))


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create an account and sign in: returns a bearer token.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        async def register() -> AuthPayload:
            user = await rules.register(input.handle, input.password, input.email, input.display_name)
            return AuthPayload(user=user, token=await rules.issue_token(user, label="register"))

        return await perform(AuthPayload, input, register)

    @strawberry.mutation(description="Exchange a handle and password for a bearer token.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        async def login() -> AuthPayload:
            label = rules.checked_token_label(input.label)
            user = await rules.authenticate(input.handle, input.password)
            return AuthPayload(user=user, token=await rules.issue_token(user, input.scope, label))

        return await perform(AuthPayload, input, login)

    # No capability: a read-only or suspended user may still revoke a token; revoking never harms.
    @strawberry.mutation(description="Revoke one of your tokens (by default the one in use).",
                         permission_classes=[SignedIn])
    async def revoke_token(self, info: Info, input: RevokeTokenInput) -> RevokeTokenPayload:
        context = info.context

        async def revoke(viewer: rules.User) -> RevokeTokenPayload:
            if input.token_id is not None:
                token_pk = pk_of(input.token_id, "AccessToken")
            else:
                assert context.token is not None  # a signed-in viewer came with a token
                token_pk = context.token.pk
            token = await rules.revoke_token(viewer, token_pk)
            return RevokeTokenPayload(revoked_token_id=strawberry.ID(global_id_of(token)))

        payload = await mutate(info, RevokeTokenPayload, input, revoke)
        if payload.revoked_token_id is not None:
            await events.account_changed(context.broker, context.viewer.pk if context.viewer else None)
            in_use = context.token
            if in_use is not None and payload.revoked_token_id == global_id_of(in_use):
                # The token in use is gone: the rest of this request, the payload's `viewer` too, is anonymous.
                context.viewer = context.token = None
        return payload
