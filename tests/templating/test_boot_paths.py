"""Boot paths beside the catalog: every equipment has one, and a malformed one is refused with a
message naming the file, the firmware and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from magnaprov.templating import CatalogError, load_catalog
from magnaprov.templating.catalog_files import read_manufacturer
from magnaprov.templating.file_names import pattern_has_mac

MAKER = """
key = "acme"
name = "Acme"
mac_case = "lower"
mac_prefixes = ["00:15:65"]
protocols = ["TFTP", "HTTP"]
models = [{{ key = "A1", name = "A1", lines = 1, firmwares = ["1.x"] }}]

[firmwares."1.x"]
name = "1.x"
files = [
    {{ role = "common", pattern = "acme.cfg", format = "yealink", template = "yealink/v81/common.cfg.j2" }},
    {{ role = "device", pattern = "{{mac}}.cfg", format = "yealink", template = "yealink/v81/device.cfg.j2" }},
]
{boot}
"""
BOOT = """
[firmwares."1.x".boot]
dhcp_options = [66]
user_agent_mac = {agent}
main = "{main}"

[[firmwares."1.x".boot.requests]]
name = "{first}"
over = {over}
{first_extra}

[[firmwares."1.x".boot.requests]]
name = "{{mac}}.cfg"
over = ["TFTP", "HTTP"]
answered = true
"""
GOOD = {
    "agent": "true",
    "main": "{mac}.cfg",
    "first": "acme.cfg",
    "over": '["TFTP", "HTTP"]',
    "first_extra": "answered = true",
}


def write(tmp_path: Path, boot: str) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(MAKER.format(boot=boot), encoding="utf-8")
    return path


def test_a_well_formed_boot_path_is_read_with_what_each_name_is_answered_over(
    tmp_path: Path,
) -> None:
    maker = read_manufacturer(write(tmp_path, BOOT.format(**GOOD)))
    boot = maker.models[0].firmwares[0].boot
    assert [step.name for step in boot.requests("TFTP")] == ["acme.cfg", "{mac}.cfg"]
    assert [step.answered_over for step in boot.steps] == [("HTTP",), ("TFTP", "HTTP")]
    assert boot.answered_names("TFTP") == frozenset({"{mac}.cfg"})
    assert boot.main == "{mac}.cfg"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"main": "acme.cfg"}, "main file 'acme.cfg' must carry the MAC and be reached"),
        ({"first": "other.cfg"}, "'other.cfg' is no file of this firmware"),
        ({"first_extra": ""}, "a miss needs a 'note'"),
        ({"first_extra": "answered = true\nfallback = true"}, "first request cannot be"),
        ({"over": '["FTP"]'}, "'over' must list TFTP and/or HTTP"),
        (
            {"agent": "false", "over": '["HTTP"]'},
            "answered, but neither its name nor the User-Agent tells the device",
        ),
        ({"first_extra": 'note = "x"\nleads_to = ["{mac}.cfg"]'}, "a miss leads nowhere"),
        (
            {"first_extra": 'answered = true\nleads_to = ["nothing.cfg"]'},
            "'nothing.cfg' is no file",
        ),
    ],
)
def test_a_malformed_boot_path_is_refused_naming_its_entry(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    path = write(tmp_path, BOOT.format(**{**GOOD, **change}))
    with pytest.raises(CatalogError, match=r"acme\.toml model A1 firmware 1\.x") as raised:
        read_manufacturer(path)
    assert message in str(raised.value)


def test_a_firmware_without_a_boot_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"firmware 1\.x boot: missing"):
        read_manufacturer(write(tmp_path, ""))


def test_every_equipment_has_a_boot_path_ending_with_its_own_file() -> None:
    for equipment in load_catalog().equipment():
        boot = equipment.firmware.boot
        patterns = {spec.pattern for spec in equipment.firmware.files}
        assert boot.main in patterns and pattern_has_mac(boot.main), equipment.keys
        assert 66 in boot.dhcp_options or 150 in boot.dhcp_options, equipment.keys
        for step in boot.steps:
            assert step.answer is None or step.answer in patterns, (equipment.keys, step.name)
            assert step.note, (equipment.keys, step.name)


def test_polycom_answers_its_per_mac_master_and_misses_the_common_one() -> None:
    equipment = load_catalog().find("polycom", "VVX400", "UCS")
    assert equipment is not None
    first, second = equipment.firmware.boot.steps
    assert (first.name, first.answered_over) == ("{mac}.cfg", ("TFTP", "HTTP"))
    assert first.leads_to == ("{mac}-user.cfg", "common.cfg")
    assert (second.name, second.answer, second.fallback) == ("000000000000.cfg", None, True)
