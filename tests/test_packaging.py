"""The project's set-up promises: one dependency list, the two README commands, cheap import, clean notebooks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base", "isal": "python-isal"}
REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def _split(requirement: str) -> tuple[str, str]:
    name, spec = REQ.match(requirement).groups()
    return name.lower(), spec.replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    return {CONDA_NAMES.get(name, name): spec for name, spec in map(_split, reqs)}


def _environment_requirements() -> dict[str, str]:
    found = {}
    text = (ROOT / "environment.yml").read_text().split("\ndependencies:\n")[1]
    for line in text.splitlines():
        item = re.match(r"^  - ([^:#\s][^#]*?)\s*$", line)
        if item and item.group(1) not in ("pip", "pip:") and not item.group(1).startswith("python="):
            name, spec = _split(item.group(1))
            found[name] = spec
    return found


def test_environment_yml_mirrors_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_constraints_pin_the_cpu_torch_build():
    pins = [ln.strip() for ln in (ROOT / "constraints.txt").read_text().splitlines() if ln.strip() and ln[0] != "#"]
    assert "torch==2.13.0" in pins


def _readme_command(target: str) -> str:
    commands = re.findall(r"^\s*(make \w+)\s*$", (ROOT / "README.md").read_text(), flags=re.M)
    matches = [c for c in commands if c == f"make {target}"]
    assert matches, f"README.md shows no '{target}' command; found {commands}"
    return matches[0]


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_command("test")
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in lines


def test_readme_lab_command_binds_to_localhost():
    _readme_command("lab")
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile.split("\nlab:")[1].split("\n\n")[0]
    assert "--ip=127.0.0.1" in lab and "notebooks" in lab


def test_readme_demo_command_serves_voila_on_localhost():
    _readme_command("demo")
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:")[1].split("\n\n")[0]
    assert "voila notebooks" in demo and "--Voila.ip=127.0.0.1" in demo and "--token" in demo


def test_import_explainer_is_cheap():
    code = (
        "import sys, explainer, explainer.explorers, explainer.views;"
        "heavy = [m for m in ('torch', 'matplotlib', 'ipywidgets', 'explainer.explorers.convolution') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_lazy_exports_resolve_to_what_they_name_even_after_their_modules_are_imported():
    """A lazily exported name must not share its name with a submodule: importing the submodule
    would bind the module in its place (``explainer.receptive_field(model)`` once failed so)."""
    import importlib
    import types

    import explainer

    for name in explainer.__all__:
        importlib.import_module(explainer._EXPORTS[name])
    for name in explainer.__all__:
        value = getattr(explainer, name)
        assert value is not None and not isinstance(value, types.ModuleType), name


def test_unknown_attribute_is_an_attribute_error():
    import explainer

    with pytest.raises(AttributeError, match="no_such_thing"):
        explainer.no_such_thing  # noqa: B018


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_stripped(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert dirty == [], f"{path.name}: cells {dirty} carry outputs; run nbstripout"


def test_there_are_numbered_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks found"
    assert all(re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", n) for n in names), names


def test_every_runtime_dependency_has_a_tested_minimum_and_private_api_an_upper_bound():
    """make test runs the painted tests with every minimum (scripts/oldest_constraints.py); where
    explainer/paint reaches into a library's private API, its range is capped."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from oldest_constraints import oldest_pins
    finally:
        sys.path.pop(0)
    runtime = {name: spec for name, spec in map(_split, tomllib.loads((ROOT / "pyproject.toml").read_text())
                                                ["project"]["dependencies"])}
    pins = oldest_pins()
    assert set(pins) == set(runtime)
    for name, spec in runtime.items():
        assert spec.startswith(f">={pins[name]}"), (name, spec)
    for name in ("matplotlib", "tornado", "torch"):
        assert "<" in runtime[name], f"{name} needs an upper bound: {runtime[name]}"


def test_make_test_also_runs_stock_paint_and_the_oldest_dependencies():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:")[1].split("\n\n")[0]
    assert "$(OLDEST_STAMP)" in recipe.splitlines()[0]
    assert "EXPLAINER_STOCK_PAINT=1 $(BIN)/python -m pytest" in recipe and "$(OLDEST)/bin/python -m pytest" in recipe
    assert "$(OLDEST_BROWSER_TESTS)" in recipe and "tests/browser/" in makefile.split("OLDEST_BROWSER_TESTS :=")[1]
    assert "oldest_constraints.py" in makefile.split("$(OLDEST_STAMP):")[1].split("\n\n")[0]
