"""The equipment catalog: data files, models, MAC prefixes and file names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from magnaprov.templating import find_equipment, load_catalog

PHONES_MD_MODELS = {
    "yealink": [
        "T46S",
        "T48S",
        "T42S",
        "T41S",
        "T46G",
        "T48G",
        "T42G",
        "T41P",
        "T40P",
        "T46U",
        "T48U",
        "T43U",
        "T54W",
        "T53",
        "T53W",
        "T57W",
        "T58W",
        "T56A",
        "T34W",
        "T28P",
        "VP-T49G",
        "W52P",
    ],
    "polycom": ["SPIP335", "VVX400", "SSIP6000"],
    "cisco": ["7940", "7960", "SPA504G", "SPA508G", "SPA525G"],
    "linksys": ["SPA942", "SPA962", "SPA2102"],
    "snom": ["snom320", "snom360", "snom710", "snom760", "D345", "D715", "D785"],
    "aastra": ["6730i", "6731i", "6757i", "6867i", "6940"],
    "grandstream": ["GXP2000", "GXP2130", "GXP2135", "GXP2160", "GXP1628", "HT801"],
    "fanvil": ["X3S", "X4", "X5U-V2", "X6", "X6U", "V67"],
    "panasonic": ["KX-UT136", "KX-UT670", "KX-HDV100", "KX-HDV230", "KX-HDV430", "KX-TGP500"],
}


def test_catalog_has_at_least_thirty_models_from_nine_makers() -> None:
    catalog = load_catalog()
    assert len(catalog.manufacturers) == 9
    assert sum(len(maker.models) for maker in catalog.manufacturers) >= 30


@pytest.mark.parametrize(
    ("maker", "model"),
    [(maker, model) for maker, models in PHONES_MD_MODELS.items() for model in models],
)
def test_every_model_named_in_the_phone_notes_is_in_the_catalog(maker: str, model: str) -> None:
    manufacturer = load_catalog().manufacturer(maker)
    assert manufacturer is not None
    assert manufacturer.model(model) is not None


def test_load_catalog_is_read_once_and_cached() -> None:
    assert load_catalog() is load_catalog()


def test_find_equipment_returns_the_triple_or_none() -> None:
    found = find_equipment("cisco", "7960", "8.x")
    assert found is not None
    maker, model, firmware = found
    assert (maker.name, model.key, firmware.key) == ("Cisco", "7960", "8.x")
    assert find_equipment("cisco", "7960", "9.x") is None
    assert find_equipment("nobody", "7960", "8.x") is None


def test_only_the_cisco_79x0_firmwares_need_an_application_version() -> None:
    needing = {
        equipment.keys
        for equipment in load_catalog().equipment()
        if equipment.firmware.requires_application_version
    }
    assert needing == {
        ("cisco", model, firmware) for model in ("7940", "7960") for firmware in ("7.x", "8.x")
    }


def test_cisco_79x0_is_tftp_only_and_spa_phones_use_a_profile_rule_link() -> None:
    phone = find_equipment("cisco", "7940", "7.x")
    spa = find_equipment("cisco", "SPA504G", "SPA7")
    linksys = find_equipment("linksys", "SPA942", "SPA6")
    yealink = find_equipment("yealink", "T46S", "V81")
    assert phone and spa and linksys and yealink
    assert phone.model.protocols == ("TFTP",)
    assert spa.model.link_style == linksys.model.link_style == "spa_profile_rule"
    assert yealink.model.link_style == "directory"
    assert set(yealink.model.protocols) == {"TFTP", "HTTP", "HTTPS"}


@pytest.mark.parametrize(
    ("maker", "prefix"),
    [
        ("yealink", "00:15:65"),
        ("yealink", "80:5e:c0"),
        ("polycom", "00:04:f2"),
        ("cisco", "00:30:94"),
        ("linksys", "00:0e:08"),
        ("snom", "00:04:13"),
        ("aastra", "00:08:5d"),
        ("aastra", "14:00:e9"),
        ("grandstream", "00:0b:82"),
        ("fanvil", "0c:38:3e"),
        ("panasonic", "00:80:f0"),
    ],
)
def test_manufacturers_carry_their_mac_prefixes(maker: str, prefix: str) -> None:
    manufacturer = load_catalog().manufacturer(maker)
    assert manufacturer is not None
    assert prefix in manufacturer.mac_prefixes
    assert load_catalog().manufacturers_for_mac(prefix + ":aa:bb:cc") == (manufacturer,)


def test_every_mac_prefix_is_written_like_00_15_65() -> None:
    for maker in load_catalog().manufacturers:
        for prefix in maker.mac_prefixes:
            assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){2}", prefix)


def test_yealink_common_files_are_named_after_the_hardware_id() -> None:
    expected = {
        "T46S": "66",
        "T48S": "65",
        "T42S": "67",
        "T41S": "68",
        "T46G": "28",
        "T48G": "35",
        "T42G": "29",
        "T41P": "36",
        "T40P": "54",
        "T46U": "108",
        "T48U": "109",
        "T43U": "107",
        "T54W": "96",
        "T53": "95",
        "T53W": "95",
        "T57W": "97",
        "T58W": "150",
        "T56A": "56",
    }
    for model, hardware_id in expected.items():
        equipment = find_equipment("yealink", model, "V81")
        assert equipment is not None
        common = {spec.pattern for spec in equipment.firmware.files if not spec.per_device}
        assert f"y{hardware_id.zfill(12)}.cfg" in common


def test_yealink_legacy_firmware_has_no_boot_file_and_v81_has_both() -> None:
    legacy = find_equipment("yealink", "T46G", "V80")
    boot = find_equipment("yealink", "T46G", "V81")
    assert legacy and boot
    assert [spec.pattern for spec in legacy.firmware.files] == ["y000000000028.cfg", "{mac}.cfg"]
    assert {"{mac}.boot", "y000000000000.boot"} <= {spec.pattern for spec in boot.firmware.files}


def test_every_file_pattern_has_a_server_default_template_and_a_known_format() -> None:
    root = Path(__file__).resolve().parents[2] / "magnaprov" / "templating" / "defaults"
    for equipment in load_catalog().equipment():
        for spec in equipment.firmware.files:
            assert (root / spec.template).is_file(), spec.template
            assert spec.per_device == ("{mac}" in spec.pattern or "{MAC}" in spec.pattern)


def test_adding_a_model_is_a_data_change_in_a_toml_file() -> None:
    folder = Path(__file__).resolve().parents[2] / "magnaprov" / "templating" / "catalog"
    names = sorted(path.name for path in folder.glob("*.toml"))
    assert names == [
        f"{maker.key}.toml"
        for maker in sorted(load_catalog().manufacturers, key=lambda maker: maker.key)
    ]
    assert 'key = "T46S"' in (folder / "yealink.toml").read_text()
