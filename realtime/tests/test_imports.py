"""The shape of realtime's imports, read from the source (imports inside functions and under
TYPE_CHECKING included): no cycles, a kernel that imports no app, a domain that imports only the kernel.

``from package import name`` is an edge to ``package.name`` when that is a module, else to ``package``;
a module's parent packages are not edges (their ``__init__`` re-exports would make every package a cycle).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("chatsite", "core", "compat", "users", "messaging", "realtime")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).parts
            if "tests" in relative or "migrations" in relative:
                continue
            found[module_name(path)] = path
    return found


def imports_of(name: str) -> set[str]:
    """First-party modules ``name`` imports, anywhere in its source."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])]
                )
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules() else base)
    return {target for target in found if target.split(".")[0] in FIRST_PARTY and target in modules()}


def graph(prefix: str) -> dict[str, set[str]]:
    inside = [name for name in modules() if name == prefix or name.startswith(prefix + ".")]
    return {name: {target for target in imports_of(name) if target in inside} for name in inside}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges[node]:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_realtime_has_no_import_cycles():
    assert cycles(graph("realtime")) == []


def test_the_walker_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(name for name in modules() if name.startswith("realtime.kernel")))
def test_the_kernel_imports_no_app_and_no_transport(name):
    outside = {target for target in imports_of(name) if not target.startswith(("realtime.kernel", "core"))}

    assert outside == set()


@pytest.mark.parametrize("name", sorted(name for name in modules() if name.startswith(("users", "messaging"))))
def test_the_domain_imports_only_the_kernel_of_realtime(name):
    transport = {t for t in imports_of(name) if t.startswith("realtime") and not t.startswith("realtime.kernel")}

    assert transport == set()


def test_streams_and_the_hub_do_not_import_each_other():
    assert "realtime.hub.hub" not in imports_of("realtime.hub.streams")
    assert imports_of("realtime.hub.registry") & set(graph("realtime")) <= {"realtime.kernel"}


def test_no_file_of_realtime_is_over_250_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in (ROOT / "realtime").rglob("*.py")
    }

    assert {name: size for name, size in sizes.items() if size > 250} == {}
