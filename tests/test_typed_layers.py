"""The domains stay apart and typed: no two domain packages of gql/ reaching each other (imports
read as tests/test_layers.py reads them: every import statement counts), every loader declaring
its key and value, every resolver on a row-backed type saying the row it receives."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from graphql import GraphQLObjectType, get_named_type
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import get_object_definition

from gql.core.loaders import Loader, PageFiller, page_filler
from gql.core.relay import ConnectionExtension, Node
from gql.schema import build_schema
from gql.settings import Settings
from tests.test_layers import LAZY_REFERENCES, cycles, graph

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
    """Through imports; the lazy type references listed in LAZY_REFERENCES, each with its reason,
    are the exception (GraphQL types name each other: Viewer above the domains, their payloads'
    `viewer` naming it)."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if module.startswith("gql."):
            edges = packages.setdefault(_package_of(module), set())
            edges.update(_package_of(target) for target in targets
                         if target.startswith("gql.") and (module, target) not in LAZY_REFERENCES)
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


def _page_fillers() -> Iterator[tuple[str, PageFiller, GraphQLObjectType]]:
    """Every connection field's PageFiller, with the GraphQL type of the nodes it fills."""
    schema = build_schema(Settings())
    for named in schema._schema.type_map.values():
        definition = (named.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(named, GraphQLObjectType) or definition is None:
            continue
        for field in definition.fields:
            for extension in field.extensions:
                if isinstance(extension, ConnectionExtension) and isinstance(extension.on_page, PageFiller):
                    connection_type = get_named_type(named.fields[schema.config.name_converter.get_graphql_name(field)].type)
                    assert isinstance(connection_type, GraphQLObjectType)
                    node_type = get_named_type(connection_type.fields["nodes"].type)
                    assert isinstance(node_type, GraphQLObjectType)
                    yield f"{named.name}.{field.python_name}", extension.on_page, node_type


@pytest.mark.only_on("sqlite")
def test_every_page_filler_key_names_a_field_of_the_nodes_it_fills() -> None:
    fillers = list(_page_fillers())
    assert {node_type.name for _, _, node_type in fillers} >= {"Post", "Issue", "Faq", "User"}
    unknown = [f"{where}: {key} is no field of {node_type.name}"
               for where, filler, node_type in fillers for key in filler.fields if key not in node_type.fields]
    assert unknown == []


@pytest.mark.only_on("sqlite")
def test_a_page_filler_key_naming_no_field_is_found() -> None:
    _, filler, node_type = next(found for found in _page_fillers() if found[2].name == "Faq")
    misspelt = page_filler(categroy=filler.fields["category"])
    assert [key for key in misspelt.fields if key not in node_type.fields] == ["categroy"]
