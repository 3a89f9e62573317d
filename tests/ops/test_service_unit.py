"""deploy/magnaprov.service passes `systemd-analyze verify` and stays hardened; a broken copy
does not pass; deploy/magnaprov.env names only settings that exist."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, PROJECT_ROOT

from magnaprov.settings import Settings

UNIT = PROJECT_ROOT / "deploy" / "magnaprov.service"
ENVIRONMENT_FILE = PROJECT_ROOT / "deploy" / "magnaprov.env"
# Debian's own units (targets the unit refers to, such as network-online.target).
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
MAX_EXPOSURE = 25  # `systemd-analyze security` tenths: 2.5 of 10 at most
WORKERS_VARIABLE = "WORKERS"  # read by the unit for `serve --workers`, not by magnaprov


@pytest.fixture(scope="module")
def analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if IN_CI:
            pytest.fail("systemd-analyze is required in CI (make test-system-deps installs it)")
        pytest.skip("systemd-analyze is not installed")
    return found


def install(unit_text: str, root: Path, *, with_program: bool = True) -> None:
    """Lay out a file-system root holding the unit, Debian's units and the unit's program."""
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.relative_to("/"), symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/magnaprov.service").write_text(unit_text)
    program = next(
        line.split("=", 1)[1].split()[0]
        for line in unit_text.splitlines()
        if line.startswith("ExecStart=")
    )
    if with_program:  # verify checks that the program exists and is executable
        path = root / program.lstrip("/")
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)


def verify(analyze: str, root: Path) -> list[str]:
    """The problems `systemd-analyze verify` finds in the unit (it only warns about some)."""
    done = subprocess.run(
        [analyze, "verify", f"--root={root}", "--man=no", "magnaprov.service"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "magnaprov" in line]
    if done.returncode != 0 and not problems:
        problems = [f"exit {done.returncode}: {done.stderr.strip()}"]
    return problems


def test_the_unit_passes_systemd_analyze_verify(analyze, tmp_path):
    install(UNIT.read_text(), tmp_path / "root")
    assert verify(analyze, tmp_path / "root") == []


@pytest.mark.parametrize(
    ("broken", "replacement"),
    [
        ("ProtectSystem=strict", "ProtectSistem=strict"),  # a misspelt directive
        ("ProtectSystem=strict", "ProtectSystem=strictly"),  # a value it does not take
        ("NoNewPrivileges=yes", "NoNewPrivileges=maybe"),  # not a boolean
        ("[Service]", "[Servce]"),  # a section it does not know
    ],
)
def test_a_broken_copy_of_the_unit_fails_verify(analyze, tmp_path, broken, replacement):
    text = UNIT.read_text()
    assert broken in text
    install(text.replace(broken, replacement, 1), tmp_path / "root")
    assert verify(analyze, tmp_path / "root") != []


def test_a_unit_whose_program_is_missing_fails_verify(analyze, tmp_path):
    install(UNIT.read_text(), tmp_path / "root", with_program=False)
    assert verify(analyze, tmp_path / "root") != []


def exposure_within_bound(analyze: str, root: Path) -> bool:
    done = subprocess.run(
        [analyze, "security", "--offline=yes", f"--root={root}", f"--threshold={MAX_EXPOSURE}",
         "magnaprov.service"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return done.returncode == 0


def test_the_unit_runs_unprivileged_with_only_the_tftp_port_capability(analyze, tmp_path):
    directives = [line.strip() for line in UNIT.read_text().splitlines()]
    for expected in (
        "DynamicUser=yes",
        "StateDirectory=magnaprov",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
    ):
        assert expected in directives
    install(UNIT.read_text(), tmp_path / "root")
    assert exposure_within_bound(analyze, tmp_path / "root")


def test_the_exposure_bound_fails_a_unit_without_its_hardening(analyze, tmp_path):
    hardening = (
        "NoNewPrivileges", "Protect", "Private", "Restrict", "SystemCall", "CapabilityBounding",
        "LockPersonality", "DynamicUser", "ProcSubset", "RemoveIPC", "UMask",
    )  # fmt: skip
    kept = [line for line in UNIT.read_text().splitlines() if not line.startswith(hardening)]
    install("\n".join(kept) + "\n", tmp_path / "root")
    assert not exposure_within_bound(analyze, tmp_path / "root")


def test_the_environment_file_names_only_settings_that_exist():
    known = {f"MAGNAPROV_{name.upper()}" for name in Settings.model_fields}
    named = [
        line.split("=", 1)[0]
        for line in ENVIRONMENT_FILE.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert named, "the environment file sets nothing"
    assert [name for name in named if name not in known | {WORKERS_VARIABLE}] == []
    assert "MAGNAPROV_DATABASE_URL" in named and "MAGNAPROV_LOG_FORMAT" in named
