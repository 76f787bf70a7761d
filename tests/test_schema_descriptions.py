"""The schema documents itself: every part described, codes as enums that cannot miss a code the
models raise, and every type a page reaches either keyed by `id` or documented as embedded.

Read from the built schema object (no HTTP, no database): nothing here changes with the backend.
"""

from __future__ import annotations

import ast
import functools
import tomllib
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    visit,
)

from gql.core.codes import REQUIREMENT_CODES, USER_ERROR_CODES
from gql.core.documented import EMBEDDED, SINGLETON
from gql.schema import build_schema
from gql.settings import Settings

pytestmark = pytest.mark.only_on("sqlite")

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(Settings())._schema


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Each type, field, argument, input field and enum value without a description, by coordinate."""
    missing: list[str] = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        if not named.description:
            missing.append(name)
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({arg})" for arg, argument in field.args.items()
                            if not argument.description]
        elif isinstance(named, GraphQLInputObjectType):
            missing += [f"{name}.{field}" for field, value in named.fields.items() if not value.description]
        elif isinstance(named, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, member in named.values.items() if not member.description]
    return missing


def test_every_part_of_the_schema_is_described(schema: GraphQLSchema) -> None:
    missing = undescribed(schema)
    assert not missing, f"{len(missing)} parts of the schema have no description:\n" + "\n".join(missing)


# --- Codes -------------------------------------------------------------------------------------

# Where the models hand a code over: the call, and the position of its code argument.
_CODE_ARGUMENT = {"violation": 1, "Problem": 1, "add": 1, "_check": 0, "_pending": 0, "RequirementCheck": 0}
_REQUIREMENT_CALLS = {"_check", "_pending", "RequirementCheck"}
# Codes handed on as they came: a requirement check's code (checked against RequirementCode below).
_FORWARDED = {"check.code"}


def _called(node: ast.Call) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)


def _own_calls(function: ast.AST) -> list[ast.Call]:
    """The calls to a code-carrying function in `function`'s body, not in functions nested in it."""
    calls: list[ast.Call] = []
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.Call) and _called(node) in _CODE_ARGUMENT:
            calls.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return calls


def _string_constants(node: ast.AST) -> list[str]:
    if isinstance(node, ast.IfExp):
        return _string_constants(node.body) + _string_constants(node.orelse)
    return [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else []


def _assigned(function: ast.AST, name: str) -> list[str]:
    """The string constants `function` assigns to `name` (`code = "X"`, `code, field = "X", "y"`)."""
    found: list[str] = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id == name:
                found += _string_constants(node.value)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                found += [code for element, value in zip(target.elts, node.value.elts)
                          if isinstance(element, ast.Name) and element.id == name for code in _string_constants(value)]
    return found


def _message_code_pairs(tree: ast.AST) -> list[str]:
    """The codes of `("message", "CODE")` pairs a module builds to hand on as `add(*pair, field)`."""
    return [code for node in ast.walk(tree) if isinstance(node, ast.Tuple) and len(node.elts) == 2
            for code in _string_constants(node.elts[1]) if code.isupper()]


@functools.cache
def codes_in_models() -> tuple[dict[str, set[str]], set[str], list[str]]:
    """Scan models/ for every code a refusal carries: ({code: where}, requirement codes, unresolved)."""
    found: dict[str, set[str]] = {}
    requirements: set[str] = set()
    unresolved: list[str] = []
    for path in sorted((ROOT / "models").rglob("*.py")):
        source = path.read_text()
        if not any(name in source for name in ("violation", "Problem", "RequirementCheck")):
            continue  # no refusal can be made without one of these (migrations, seed, ...)
        tree = ast.parse(source, str(path))
        pairs = functools.cache(lambda tree=tree: _message_code_pairs(tree))
        for function in [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            parameters = {argument.arg for argument in function.args.args + function.args.kwonlyargs}
            # The function's own calls, not those of functions nested in it (scanned on their own).
            for node in _own_calls(function):
                name = _called(node)
                position = _CODE_ARGUMENT[name]  # type: ignore[index]
                starred = [argument for argument in node.args if isinstance(argument, ast.Starred)]
                if starred and len(node.args) <= position + 1:
                    codes = pairs()  # add(*("message", "CODE"), field)
                elif len(node.args) > position:
                    argument = node.args[position]
                    codes = _string_constants(argument)
                    if isinstance(argument, ast.Name):
                        if argument.id in parameters and not _assigned(function, argument.id):
                            continue  # a helper handing its caller's code on: the caller is scanned
                        codes = _assigned(function, argument.id)
                    if not codes:
                        unresolved.append(f"{path.name}:{node.lineno}: {ast.unparse(argument)}")
                        continue
                else:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                for code in codes:
                    found.setdefault(code, set()).add(where)
                    if name in _REQUIREMENT_CALLS:
                        requirements.add(code)
    unresolved = [item for item in unresolved if item.split(": ", 1)[1] not in _FORWARDED]
    return found, requirements, unresolved


def test_every_code_the_models_raise_is_a_user_error_code(schema: GraphQLSchema) -> None:
    found, _, unresolved = codes_in_models()
    assert not unresolved, f"codes the scan cannot read (name them here or in _FORWARDED): {unresolved}"
    # The scan itself must see the kinds of refusal it is meant to: constants, conditionals,
    # (message, code) pairs and codes held in a variable.
    assert {"NOT_FOUND", "TOO_SHORT", "BLANK", "INVALID", "AGE_18_PLUS", "TAKEN"} <= set(found)
    members = set(schema.type_map["UserErrorCode"].values)  # type: ignore[union-attr]
    forgotten = {code: sorted(where) for code, where in found.items() if code not in members}
    assert not forgotten, f"codes raised in models/ but not in UserErrorCode (gql/core/codes.py): {forgotten}"
    assert members == set(USER_ERROR_CODES) | set(REQUIREMENT_CODES)


def test_requirement_codes_cover_the_rules_and_the_seed(schema: GraphQLSchema) -> None:
    _, checked, _ = codes_in_models()
    seeded = {item["code"] for item in tomllib.loads((ROOT / "models/seed/program.toml").read_text())
              ["eligibility"]}
    members = set(schema.type_map["RequirementCode"].values)  # type: ignore[union-attr]
    assert checked | seeded == members, "RequirementCode must list exactly the requirements the rules check"
    # An unmet requirement is refused on apply with its own code: each is a userError code too.
    assert members <= set(schema.type_map["UserErrorCode"].values)  # type: ignore[union-attr]


@pytest.mark.parametrize("enum_name", ["UserErrorCode", "RequirementCode"])
def test_code_enums_send_the_strings_sent_before(schema: GraphQLSchema, enum_name: str) -> None:
    """Name = value: the JSON of an answer is what it was when the codes were plain strings."""
    enum = schema.type_map[enum_name]
    assert isinstance(enum, GraphQLEnumType)
    assert all(enum.serialize(name) == name for name in enum.values)
    for coordinate in ("UserError.code", "EligibilityCheck.code", "EligibilityRequirement.code"):
        type_name, field = coordinate.split(".")
        assert str(schema.type_map[type_name].fields[field].type).rstrip("!") in {"UserErrorCode", "RequirementCode"}  # type: ignore[union-attr]


# --- Keys for normalized caches ----------------------------------------------------------------

PAGES = [ROOT / "gql/landing_page.graphql", *sorted((ROOT / "tests/pages").glob("*.graphql"))]


def reached_types(schema: GraphQLSchema, document: str) -> set[str]:
    """Every object type an operation's selections reach (through fragments and unions too)."""
    reached: set[str] = set()
    type_info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_selection_set(self, *_: object) -> None:
            named = get_named_type(type_info.get_type())
            if isinstance(named, GraphQLObjectType):
                reached.add(named.name)

    visit(parse(document), TypeInfoVisitor(type_info, Collect()))
    return reached


def test_every_type_a_page_reaches_has_an_id_or_is_documented_embedded(schema: GraphQLSchema) -> None:
    reached: set[str] = set()
    for page in PAGES:
        reached |= reached_types(schema, page.read_text())
    reached -= {"Query", "Mutation", "Subscription"}
    assert {"Faq", "Issue", "StarsProgram", "Perk", "ProgramValue", "EligibilityRequirement"} <= reached
    unkeyed = sorted(name for name in reached if "id" not in schema.type_map[name].fields  # type: ignore[union-attr]
                     and not (schema.type_map[name].description or "").endswith((EMBEDDED, SINGLETON)))
    assert not unkeyed, f"types on a page with neither `id` nor the embedded or singleton note (gql/core/documented.py): {unkeyed}"


def test_embedded_types_are_exactly_those_without_an_id(schema: GraphQLSchema) -> None:
    """The note is a promise: a type that says it is embedded has no `id`, and one with an `id` does not say it."""
    for name, named in schema.type_map.items():
        if isinstance(named, GraphQLObjectType) and (named.description or "").endswith(EMBEDDED):
            assert "id" not in named.fields, name

