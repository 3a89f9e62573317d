"""The import contracts of pyproject.toml hold, and break when a module imports upward."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = [
    "magnaprov.serve",
    "magnaprov.schema",
    "magnaprov.resolvers",
    "magnaprov.tenancy | magnaprov.templating",
    "magnaprov.db",
]


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the package in `tree`, with that tree's pyproject.toml."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, free to break."""
    shutil.copytree(
        ROOT / "magnaprov",
        tmp_path / "magnaprov",
        ignore=shutil.ignore_patterns("node_modules", "__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}\n")


def test_the_layers_of_the_design_are_the_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = [c for c in config["contracts"] if c["type"] == "layers"]
    assert [contract["layers"] for contract in layers] == [LAYERS]


def test_the_code_keeps_every_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("db/base.py", "import magnaprov.resolvers.services", "Layers point downward"),
        ("tenancy/viewer.py", "import magnaprov.templating.catalog", "Layers point downward"),
        ("resolvers/errors.py", "import magnaprov.schema.errors", "Layers point downward"),
        ("backup/archive.py", "import magnaprov.serve.health", "Nothing imports serve"),
        ("settings.py", "import magnaprov.db.roles", "Settings are importable by all"),
        ("schema/errors.py", "import sqlalchemy", "Schema adapts GraphQL"),
    ],
)
def test_an_import_against_the_layers_breaks_its_contract(
    scratch: Path, module: str, line: str, contract: str
) -> None:
    assert _lint_imports(scratch).returncode == 0  # the copy holds before the change
    _append(scratch / "magnaprov" / module, line)
    result = _lint_imports(scratch)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
    assert f"magnaprov.{module.removesuffix('.py').replace('/', '.')}" in broken, result.stdout
