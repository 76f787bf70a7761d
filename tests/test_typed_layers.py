"""The domains stay apart and typed: no two domain packages of gql/ reaching each other (imports
read as tests/test_layers.py reads them: every import statement counts), every loader declaring
its key and value, every resolver on a row-backed type saying the row it receives."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from strawberry.types.base import get_object_definition

import gql.schema  # noqa: F401 - imports every type and loader of the schema
from gql.core.loaders import Loader
from gql.core.relay import Node
from tests.test_layers import cycles, graph

# The packages of gql/ that hold a domain's API (and the viewer, which shows several of them).
DOMAINS = {f"gql.{name}" for name in (
    "accounts", "announcements", "faqs", "issues", "moderation", "posts", "search", "stars", "stats", "viewer", "wizard",
)}


def _package_of(module: str) -> str:
    """gql.<package> for a module of gql/ (a top-level module is its own), models for models/."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "gql" else "models"


@pytest.mark.only_on("sqlite")
def test_no_two_domain_packages_reach_each_other() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if module.startswith("gql."):
            edges = packages.setdefault(_package_of(module), set())
            edges.update(_package_of(target) for target in targets if target.startswith("gql."))
    for targets in list(packages.values()):
        for target in targets:
            packages.setdefault(target, set())
    for edges in packages.values():
        edges.discard("gql")
    packages.pop("gql", None)
    loops = [component for component in cycles({name: frozenset(edges) for name, edges in packages.items()})
             if DOMAINS & set(component)]
    assert loops == []


def _loader_classes(base: type) -> Iterator[type]:
    for subclass in base.__subclasses__():
        yield subclass
        yield from _loader_classes(subclass)


@pytest.mark.only_on("sqlite")
def test_every_loader_says_its_key_and_value() -> None:
    """A loader class either is one of the generic shapes (gql/core/loaders.py, or private to its
    module) or fixes every type parameter of the shape it extends: `ModelByIdLoader[User]`."""
    undeclared = []
    for loader in set(_loader_classes(Loader)):
        if not loader.__module__.startswith("gql.") or loader.__module__ == "gql.core.loaders":
            continue
        if loader.__name__.startswith("_"):
            continue
        parameterised = next(cls for cls in loader.__mro__ if "__orig_bases__" in vars(cls))
        if parameterised.__parameters__:
            undeclared.append(f"{loader.__module__}.{loader.__qualname__}")
    assert sorted(undeclared) == []


@pytest.mark.only_on("sqlite")
def test_resolvers_of_row_backed_types_take_their_row_as_parent() -> None:
    """A type answered with rows (every Node, and the few embedded types whose root value is a row
    or the Context) never reads its row through `self`, which the checker would take for the
    Strawberry class: its resolvers take `strawberry.Parent[Row]`."""
    from gql.moderation.types import ModerationItem
    from gql.stars.types import StarsProgram
    from gql.viewer.types import Viewer
    from gql.wizard.types import WizardOption, WizardResolution

    through_self = []
    for cls in [*_node_classes(), ModerationItem, StarsProgram, Viewer, WizardOption, WizardResolution]:
        for field in get_object_definition(cls, strict=True).fields:
            resolver = field.base_resolver
            if resolver is not None and resolver.self_parameter is not None:
                through_self.append(f"{cls.__name__}.{field.python_name}")
    assert through_self == []


def _node_classes() -> Iterator[type]:
    seen: set[type] = set()
    pending = list(Node.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls not in seen and inspect.isclass(cls):
            seen.add(cls)
            pending.extend(cls.__subclasses__())
            yield cls
