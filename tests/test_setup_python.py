"""The Makefile's choice of interpreter and of torch's source, driven with fake interpreters.

Each fake is a shell script on a temporary PATH that prints its version, as ``python -c`` would;
``make which-python`` and ``scripts/pick_python`` must pick the newest one that is 3.11 or newer,
honour ``PYTHON=...``, and say in one sentence what they found when none fits. ``make -n`` shows
where torch would come from for each ``TORCH_INDEX``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
SH = shutil.which("sh") or "/bin/sh"

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def fake_pythons(folder: Path, versions: dict[str, str | None]) -> Path:
    """One executable per name printing its version (None: an interpreter that fails to run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, version in versions.items():
        script = folder / name
        body = f'echo "{version}"' if version is not None else "exit 127"
        script.write_text(f"#!{SH}\n{body}\n")
        script.chmod(0o755)
    return folder


def run(command: list[str], path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": str(path), "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


def pick(path: Path, *args: str) -> subprocess.CompletedProcess:
    return run([SH, str(ROOT / "scripts" / "pick_python"), *args], path)


@pytest.mark.parametrize(("versions", "chosen"), [
    ({"python3.13": "3.13", "python3.12": "3.12", "python3": "3.11"}, "python3.13"),
    ({"python3.11": "3.11", "python3": "3.14"}, "python3"),  # python3 may be newer than every named one
    ({"python3.11": "3.11", "python3": "3.10"}, "python3.11"),
    ({"python3.12": "3.12", "python3.11": "3.11", "python3": "3.12"}, "python3.12"),  # a tie: the named one
    ({"python3": "3.11"}, "python3"),
    ({"python3.13": None, "python3.12": "3.12"}, "python3.12"),  # one that does not run is passed over
])
def test_the_newest_interpreter_that_is_new_enough_is_chosen(tmp_path, versions, chosen):
    result = pick(fake_pythons(tmp_path / "bin", versions))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == chosen


@pytest.mark.parametrize("versions", [{"python3": "3.10", "python3.9": "3.9"}, {}])
def test_none_new_enough_is_one_sentence_naming_what_was_found(tmp_path, versions):
    result = pick(fake_pythons(tmp_path / "bin", versions))
    assert result.returncode == 1 and result.stdout == ""
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "3.11 or newer" in message and "PYTHON=" in message
    assert ("python3 3.10" in message) if versions else ("found: none" in message)


def test_a_given_python_is_used_when_new_enough_and_refused_when_not(tmp_path):
    folder = fake_pythons(tmp_path / "bin", {"py312": "3.12", "py310": "3.10"})
    assert pick(folder, str(folder / "py312")).stdout.strip() == str(folder / "py312")
    refused = pick(folder, str(folder / "py310"))
    assert refused.returncode == 1 and "Python 3.10" in refused.stderr and "3.11 or newer" in refused.stderr


def test_make_which_python_reports_the_choice_and_the_failure(tmp_path):
    folder = fake_pythons(tmp_path / "bin", {"python3.12": "3.12", "python3": "3.9"})
    chosen = run([MAKE, "-s", "which-python"], folder)
    assert chosen.returncode == 0 and chosen.stdout.startswith("python3.12: Python 3.12"), chosen.stderr
    given = run([MAKE, "-s", "which-python", f"PYTHON={folder / 'python3'}"], folder)
    assert given.returncode != 0 and "Python 3.9" in given.stderr
    none = run([MAKE, "-s", "which-python"], fake_pythons(tmp_path / "old", {"python3": "3.10"}))
    assert none.returncode != 0 and "No Python 3.11 or newer found" in none.stderr


def test_a_new_venv_is_made_with_the_chosen_interpreter(tmp_path):
    folder = fake_pythons(tmp_path / "bin", {"python3.12": "3.12", "python3.11": "3.11"})
    plan = run([MAKE, "-n", "setup", "VENV=" + str(tmp_path / "venv")], folder)
    assert plan.returncode == 0, plan.stderr
    assert "scripts/pick_python" in plan.stdout and "-m venv" in plan.stdout


@pytest.mark.parametrize(("index", "expected"), [
    (None, None),  # the default of this platform
    ("https://example.org/cpu", "--index-url https://example.org/cpu"),
    ("", ""),  # empty: pip's own configuration
])
def test_torch_comes_from_a_local_wheel_first_then_from_torch_index(tmp_path, index, expected):
    folder = fake_pythons(tmp_path / "bin", {"python3.11": "3.11"})
    for tool in ("uname", "id"):  # the Makefile asks for the platform and the user
        (folder / tool).symlink_to(shutil.which(tool))
    args = [MAKE, "-n", "setup", "VENV=" + str(tmp_path / "venv")]
    args += [f"TORCH_INDEX={index}"] if index is not None else []
    lines = [ln for ln in run(args, folder).stdout.splitlines() if "constraints.txt torch" in ln]
    local, fallback = lines[0].split("||")
    assert "--no-index" in local and "constraints.txt torch" in local
    if expected is None:
        linux = os.uname().sysname == "Linux"
        assert ("--index-url https://download.pytorch.org/whl/cpu" in fallback) is linux
    elif expected:
        assert expected in fallback
    else:
        assert "--index-url" not in fallback
    assert lines[1].rstrip().endswith("-c constraints.txt torch")  # then torch's own dependencies
