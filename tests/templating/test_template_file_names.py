"""MAC normalization, file name patterns and matching requested names in any case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magnaprov.templating import (
    expand_pattern,
    find_equipment,
    load_catalog,
    match_pattern,
    normalize_mac,
)

MAC = "00:30:94:c2:5d:2e"


@pytest.mark.parametrize(
    "spelling",
    [
        "00:30:94:C2:5D:2E",
        "00-30-94-c2-5d-2e",
        "003094c25d2e",
        "003094C25D2E",
        " 00.30.94.c2.5d.2e ",
    ],
)
def test_any_common_spelling_of_a_mac_is_normalized(spelling: str) -> None:
    assert normalize_mac(spelling) == MAC


@pytest.mark.parametrize("bad", ["", "00:30:94:c2:5d", "00:30:94:c2:5d:2g", "00:30-94:c2:5d:2e"])
def test_a_malformed_mac_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a MAC"):
        normalize_mac(bad)


@pytest.mark.parametrize(
    ("maker", "model", "firmware", "pattern", "name"),
    [
        ("yealink", "T46S", "V81", "{mac}.cfg", "003094c25d2e.cfg"),
        ("yealink", "T46S", "V81", "{mac}.boot", "003094c25d2e.boot"),
        ("polycom", "VVX400", "UCS", "{mac}-user.cfg", "003094c25d2e-user.cfg"),
        ("cisco", "7960", "8.x", "SIP{MAC}.cnf", "SIP003094C25D2E.cnf"),
        ("cisco", "SPA504G", "SPA7", "{mac}.xml", "003094c25d2e.xml"),
        ("snom", "D785", "10.x", "snomD785-{MAC}.htm", "snomD785-003094C25D2E.htm"),
        ("aastra", "6731i", "3.x", "{MAC}.cfg", "003094C25D2E.cfg"),
        ("grandstream", "GXP2135", "1.0.x", "cfg{mac}.xml", "cfg003094c25d2e.xml"),
        ("fanvil", "X4", "2.x", "{mac}.cfg", "003094c25d2e.cfg"),
        ("panasonic", "KX-UT136", "STD", "Config{MAC}.cfg", "Config003094C25D2E.cfg"),
    ],
)
def test_patterns_expand_in_each_vendors_case(
    maker: str, model: str, firmware: str, pattern: str, name: str
) -> None:
    equipment = find_equipment(maker, model, firmware)
    assert equipment is not None and equipment.firmware.file(pattern) is not None
    assert expand_pattern(pattern, MAC) == name


@pytest.mark.parametrize(
    "requested",
    [
        "SIP003094C25D2E.cnf",
        "sip003094c25d2e.CNF",
        "Sip003094c25D2e.Cnf",
    ],
)
def test_cisco_names_match_in_any_case_and_give_the_mac(requested: str) -> None:
    equipment = find_equipment("cisco", "7960", "8.x")
    assert equipment is not None
    found = equipment.firmware.match_file_name(requested)
    assert found is not None
    assert (found.pattern, found.mac) == ("SIP{MAC}.cnf", MAC)


def test_common_names_match_without_a_mac() -> None:
    equipment = find_equipment("cisco", "7960", "8.x")
    assert equipment is not None
    found = equipment.firmware.match_file_name("sipdefault.CNF")
    assert found is not None
    assert (found.pattern, found.mac) == ("SIPDefault.cnf", None)
    assert equipment.firmware.match_file_name("SIP003094C25D2E.cnf.xml") is None


def test_polycom_master_file_is_never_read_as_a_mac() -> None:
    equipment = find_equipment("polycom", "VVX400", "UCS")
    assert equipment is not None
    found = equipment.firmware.match_file_name("000000000000.cfg")
    assert found is not None and found.mac is None
    assert load_catalog().mac_in_file_name("000000000000.cfg") is None


@pytest.mark.parametrize(
    ("requested", "mac"),
    [
        ("SIP003094C25D2E.cnf", MAC),
        ("snomD785-000413A11FA7.htm", "00:04:13:a1:1f:a7"),
        ("CFG000B828AA872.XML", "00:0b:82:8a:a8:72"),
        ("0004f200106c-user.cfg", "00:04:f2:00:10:6c"),
        ("y000000000066.cfg", None),
        ("favicon.ico", None),
    ],
)
def test_the_catalog_finds_the_mac_in_any_requested_name(requested: str, mac: str | None) -> None:
    assert load_catalog().mac_in_file_name(requested) == mac


@given(
    st.binary(min_size=6, max_size=6),
    st.sampled_from(
        [
            "{mac}.cfg",
            "SIP{MAC}.cnf",
            "snomD785-{MAC}.htm",
            "cfg{mac}.xml",
            "Config{MAC}.cfg",
        ]
    ),
)
def test_an_expanded_name_always_matches_its_pattern_back_in_any_case(
    raw: bytes, pattern: str
) -> None:
    mac = ":".join(f"{byte:02x}" for byte in raw)
    name = expand_pattern(pattern, mac)
    for variant in (name, name.upper(), name.lower()):
        found = match_pattern(pattern, variant)
        assert found is not None and found.mac == mac
