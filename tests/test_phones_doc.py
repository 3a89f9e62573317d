"""docs/phones.md's boot-path table says what the catalog's boot-path data says."""

from __future__ import annotations

import re
from pathlib import Path

from magnaprov.templating import BootPath, BootTransport, find_equipment

DOC = Path(__file__).resolve().parents[1] / "docs" / "phones.md"


def table_rows() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- boot-paths:", 1)[1].split("<!-- /boot-paths -->", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`(?: \(fallback\))?", cell)


def fallbacks(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)` \(fallback\)", cell)


def answered(boot: BootPath, transport: BootTransport) -> list[str]:
    return [step.name for step in boot.steps if transport in step.answered_over]


def test_the_boot_path_table_agrees_with_the_catalog() -> None:
    rows = table_rows()
    assert len(rows) >= 10
    seen = set()
    for _vendor, equipment_cell, options, first, over_tftp, over_http in rows:
        [keys] = names(equipment_cell)
        equipment = find_equipment(*keys.split("/"))
        assert equipment is not None, keys
        boot = equipment.firmware.boot
        seen.add(
            (equipment.manufacturer.key, equipment.model.link_style, len(equipment.model.protocols))
        )
        assert [int(option) for option in options.split(",")] == list(boot.dhcp_options), keys
        assert names(first) == [step.name for step in boot.steps], keys
        assert fallbacks(first) == [step.name for step in boot.steps if step.fallback], keys
        assert names(over_tftp) == answered(boot, "TFTP"), keys
        assert names(over_http) == answered(boot, "HTTP"), keys
    makers = {maker for maker, _style, _count in seen}
    assert {"yealink", "polycom", "cisco", "snom", "aastra", "grandstream"} <= makers
    assert {"fanvil", "panasonic"} <= makers
    # Cisco twice: the TFTP-only 79xx and the SPA with its profile rule.
    assert ("cisco", "directory", 1) in seen and ("cisco", "spa_profile_rule", 3) in seen
