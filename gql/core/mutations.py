"""The mutation conventions: one `input`, a payload with `userErrors` and `clientMutationId`,
authorization before anything runs, and the work inside one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLInputObjectType, GraphQLSchema
from tortoise.transactions import in_transaction

from gql.core.codes import UserErrorCode
from gql.core.context import Info
from gql.core.errors import Forbidden, Unauthenticated
from models.accounts import ROLE_CAPABILITIES, Capability, User
from models.errors import RuleViolation

PayloadT = TypeVar("PayloadT")


@strawberry.type(description="A problem with the input or a broken rule; nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(description=(
        'Path to the input field at fault, e.g. ["input", "motivation"]; null when the whole input is at fault.'))
    message: str = strawberry.field(description="What is wrong, in words for the person filling the form.")
    code: str = strawberry.field(graphql_type=UserErrorCode, description=(
        "Stable machine-readable code, to branch on (the strings of the models, sent as they are)."))


@strawberry.type(description="What every mutation payload carries.")
class MutationPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=(
        "Why nothing was changed; empty when the mutation succeeded."))
    client_mutation_id: str | None = strawberry.field(default=None, description=(
        "The `clientMutationId` of the input, returned unchanged."))


def require_viewer(info: Info, capability: Capability | None = None) -> User:
    """The signed-in viewer holding `capability`, or a top-level UNAUTHENTICATED / FORBIDDEN error.

    Without a capability only a sign-in is needed (reading one's own data, revoking a token).
    """
    context = info.context
    viewer = _signed_in(info)
    if capability is None or capability in context.capabilities:
        return viewer
    if viewer.is_suspended:
        raise Forbidden("Not allowed: your account is suspended")
    if not context.can_write:
        raise Forbidden("Not allowed: this token is read-only")
    raise _role_lacks(viewer, capability)


def require_reader(info: Info, capability: Capability) -> User:
    """The signed-in viewer whose role holds `capability`, to read what that role may see.

    Reading is not writing: a read-only token reads with its role's rights (a partner dashboard
    on a moderator's READ token); a suspended account keeps no privileged reads.
    """
    viewer = _signed_in(info)
    if viewer.is_suspended:
        raise Forbidden("Not allowed: your account is suspended")
    if not reads_as(viewer, capability):
        raise _role_lacks(viewer, capability)
    return viewer


def reads_as(viewer: User | None, capability: Capability) -> bool:
    """Whether `viewer` may read what `capability`'s holders read (see `require_reader`)."""
    return viewer is not None and not viewer.is_suspended and capability in ROLE_CAPABILITIES[viewer.role]


def _signed_in(info: Info) -> User:
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated("Sign in to do this: send `Authorization: Bearer <token>`")
    return viewer


def _role_lacks(viewer: User, capability: Capability) -> Forbidden:
    return Forbidden(
        f"Not allowed: the {viewer.role.value} role does not have {capability.value}", capability=capability.value
    )


async def perform(
    payload_class: type[PayloadT],
    client_mutation_id: str | None,
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> PayloadT:
    """Run `work` in a transaction; a RuleViolation rolls it back and becomes `userErrors`."""
    try:
        async with in_transaction():
            result = await work()
    except RuleViolation as refusal:
        errors = [
            UserError(field=list(problem.field) or None, message=problem.message, code=problem.code)
            for problem in refusal.problems
        ]
        return payload_class(user_errors=errors, client_mutation_id=client_mutation_id)  # type: ignore[call-arg]
    return payload_class(**result, client_mutation_id=client_mutation_id)  # type: ignore[call-arg]


async def mutate(
    info: Info,
    payload_class: type[PayloadT],
    input: Any,
    capability: Capability | None,
    action: Callable[[User], Awaitable[dict[str, Any]]],
) -> PayloadT:
    """The whole convention in one call: authorize, then run `action(viewer)` via `perform`.

    Global IDs are decoded inside `action`, after authorization: an anonymous caller hears
    UNAUTHENTICATED whatever the IDs it sent.
    """
    viewer = require_viewer(info, capability)
    return await perform(payload_class, input.client_mutation_id, lambda: action(viewer))


async def returning(field: str, change: Awaitable[Any]) -> dict[str, Any]:
    """`{field: await change}`: the payload of a mutation that changes one object."""
    return {field: await change}


_INPUT_ARGUMENT = "The mutation's arguments, in one input object (the Relay convention)."
_CLIENT_MUTATION_ID = "Any string of the client's, returned unchanged in the payload to match answers to requests."


def describe_conventions(schema: GraphQLSchema) -> None:
    """Describe the parts every mutation repeats by convention, the `input` argument and each input's
    `clientMutationId`, once here rather than in thirty places. Only what is still undescribed."""
    mutation = schema.mutation_type
    for field in (mutation.fields.values() if mutation else ()):
        argument = field.args.get("input")
        if argument is not None and not argument.description:
            argument.description = _INPUT_ARGUMENT
    for named in schema.type_map.values():
        if isinstance(named, GraphQLInputObjectType):
            client_id = named.fields.get("clientMutationId")
            if client_id is not None and not client_id.description:
                client_id.description = _CLIENT_MUTATION_ID
