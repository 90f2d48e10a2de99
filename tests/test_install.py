"""The install is the tested one: bounded dependencies, a locked set that this environment really
has, the JupyterLab extension in place after set-up, and no helper process left behind."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(extra: str | None = None) -> list[Requirement]:
    lines = PYPROJECT["optional-dependencies"][extra] if extra else PYPROJECT["dependencies"]
    return [Requirement(line) for line in lines]


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions only: {line!r}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize("name, next_major", [("litellm", "2"), ("duckdb", "3"), ("altair", "7"), ("sqlglot", "31")])
def test_users_are_kept_off_the_next_major_of_what_we_rely_on(name, next_major):
    requirement = next(r for r in requirements() if canonicalize_name(r.name) == name)
    assert not requirement.specifier.contains(Version(next_major), prereleases=False)
    assert requirement.specifier.contains(locked()[name])


@pytest.mark.parametrize("requirement", requirements() + requirements("test") + requirements("spark"), ids=str)
def test_every_dependency_is_locked_within_its_bounds(requirement):
    pin = locked().get(canonicalize_name(requirement.name))
    assert pin is not None, f"{requirement.name} is not in constraints.txt: run bash scripts/lock"
    assert requirement.specifier.contains(pin, prereleases=True), f"{requirement.name}=={pin} is outside {requirement}"


def test_this_environment_is_the_locked_set():
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {name: (pin, installed.get(name)) for name, pin in locked().items() if installed.get(name) != pin}
    assert not differ, f"installed versions differ from constraints.txt (locked, installed): {differ}"


def test_the_jupyterlab_extension_is_installed_in_the_environment():
    jupyter = Path(sys.prefix) / "bin" / "jupyter"
    listing = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120)
    text = listing.stdout + listing.stderr
    line = next((line for line in text.splitlines() if "querygpt-jupyter" in line), "")
    assert "enabled" in line and "OK" in line, text


def _processes() -> dict[int, tuple[int, str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found[int(entry.name)] = (ppid, cmdline)
    return found


def test_database_servers_are_not_children_of_the_services_script():
    assert os.environ.get("QUERYGPT_TEST_MYSQL_URL"), "run the tests with bash scripts/test (it starts the servers)"
    processes = _processes()
    servers = {pid: ppid for pid, (ppid, cmd) in processes.items() if "mariadbd" in cmd or "postgres -D" in cmd}
    assert servers, "no database server is running"
    parents = {processes.get(ppid, (0, ""))[1] for ppid in servers.values()}
    assert not any("scripts/services" in parent for parent in parents), parents
