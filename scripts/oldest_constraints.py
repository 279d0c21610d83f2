"""Print pip constraints that pin every runtime dependency of pyproject.toml at its declared minimum.

``make test`` installs the package with them into a second, throwaway virtual environment
(``.venv-oldest``) and runs the paint, view and explorer tests there, so that both ends of each
declared range are tested: the newest releases the ranges allow in ``.venv``, the oldest here.
torch stays pinned by constraints.txt (its range is the one release line that file installs).

    python scripts/oldest_constraints.py > .venv-oldest/constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def oldest_pins(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``{name: minimum}`` for every runtime dependency; a ValueError names one without a ``>=`` minimum.

    Example:
        >>> oldest_pins()["matplotlib"]
        '3.10'
    """
    pins = {}
    for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        name, spec = _REQUIREMENT.match(requirement.split(";")[0]).groups()
        minimum = re.search(r">=\s*([0-9][0-9a-zA-Z.]*)", spec)
        if minimum is None:
            raise ValueError(f"dependency {name!r} must declare a minimum (>=) so that it can be tested, got {spec!r}")
        pins[name.lower()] = minimum.group(1)
    return pins


def main() -> None:
    for name, version in oldest_pins().items():
        if name != "torch":  # constraints.txt pins the CPU build
            sys.stdout.write(f"{name}=={version}\n")


if __name__ == "__main__":
    main()
