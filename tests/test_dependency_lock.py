"""The lock files agree with pyproject.toml: a dependency changed without `make lock` fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# Test tools `make run` must not install.
TEST_ONLY = ["pytest", "hypothesis", "ruff", "mypy", "import-linter"]


def _declared(pyproject: str, *, with_test: bool) -> list[Requirement]:
    project = tomllib.loads(pyproject)["project"]
    texts = list(project["dependencies"])
    if with_test:
        texts += project["optional-dependencies"]["test"]
    return [Requirement(text) for text in texts]


def _locked(lock: str) -> dict[str, list[Version]]:
    """Every pinned version per package (one per marker branch of a universal lock)."""
    pins: dict[str, list[Version]] = {}
    for line in lock.splitlines():
        match = _PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match[1]), []).append(Version(match[2]))
    return pins


def disagreements(pyproject: str, lock: str, *, with_test: bool) -> list[str]:
    """What of pyproject's requirements the lock misses or pins outside the declared range."""
    pins = _locked(lock)
    found = []
    for requirement in _declared(pyproject, with_test=with_test):
        versions = pins.get(canonicalize_name(requirement.name))
        if not versions:
            found.append(f"{requirement.name}: not in the lock")
        for version in versions or []:
            if not requirement.specifier.contains(version, prereleases=True):
                found.append(f"{requirement.name}: locked {version}, declared {requirement}")
    return found


@pytest.mark.parametrize(("lock", "with_test"), [(RUNTIME_LOCK, False), (TEST_LOCK, True)])
def test_every_declared_dependency_is_locked_within_its_range(lock: Path, with_test: bool) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert disagreements(pyproject, lock.read_text(), with_test=with_test) == []


def test_a_range_the_lock_falls_outside_of_is_reported() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    locked = _locked(TEST_LOCK.read_text())[canonicalize_name("jinja2")][0]
    moved = re.sub(r'"jinja2[^"]*"', f'"jinja2>{locked}"', pyproject)
    added = moved.replace('"orjson', '"a-package-nobody-locked>=1",\n    "orjson')
    found = disagreements(added, TEST_LOCK.read_text(), with_test=True)
    assert found == [
        f"jinja2: locked {locked}, declared jinja2>{locked}",
        "a-package-nobody-locked: not in the lock",
    ]


def test_every_lock_pins_exact_versions_with_hashes() -> None:
    for lock in (RUNTIME_LOCK, TEST_LOCK):
        lines = lock.read_text().splitlines()
        while lines and lines[0].startswith("#"):  # the header says how it was made
            lines.pop(0)
        blocks = re.split(r"\n(?=[A-Za-z0-9])", "\n".join(lines))
        assert len(blocks) == sum(map(len, _locked("\n".join(lines)).values())) > 0
        for block in blocks:
            assert _PIN.match(block), block
            assert "--hash=sha256:" in block, block


def test_the_runtime_lock_has_no_test_tool() -> None:
    pins = _locked(RUNTIME_LOCK.read_text())
    assert [tool for tool in TEST_ONLY if tool in pins] == []
    assert all(tool in _locked(TEST_LOCK.read_text()) for tool in TEST_ONLY)
