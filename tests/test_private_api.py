"""Private matplotlib and tornado API appears only inside ``explainer/paint/``, behind the stock switch.

The oracle for "private" is the libraries themselves: every single-underscore name their modules
and classes define, and the instance attributes of the objects our views draw with. The code
outside the paint package (package, benchmarks, scripts, server config, notebooks) must not read,
write or import any of them, nor swap the class of a live object.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("matplotlib", "tornado", "mpl_toolkits")
MODULES = (
    "matplotlib", "matplotlib.artist", "matplotlib.axes", "matplotlib.axis", "matplotlib.backend_bases",
    "matplotlib.backends.backend_agg", "matplotlib.cm", "matplotlib.collections", "matplotlib.colors",
    "matplotlib.figure", "matplotlib.font_manager", "matplotlib.ft2font", "matplotlib.image", "matplotlib.legend",
    "matplotlib.lines", "matplotlib.markers", "matplotlib.mathtext", "matplotlib.patches", "matplotlib.path",
    "matplotlib.spines", "matplotlib.text", "matplotlib.ticker", "matplotlib.transforms",
    "matplotlib.animation", "tornado.web", "tornado.websocket",
)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@lru_cache(maxsize=1)
def library_private_names() -> frozenset[str]:
    """Private names of matplotlib's and tornado's modules, classes and typical instances."""
    import matplotlib

    matplotlib.use("Agg")
    names: set[str] = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names.update(n for n in dir(module) if _private(n))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            names.update(n for n in dir(cls) if _private(n))
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    objects = [fig, canvas, canvas.get_renderer(), ax, ax.xaxis, ax.text(0, 0, "t"), ax.imshow([[0.0]]),
               ax.plot([0], [0])[0], ax.add_patch(matplotlib.patches.Rectangle((0, 0), 1, 1)),
               ax.scatter([0], [0]), ax.add_collection(matplotlib.collections.LineCollection([])),
               ax.add_collection(matplotlib.collections.PolyCollection([])), ax.legend(["a"])]
    for obj in objects:
        names.update(n for n in vars(obj) if _private(n))
    return frozenset(names)


@lru_cache(maxsize=1)
def _sources() -> dict[str, str]:
    """Code outside the paint package: path -> Python source (notebooks: their code cells)."""
    out = {}
    for pattern in ("explainer/**/*.py", "benchmarks/*.py", "scripts/*.py", "jupyter_config/*.py"):
        for path in sorted(ROOT.glob(pattern)):
            if "paint" not in path.relative_to(ROOT).parts:
                out[str(path.relative_to(ROOT))] = path.read_text()
    for path in sorted(ROOT.glob("notebooks/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        out[str(path.relative_to(ROOT))] = "\n".join(line for cell in code for line in cell.splitlines()
                                                      if not line.lstrip().startswith(("%", "!")))
    return out


@lru_cache(maxsize=1)
def _own_names() -> frozenset[str]:
    """Private names our own code defines (attributes it assigns, functions, classes, globals)."""
    own: set[str] = set()
    for source in _sources().values():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.arg):
                own.add(node.arg)
    return frozenset(name for name in own if _private(name))


def private_uses(source: str, private: frozenset[str], own: set[str] = frozenset()) -> list[str]:
    """Each use in ``source`` of a library-private name, an import from a library's private module
    or of a private name, and each assignment to ``__class__``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if node.attr == "__class__" and isinstance(node.ctx, ast.Store):
                found.append(f"line {node.lineno}: assigns __class__")
            elif node.attr in private and node.attr not in own:
                found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[0] in LIBRARIES and any(_private(p) for p in parts):
                    found.append(f"line {node.lineno}: imports {module}")
                elif parts[0] in LIBRARIES and isinstance(node, ast.ImportFrom):
                    found += [f"line {node.lineno}: imports {module}.{a.name}" for a in node.names if _private(a.name)]
    return found


def test_the_detector_finds_private_reads_writes_imports_and_class_swaps():
    private = library_private_names()
    assert {"_A", "_get_layout", "_renderer", "_draw_paths_with_artist_properties", "_lastKey"} <= private
    code = """
import matplotlib._api
from matplotlib.text import _get_text_metrics_with_cache
from matplotlib import _api as api
image._A = None
print(text._get_layout(renderer), canvas._lastKey)
artist.__class__ = Other
"""
    assert len(private_uses(code, private)) == 7
    assert private_uses("self._mine = 1\nprint(self._mine)\n", private, {"_mine"}) == []


@pytest.mark.parametrize("path", sorted(_sources()))
def test_private_library_api_is_used_only_inside_the_paint_package(path):
    assert private_uses(_sources()[path], library_private_names(), _own_names()) == [], path
