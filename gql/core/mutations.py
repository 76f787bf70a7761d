"""The mutation conventions: one `input`, a payload with `userErrors` and `clientMutationId`,
authorization (declared on the mutation, gql/permissions.py) before anything runs, and the work
inside one transaction, building its payload with the payload's fields named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import strawberry
from graphql import GraphQLInputObjectType, GraphQLSchema
from tortoise.transactions import in_transaction

from gql.core.codes import UserErrorCode
from gql.core.context import Info
from gql.permissions import signed_in
from models.accounts import User
from models.errors import RuleViolation


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


PayloadT = TypeVar("PayloadT", bound=MutationPayload)


class MutationInput(Protocol):
    """What every mutation's input carries: the client's id, returned unchanged."""

    client_mutation_id: str | None


async def perform(
    payload_class: type[PayloadT], input: MutationInput, work: Callable[[], Awaitable[PayloadT]]
) -> PayloadT:
    """Run `work` in a transaction: it builds the payload with its own fields named; the convention
    adds `clientMutationId`. A RuleViolation rolls the work back and becomes the payload's `userErrors`."""
    try:
        async with in_transaction():
            payload = await work()
    except RuleViolation as refusal:
        errors = [
            UserError(field=list(problem.field) or None, message=problem.message, code=problem.code)
            for problem in refusal.problems
        ]
        return payload_class(user_errors=errors, client_mutation_id=input.client_mutation_id)
    payload.client_mutation_id = input.client_mutation_id
    return payload


async def mutate(
    info: Info, payload_class: type[PayloadT], input: MutationInput, action: Callable[[User], Awaitable[PayloadT]]
) -> PayloadT:
    """A signed-in viewer's mutation: `action(viewer)` run via `perform`.

    The mutation's permission (`permission_classes`, gql/permissions.py) has let the viewer through
    before its resolver started; Global IDs are decoded inside `action`, so an anonymous caller hears
    UNAUTHENTICATED whatever the IDs it sent.
    """
    viewer = signed_in(info)
    return await perform(payload_class, input, lambda: action(viewer))


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
