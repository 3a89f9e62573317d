"""The declared floors of what tenant input reaches exclude releases with known holes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# (package, first release without the advisory, the advisory)
FIXED_IN = [
    ("jinja2", "3.1.6", "CVE-2025-27516 sandbox escape through |attr"),
    ("jinja2", "3.1.5", "CVE-2024-56326 sandbox escape through str.format"),
    ("strawberry-graphql", "0.257.0", "CVE-2025-22151 relay node type confusion"),
    ("starlette", "0.49.1", "CVE-2025-62727 Range header parsing"),
    ("starlette", "0.40.0", "CVE-2024-47874 multipart form DoS"),
    ("h11", "0.16.0", "CVE-2025-43859 request smuggling"),
    ("cryptography", "44.0.1", "CVE-2024-12797 in the bundled OpenSSL"),
]


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    found = (Requirement(text) for text in project["dependencies"])
    return {requirement.name.lower(): requirement for requirement in found}


@pytest.mark.parametrize(("package", "fixed", "advisory"), FIXED_IN)
def test_no_release_below_the_fix_satisfies_the_declared_requirement(
    package: str, fixed: str, advisory: str
) -> None:
    requirement = _requirements()[package]
    fixed_version = Version(fixed)
    floors = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    assert floors and min(floors) >= fixed_version, (package, advisory)
