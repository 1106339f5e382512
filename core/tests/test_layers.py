"""The one-way dependency rule, enforced by reading every import statement of the project.

chatsite (configuration) -> transport (views, consumers, compat, admin...) -> domain (services,
selectors, models, events) -> kernel (core, realtime's kernel). Imports are read from the source with
``ast``, all of them: at the top, inside functions, and under ``if TYPE_CHECKING:`` (a type-only
import is still a dependency a reader has to follow). Test modules may import anything and are not
checked. docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "migrations", "node_modules", "staticfiles", "media", "__pycache__"}
# Everything but the kernels (core/, jobs/): the project's configuration and its apps.
APPS = {"chatsite", "users", "messaging", "emails", "integrations", "realtime", "compat"}
DOMAIN_APPS = {"users", "messaging", "emails", "integrations"}
# Packages that import no app (the shared kernel, the background-job layer), beside realtime's kernel.
KERNEL_PACKAGES = {"core", "jobs"}
# The realtime modules domain code may import: the real-time kernel (typed events, publish after commit,
# groups, close codes).
REALTIME_KERNEL = {"realtime.kernel"}
# Modules of the domain apps that are transport or wiring (HTTP, the admin, the command line, app
# registration), by module name; everything else in users/ and messaging/ is domain.
TRANSPORT_MODULES = {
    "views",
    "auth_views",
    "urls",
    "admin",
    "consumers",
    "routing",
    "serializers",
    "authentication",
    "throttles",
    "schema",
    "uploads",
    "management",
    "apps",
}
# Cycles that exist and are being removed. A cycle listed here that no longer exists fails the test too,
# so the list only ever shrinks.
KNOWN_CYCLES: set[frozenset[str]] = set()


@dataclass(frozen=True)
class Import:
    target: str
    line: int


Graph = Mapping[str, Iterable[Import]]


# --- reading the imports -------------------------------------------------------------------------------


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the project's packages (directories at the root with an ``__init__.py``)."""
    found = {}
    for package in sorted(path.parent for path in root.glob("*/__init__.py")):
        for path in package.rglob("*.py"):
            if SKIPPED_DIRS.isdisjoint(path.relative_to(root).parts):
                parts = path.relative_to(root).with_suffix("").parts
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(module: str, source: str, *, is_package: bool, known: Iterable[str]) -> set[Import]:
    """The project modules ``source`` imports, wherever the statement is. ``from a import b`` names the
    module ``a.b`` when there is one, else ``a``."""
    known = set(known)
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {Import(alias.name, node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(Import(child if child in known else base, node.lineno))
    return {imported for imported in found if imported.target in known and imported.target != module}


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parts, *([node.module] if node.module else [])])


def import_graph(root: Path = ROOT) -> dict[str, set[Import]]:
    modules = project_modules(root)
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py", known=modules)
        for name, path in modules.items()
    }


# --- the rules -----------------------------------------------------------------------------------------


def is_test(module: str) -> bool:
    parts = module.split(".")
    return "tests" in parts or parts[-1] == "conftest"


def is_realtime_kernel(module: str) -> bool:
    return any(module == kernel or module.startswith(f"{kernel}.") for kernel in REALTIME_KERNEL)


def is_kernel(module: str) -> bool:
    return module.split(".")[0] in KERNEL_PACKAGES or is_realtime_kernel(module)


def is_transport(module: str) -> bool:
    """Whether ``module`` is above the domain: configuration, transport, or realtime outside its kernel."""
    app, *rest = module.split(".")
    if app in {"chatsite", "compat"}:
        return True
    if app == "realtime":
        return not is_realtime_kernel(module)
    return app in DOMAIN_APPS and not TRANSPORT_MODULES.isdisjoint(rest)


def is_domain(module: str) -> bool:
    return module.split(".")[0] in DOMAIN_APPS and not is_transport(module)


def domain_violations(graph: Graph) -> list[str]:
    """Domain modules that import transport (or configuration, or realtime outside its kernel)."""
    return [
        f"{module}:{imported.line} imports {imported.target}"
        for module, imports in _checked(graph)
        if is_domain(module)
        for imported in _by_line(imports)
        if is_transport(imported.target)
    ]


def kernel_violations(graph: Graph) -> list[str]:
    """Kernel modules (core, jobs, realtime's kernel) that import any app module outside the kernel."""
    return [
        f"{module}:{imported.line} imports {imported.target}"
        for module, imports in _checked(graph)
        if is_kernel(module)
        for imported in _by_line(imports)
        if not is_kernel(imported.target)
    ]


def compat_violations(graph: Graph) -> list[str]:
    """Modules other than chatsite's (and compat's own) that import back_chat's compatibility app."""
    return [
        f"{module}:{imported.line} imports {imported.target}"
        for module, imports in _checked(graph)
        if module.split(".")[0] not in {"compat", "chatsite"}
        for imported in _by_line(imports)
        if imported.target.split(".")[0] == "compat"
    ]


def cycles(graph: Graph) -> list[frozenset[str]]:
    """The import cycles among the checked modules (strongly connected components, Tarjan's algorithm
    without recursion)."""
    edges = {
        module: sorted({i.target for i in imports if not is_test(i.target)}) for module, imports in _checked(graph)
    }
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(edges[start]))]
        index[start] = lowest[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, successors = work[-1]
            successor = next(successors, None)
            if successor is None:
                work.pop()
                if work:
                    lowest[work[-1][0]] = min(lowest[work[-1][0]], lowest[module])
                if lowest[module] == index[module]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif successor not in index:
                index[successor] = lowest[successor] = len(index)
                stack.append(successor)
                on_stack.add(successor)
                work.append((successor, iter(edges.get(successor, ()))))
            elif successor in on_stack:
                lowest[module] = min(lowest[module], index[successor])
    return found


def _by_line(imports: Iterable[Import]) -> list[Import]:
    return sorted(imports, key=lambda imported: (imported.line, imported.target))


def _checked(graph: Graph) -> Iterator[tuple[str, Iterable[Import]]]:
    return ((module, imports) for module, imports in sorted(graph.items()) if not is_test(module))


# --- the project ---------------------------------------------------------------------------------------

GRAPH = import_graph()


def test_the_walk_finds_the_project_and_its_imports():
    assert {"core.errors", "users.services", "messaging.services.messages", "compat.views"} <= set(GRAPH)
    assert any(i.target == "messaging.models" for i in GRAPH["messaging.limits"])
    assert any(i.target == "users.services" for i in GRAPH["users.views"])  # `from users import services`


def test_domain_apps_never_import_the_transport():
    assert domain_violations(GRAPH) == []


def test_the_kernel_imports_no_app():
    assert kernel_violations(GRAPH) == []


def test_compat_is_imported_by_nothing_but_chatsite():
    assert compat_violations(GRAPH) == []


def test_there_are_no_import_cycles_but_the_known_ones_being_removed():
    found = set(cycles(GRAPH))

    assert found - KNOWN_CYCLES == set(), "a new import cycle"
    assert KNOWN_CYCLES - found == set(), "a known cycle is gone: remove it from KNOWN_CYCLES"


# --- the rules can fail --------------------------------------------------------------------------------

FAKE_SOURCE = """
from typing import TYPE_CHECKING
import messaging.models

if TYPE_CHECKING:
    from messaging.views import rooms

def late():
    from compat.shapes import legacy_message
    from realtime import hub
"""


def test_type_only_function_local_and_relative_imports_are_all_seen():
    known = {"messaging.models", "messaging.views.rooms", "compat.shapes", "realtime.hub", "users.models"}

    found = imports_of("messaging.services.fake", FAKE_SOURCE, is_package=False, known=known)

    assert found == {
        Import("messaging.models", 3),
        Import("messaging.views.rooms", 6),
        Import("compat.shapes", 9),
        Import("realtime.hub", 10),
    }


def test_a_relative_import_resolves_against_the_package():
    found = imports_of("messaging.selectors", "from .models import Room", is_package=False, known={"messaging.models"})
    package_found = imports_of(
        "messaging.services", "from . import rooms", is_package=True, known={"messaging.services.rooms"}
    )

    assert found == {Import("messaging.models", 1)}
    assert package_found == {Import("messaging.services.rooms", 1)}


def test_each_rule_reports_a_fake_violation():
    kernel = min(REALTIME_KERNEL)  # a module of realtime's kernel, whichever it is
    known = {"messaging.models", "messaging.views.rooms", "compat.shapes", "realtime.hub"}
    graph = {
        "messaging.services.fake": imports_of("messaging.services.fake", FAKE_SOURCE, is_package=False, known=known),
        "core.fake": {Import("users.models", 3), Import(kernel, 4)},
        kernel: {Import("realtime.hub", 1)},
        "a.b": {Import("a.c", 1)},
        "a.c": {Import("a.b", 2)},
        "messaging.tests.test_fake": {Import("compat.shapes", 1), Import("messaging.views.rooms", 2)},
    }

    assert domain_violations(graph) == [
        "messaging.services.fake:6 imports messaging.views.rooms",
        "messaging.services.fake:9 imports compat.shapes",
        "messaging.services.fake:10 imports realtime.hub",
    ]
    assert kernel_violations(graph) == ["core.fake:3 imports users.models", f"{kernel}:1 imports realtime.hub"]
    assert compat_violations(graph) == ["messaging.services.fake:9 imports compat.shapes"]
    assert cycles(graph) == [frozenset({"a.b", "a.c"})]
