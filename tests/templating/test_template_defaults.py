"""The Server default: every file of every catalog equipment, in its vendor's syntax."""

from __future__ import annotations

import re

import pytest

from magnaprov.templating import (
    Equipment,
    FileFormat,
    load_catalog,
    render_device_files,
    sample_render_input,
)

from .phone_files import entries, expected_root, xml_root

EQUIPMENT = list(load_catalog().equipment())


def _id(equipment: Equipment) -> str:
    return "/".join(equipment.keys)


@pytest.mark.parametrize("equipment", EQUIPMENT, ids=_id)
def test_every_equipment_renders_every_file_in_its_vendors_format(equipment: Equipment) -> None:
    files = render_device_files(equipment, None, sample_render_input(equipment))
    assert [file.pattern for file in files] == [spec.pattern for spec in equipment.firmware.files]
    for file, spec in zip(files, equipment.firmware.files, strict=True):
        found = entries(spec.format, file.content)
        assert found, f"{file.name} is empty"
        if spec.format is FileFormat.XML:
            assert xml_root(file.content).tag == expected_root(equipment, spec)


@pytest.mark.parametrize("equipment", EQUIPMENT, ids=_id)
def test_common_files_carry_nothing_tenant_specific_or_secret(equipment: Equipment) -> None:
    data = sample_render_input(equipment)
    forbidden = [
        data.line.password,
        data.line.user,
        data.line.display_name,
        data.extension.name,
        data.account.name,
        data.account.login,
        data.organization.name,
        data.device.friendly_name,
        data.device.provisioning_url,
        "SampleDeviceKey",
        data.device.mac.replace(":", ""),
        data.device.mac,
        "Sample-Admin-Pass",
    ]
    for file in render_device_files(equipment, None, data):
        if not file.per_device:
            text = file.content.decode().lower()
            leaked = [value for value in forbidden if value.lower() in text]
            assert not leaked, f"{file.name} carries {leaked}"


@pytest.mark.parametrize("equipment", EQUIPMENT, ids=_id)
def test_per_device_files_carry_the_line_and_the_provisioning_link(equipment: Equipment) -> None:
    data = sample_render_input(equipment)
    device_files = [f for f in render_device_files(equipment, None, data) if f.per_device]
    text = "\n".join(file.content.decode() for file in device_files)
    if equipment.manufacturer.key == "yealink" and "{mac}.boot" in text:
        return
    assert data.line.password in text
    assert data.line.display_name in text
    assert data.line.registrar_host in text
    if equipment.model.protocols != ("TFTP",):
        assert "SampleDeviceKey" in text


@pytest.mark.parametrize("equipment", EQUIPMENT, ids=_id)
def test_rendering_twice_gives_the_same_bytes_and_etags(equipment: Equipment) -> None:
    data = sample_render_input(equipment)
    first = render_device_files(equipment, None, data)
    second = render_device_files(equipment, None, data)
    assert [(f.name, f.content, f.etag) for f in first] == [
        (f.name, f.content, f.etag) for f in second
    ]


def test_etags_are_quoted_strong_hashes_that_change_with_the_bytes() -> None:
    equipment = next(e for e in EQUIPMENT if e.keys == ("yealink", "T46S", "V81"))
    data = sample_render_input(equipment)
    files = {f.pattern: f for f in render_device_files(equipment, None, data)}
    etag = files["{mac}.cfg"].etag
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 66
    assert len({f.etag for f in files.values()}) == len(files)


def test_file_names_are_expanded_for_the_devices_mac() -> None:
    equipment = next(e for e in EQUIPMENT if e.keys == ("cisco", "7960", "8.x"))
    files = render_device_files(equipment, None, sample_render_input(equipment))
    assert [f.name for f in files] == [
        "SIPDefault.cnf",
        "SIP003094123456.cnf",
        "dialplan.xml",
        "syncinfo.xml",
    ]
    assert [f.per_device for f in files] == [False, True, False, False]


def test_cisco_79x0_files_carry_the_application_version_as_image_version() -> None:
    equipment = next(e for e in EQUIPMENT if e.keys == ("cisco", "7940", "7.x"))
    files = render_device_files(equipment, None, sample_render_input(equipment))
    device = dict(entries(FileFormat.CISCO_CNF, files[1].content))
    assert device["image_version"] == '"P0S3-08-11-00"'


@pytest.mark.parametrize(
    ("keys", "pattern", "key", "value"),
    [
        (("yealink", "T46S", "V81"), "{mac}.cfg", "local_time.time_zone", "+1"),
        (("yealink", "T46S", "V81"), "{mac}.cfg", "static.auto_provision.repeat.minutes", "10"),
        (("yealink", "T46G", "V80"), "{mac}.cfg", "auto_provision.repeat.minutes", "10"),
        (("panasonic", "KX-UT136", "STD"), "Config{MAC}.cfg", "TIME_ZONE", "60"),
        (("panasonic", "KX-UT136", "STD"), "Config{MAC}.cfg", "CFG_CYCLIC_INTVL", "10"),
        (("aastra", "6731i", "3.x"), "{MAC}.cfg", "time zone minutes", "-60"),
        (("cisco", "7960", "8.x"), "SIP{MAC}.cnf", "time_zone", '"CET"'),
    ],
)
def test_time_zone_and_resync_interval_are_in_each_vendors_unit(
    keys: tuple[str, str, str], pattern: str, key: str, value: str
) -> None:
    equipment = next(e for e in EQUIPMENT if e.keys == keys)
    spec = equipment.firmware.file(pattern)
    assert spec is not None
    file = next(
        f
        for f in render_device_files(equipment, None, sample_render_input(equipment))
        if f.pattern == pattern
    )
    assert dict(entries(spec.format, file.content))[key] == value


@pytest.mark.parametrize(
    ("keys", "path", "value"),
    [
        (("polycom", "VVX400", "UCS"), "/polycomConfig@tcpIpApp.sntp.gmtOffset", "3600"),
        (("polycom", "VVX400", "UCS"), "/polycomConfig@prov.polling.period", "3600"),
        (("snom", "D785", "10.x"), "/settings/phone-settings[0]/settings_refresh_timer", "600"),
        (("cisco", "SPA504G", "SPA7"), "/flat-profile/Time_Zone", "GMT+01:00"),
        (("cisco", "SPA504G", "SPA7"), "/flat-profile/Resync_Periodic", "600"),
        (("grandstream", "GXP2135", "1.0.x"), "/gs_provision/config[1]/P193", "10"),
    ],
)
def test_xml_vendors_get_time_and_resync_in_their_units(
    keys: tuple[str, str, str], path: str, value: str
) -> None:
    equipment = next(e for e in EQUIPMENT if e.keys == keys)
    files = render_device_files(equipment, None, sample_render_input(equipment))
    device = next(f for f in files if f.per_device)
    found = [v for key, v in entries(FileFormat.XML, device.content) if _bare(key) == _bare(path)]
    assert found == [value]


def _bare(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path)
