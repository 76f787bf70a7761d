"""The folders show the layers, and the imports keep to them.

Read from the source (every `import` statement, at module level, inside functions and under
`TYPE_CHECKING` alike: an import deferred into a function still ties the two modules together),
so that a cycle cannot hide behind a function-local import, and a module cannot reach up a layer.
A type Strawberry imports lazily (`strawberry.lazy("module")`) counts as an import too, and each
such reference is listed, with its reason, in LAZY_REFERENCES.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gql", "models")

# gql/, bottom to top: a module imports from its own layer or the layers below it, never above.
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"gql.settings"},
    {"gql.ops"},                                      # request record, logs, metrics, tracing, encoding
    {"gql.live"},                                     # the event broker and its channels
    {"gql.core", "gql.permissions"},                  # the schema's building blocks, who may do what
    {"gql.execution", "gql.limits", "gql.cache"},     # running an operation, its limits, its cached answer
    {"gql.accounts", "gql.announcements", "gql.faqs", "gql.issues", "gql.moderation", "gql.posts",
     "gql.search", "gql.stars", "gql.stats", "gql.viewer", "gql.wizard"},  # the domains
    {"gql.schema"},
    {"gql.http"},                                     # the transports
    {"gql.app", "gql.cli"},                           # entry points
))


# The lazy type references of gql/, each with why it is not an import: a reference up a layer,
# which no other way of naming the type avoids.
LAZY_REFERENCES = {
    ("gql.core.refreshes", "gql.viewer.types"): (
        "a mutation payload's `viewer` field: Viewer shows what several domains hold, so it sits above "
        "them, and the domains' payloads name it, as GraphQL types name each other"),
}


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _project_module(name: str) -> str | None:
    """The project module `name` refers to (itself, or the package holding the imported name)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """Every project module `module` imports, with the line: wherever the import statement is."""
    tree = ast.parse(modules()[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from gql.core import relay` imports the module gql.core.relay; `from gql.core.relay
            # import Node` imports a name of gql.core.relay.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _project_module(name)
            if target is not None and target != module:
                yield target, node.lineno
    yield from lazy_references(module)


def lazy_references(module: str) -> Iterator[tuple[str, int]]:
    """The modules `module` names for Strawberry to import lazily (`strawberry.lazy("gql.x")`)."""
    for node in ast.walk(ast.parse(modules()[module].read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "lazy"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            target = _project_module(node.args[0].value)
            if target is not None:
                yield target, node.lineno


@cache
def graph() -> dict[str, frozenset[str]]:
    return {module: frozenset(target for target, _ in imports_of(module)) for module in modules()}


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def layer_of(module: str) -> int | None:
    for number, layer in enumerate(LAYERS):
        if any(module == package or module.startswith(package + ".") for package in layer):
            return number
    return None


@pytest.mark.only_on("sqlite")
def test_the_cycle_finder_finds_a_hidden_cycle() -> None:
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}) == [
        ["a", "b", "c"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


@pytest.mark.only_on("sqlite")
def test_no_module_imports_another_that_imports_it_back() -> None:
    assert cycles(graph()) == []


@pytest.mark.only_on("sqlite")
def test_models_never_import_the_api_layer() -> None:
    reaching_up = [(module, target, line) for module in modules() if module.startswith("models")
                   for target, line in imports_of(module) if target.startswith("gql")]
    assert reaching_up == []


@pytest.mark.only_on("sqlite")
def test_every_gql_module_has_a_layer() -> None:
    assert [module for module in modules() if module.startswith("gql.") and layer_of(module) is None] == []


@pytest.mark.only_on("sqlite")
def test_no_gql_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for module in modules():
        own = layer_of(module)
        if own is None:
            continue
        for target, line in imports_of(module):
            theirs = layer_of(target)
            if theirs is not None and theirs > own and (module, target) not in LAZY_REFERENCES:
                upward.append(f"{module}:{line} imports {target}")
    assert upward == []


@pytest.mark.only_on("sqlite")
def test_every_lazy_type_reference_is_listed_with_its_reason() -> None:
    found = {(module, target) for module in modules() for target, _ in lazy_references(module)}
    assert found == set(LAZY_REFERENCES)
