"""Serving a class: repo2docker (Binder, BinderHub, images for a JupyterHub) builds this repository
from the root environment.yml and starts every container through the root `start` script.

Nothing here can reach the network to build an image; these tests check what repo2docker's documented
conventions make of the repository (https://repo2docker.readthedocs.io: "Where to put configuration
files", "environment.yml", "start"), and run the start script locally.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from test_packaging import _environment_requirements, _pyproject_requirements

ROOT = Path(__file__).resolve().parents[1]
START = ROOT / "start"


def _repo2docker_config_dir(repo: Path) -> Path:
    """repo2docker's rule: binder/ or .binder/ if one exists (both is an error), else the root; files
    outside the chosen folder are ignored."""
    found = [repo / name for name in ("binder", ".binder") if (repo / name).is_dir()]
    if len(found) > 1:
        raise ValueError("repo2docker refuses a repository with both binder/ and .binder/")
    return found[0] if found else repo


def test_repo2docker_reads_the_root_configuration():
    """A binder/ folder would make repo2docker ignore the root environment.yml and start; a Dockerfile
    would replace every other configuration file."""
    assert _repo2docker_config_dir(ROOT) == ROOT
    assert not (ROOT / "Dockerfile").exists()
    assert (ROOT / "environment.yml").is_file() and START.is_file()


def test_repo2docker_config_dir_rule(tmp_path):
    (tmp_path / "environment.yml").write_text("dependencies: []\n")
    assert _repo2docker_config_dir(tmp_path) == tmp_path
    (tmp_path / "binder").mkdir()
    assert _repo2docker_config_dir(tmp_path) == tmp_path / "binder"  # the root file no longer counts
    (tmp_path / ".binder").mkdir()
    with pytest.raises(ValueError):
        _repo2docker_config_dir(tmp_path)


def test_the_environment_repo2docker_builds_is_pyprojects_package_set():
    """The same packages and ranges as pyproject.toml (runtime + test extra), the Python it requires,
    and this package itself: conda runs pip from the environment file's folder, so `-e .` is the root."""
    env_file = _repo2docker_config_dir(ROOT) / "environment.yml"
    assert env_file == ROOT / "environment.yml"
    assert _environment_requirements() == _pyproject_requirements()
    text = env_file.read_text()
    pip = text.split("\n  - pip:\n", 1)[1]
    assert [ln.strip() for ln in pip.splitlines() if ln.strip()] == ["- -e ."]
    assert (env_file.parent / "pyproject.toml").is_file()
    python = next(ln.split("=", 1)[1] for ln in text.splitlines() if ln.strip().startswith("- python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={python}"


def test_start_script_follows_repo2dockers_contract():
    assert os.access(START, os.X_OK), "start must be executable"
    lines = [ln.strip() for ln in START.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert START.read_text().startswith("#!/bin/bash\n")
    assert lines[-1] == 'exec "$@"'


def _start(command: list[str], cwd: Path, env_path: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    if env_path is not None:
        env["JUPYTER_CONFIG_PATH"] = env_path
    return subprocess.run([str(START), *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("existing", [None, "/etc/hub-config"])
def test_start_script_puts_the_project_config_first_and_runs_the_command(tmp_path, existing):
    show = [sys.executable, "-c", "import os, sys; print(os.environ['JUPYTER_CONFIG_PATH']); print(sys.argv[1:])",
            "two words", "--flag"]
    done = _start(show, tmp_path, existing)  # run from elsewhere, as the entrypoint may
    assert done.returncode == 0, done.stderr
    path, args = done.stdout.splitlines()
    expected = [str(ROOT / "jupyter_config")] + ([existing] if existing else [])
    assert path.split(os.pathsep) == expected
    assert args == "['two words', '--flag']"


def test_start_script_passes_on_the_exit_status(tmp_path):
    assert _start([sys.executable, "-c", "raise SystemExit(7)"], tmp_path, None).returncode == 7


def test_jupyter_under_start_loads_the_project_config(tmp_path):
    """What jupyter lab / jupyterhub-singleuser / voila read: jupyter_config first on the config path."""
    code = "from jupyter_core.paths import jupyter_config_path; print(jupyter_config_path()[0])"
    done = _start([sys.executable, "-c", code], tmp_path, None)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "jupyter_config"
    assert {"voila.py", "jupyter_server_config.py"} <= {p.name for p in (ROOT / "jupyter_config").iterdir()}
