"""The modules of the explainer package import one another without a cycle.

Every ``import`` statement counts, wherever it stands: at module level, inside a function (a "lazy"
import) or under ``if TYPE_CHECKING:``. A cycle hidden in a function still ties two modules
together: neither can be read, tested or moved without the other, and the import that breaks
first is the one a reader did not see. Lookups by name in a string (the lazy ``__getattr__`` maps
of ``explainer/__init__.py`` and ``explainer/explorers/__init__.py``) are not import statements
and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import explainer

PACKAGE = Path(explainer.__file__).parent


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    """``{"explainer.conv": path, "explainer.attention": path/__init__.py, ...}`` for every module."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_modules(name: str, source: str, known: set[str], is_package: bool = False) -> set[str]:
    """The modules of ``known`` that module ``name`` imports, by any import statement anywhere in it.

    ``from a import b`` imports module ``a.b`` when that is a module, else module ``a``; a relative
    import is resolved against ``name``'s package.
    """
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # ``import explainer.views.x.y`` -> its longest module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    modules = module_names(root)
    known = set(modules)
    return {name: imported_modules(name, path.read_text(encoding="utf-8"), known, path.name == "__init__.py")
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of ``graph``, or None when it has none (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once every path from it is explored
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_every_kind_of_import_statement_is_seen():
    known = {"explainer", "explainer.a", "explainer.b", "explainer.c", "explainer.d", "explainer.pkg",
             "explainer.pkg.e", "explainer.pkg.f"}
    source = (
        "from typing import TYPE_CHECKING\n"
        "import torch\n"
        "from explainer.a import thing\n"
        "if TYPE_CHECKING:\n"
        "    from explainer.b import Type\n"
        "def lazy():\n"
        "    import explainer.c.helper\n"
        "class Lazy:\n"
        "    def method(self):\n"
        "        from explainer import d\n"
        "from .e import x\n"
        "from . import f\n"
    )
    assert imported_modules("explainer.pkg.g", source, known | {"explainer.pkg.g"}) == {
        "explainer.a", "explainer.b", "explainer.c", "explainer.d", "explainer.pkg.e", "explainer.pkg.f"}
    assert imported_modules("explainer.pkg", "from .e import x\nfrom . import f\n", known, is_package=True) == {
        "explainer.pkg.e", "explainer.pkg.f"}


def test_find_cycle_finds_a_planted_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_covers_the_package():
    graph = import_graph()
    assert {"explainer", "explainer.conv", "explainer.sampling", "explainer.attention.core"} <= set(graph)
    assert "explainer.sampling" in graph["explainer.conv"]  # conv builds on sampling, never the reverse


def test_no_import_cycle_among_explainer_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
