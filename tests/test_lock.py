"""Reproducible installs: every package an install takes is pinned in a lock with its hashes
(`make lock`), and `make` installs with `--require-hashes`, so two installs a week apart match."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: str) -> dict[str, str]:
    """Package -> version in a lock; every entry must carry a hash."""
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    found = {}
    for entry in entries:
        match = PIN.match(entry)
        if match:
            assert "--hash=sha256:" in entry, f"{lock}: {match.group(1)} has no hash"
            found[canonical(match.group(1))] = match.group(2)
    return found


@pytest.mark.parametrize("source, lock", [("requirements.in", "requirements.txt"),
                                          ("requirements-dev.in", "requirements-dev.txt")])
def test_each_direct_pin_is_in_the_lock_at_its_version(source, lock):
    versions = locked(lock)
    for line in (ROOT / source).read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            assert versions.get(canonical(match.group(1))) == match.group(2), line


def test_the_dev_lock_uses_the_runtime_locks_versions():
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_this_environment_holds_only_locked_packages():
    """The venv `make test` built: nothing floated in beside the lock."""
    dev = locked("requirements-dev.txt")
    strays = {}
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        if name in ("pip", "setuptools", "wheel"):
            continue
        if dev.get(name) != dist.version:
            strays[name] = (dist.version, dev.get(name))
    assert strays == {}, "installed version, locked version"


def test_make_installs_with_hashes_required():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line
                and "-r requirements" in line]
    assert installs and all("--require-hashes" in line for line in installs)
