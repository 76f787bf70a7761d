"""Helpers that keep the schema describing itself: enums whose every value is described, and the
marker of types a normalized cache keeps inside their parent (they have no `id`).

A GraphQL enum here is the Python enum itself (the model's, or one of the API's own), described
in place: `Role = models.Role` then `described_enum(Role, ...)`, so that `Role` is a type to the
checker and a GraphQL enum to Strawberry, and resolvers return the models' members as they are."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar, cast

import strawberry
from strawberry.types.enum import has_enum_definition

EnumT = TypeVar("EnumT", bound=Enum)

# Ends the description of every object type without an `id`; tests/test_schema_descriptions.py
# holds each type a page reaches to either an `id` or this sentence.
EMBEDDED = (" Embedded value: it has no `id`; a normalized cache keeps it inside the object that holds it "
            "(urql graphcache: `keys: {TypeName: () => null}`).")


# Ends the description of a type that has no `id` because there is one per request.
SINGLETON = (" Singleton: it has no `id`; there is one per request (per token), so a normalized cache keys it by "
             "its type alone (urql graphcache: `keys: {Viewer: () => \"viewer\"}`; Apollo: `keyFields: []`).")


def singleton(description: str) -> str:
    """The description of a type of which a request has exactly one (see SINGLETON)."""
    return description + SINGLETON


def embedded(description: str) -> str:
    """The description of an object type without identity of its own (see EMBEDDED)."""
    return description + EMBEDDED


def described_enum(cls: type[EnumT], description: str, values: Mapping[str, str], *,
                   name: str | None = None) -> type[EnumT]:
    """`strawberry.enum(cls)` with a description on every value, `cls` itself made the GraphQL
    enum. A member left out, or a description for no member, fails at import: a new member cannot
    reach the schema undescribed."""
    members = {member.name for member in cls}
    if members != set(values):
        raise TypeError(f"{name or cls.__name__}: describe exactly its members; missing "
                        f"{sorted(members - set(values))}, unknown {sorted(set(values) - members)}")
    wrapped = strawberry.enum(cls, name=name, description=description)
    if not has_enum_definition(wrapped):
        raise TypeError(f"{name or cls.__name__}: strawberry.enum gave no enum definition")
    for value in wrapped.__strawberry_definition__.values:
        value.description = values[value.name]
    return cls


def code_enum(name: str, description: str, values: Mapping[str, str]) -> type[Enum]:
    """A GraphQL enum of codes whose values are the very strings sent before it was an enum (name
    = value), so a JSON answer is unchanged; a plain code string from the models serializes as is."""
    # mypy types the functional API's result as a member when the names are not literals.
    codes = cast("type[Enum]", Enum(name, {code: code for code in values}, type=str))
    return described_enum(codes, description, values)
