"""The render context: plain data only, with each vendor's derived values."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from magnaprov.templating import (
    DeviceRenderInput,
    Equipment,
    build_render_context,
    find_equipment,
    sample_render_input,
)


def _equipment(*keys: str) -> Equipment:
    found = find_equipment(*keys)
    assert found is not None
    return found


YEALINK = _equipment("yealink", "T46S", "V81")


def _with(data: DeviceRenderInput, **device: Any) -> DeviceRenderInput:
    return dataclasses.replace(data, device=dataclasses.replace(data.device, **device))


def _with_zone(data: DeviceRenderInput, zone: str) -> DeviceRenderInput:
    return dataclasses.replace(data, server=dataclasses.replace(data.server, time_zone=zone))


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return isinstance(value, (str, int, bool))  # bool is an int; no None, no objects


def test_the_context_is_nested_dicts_lists_strings_numbers_and_booleans_only() -> None:
    context = build_render_context(YEALINK, sample_render_input(YEALINK))
    assert _plain(context)
    assert set(context) == {
        "account",
        "organization",
        "extension",
        "line",
        "device",
        "server",
        "time",
        "resync",
        "sip",
        "equipment",
        "files",
    }


def test_the_context_names_line_one_as_the_design_says() -> None:
    context = build_render_context(YEALINK, sample_render_input(YEALINK))
    assert context["line"] == {
        "user": "0027*001",
        "auth_user": "0027*001",
        "password": "Sample-Phone-Pass-7",
        "display_name": "Alice Sample",
        "registrar_host": "sip.example.test",
        "registrar_port": 5060,
        "transport": "udp",
        "transport_upper": "UDP",
    }
    assert context["extension"] == {
        "number": "001",
        "full_number": "0027*001",
        "name": "Alice Sample",
    }
    assert context["files"] == {
        "boot": "001565123456.boot",
        "common_boot": "y000000000000.boot",
        "common": "y000000000066.cfg",
        "device": "001565123456.cfg",
    }


@pytest.mark.parametrize(
    ("keys", "mac"),
    [
        (("yealink", "T46S", "V81"), "001565a1b2c3"),
        (("cisco", "7960", "8.x"), "001565A1B2C3"),
        (("snom", "D785", "10.x"), "001565A1B2C3"),
        (("panasonic", "KX-UT136", "STD"), "001565A1B2C3"),
        (("grandstream", "GXP2135", "1.0.x"), "001565a1b2c3"),
    ],
)
def test_device_mac_is_in_the_vendors_case(keys: tuple[str, str, str], mac: str) -> None:
    equipment = _equipment(*keys)
    data = _with(sample_render_input(equipment), mac="00-15-65-A1-B2-C3")
    device = build_render_context(equipment, data)["device"]
    assert isinstance(device, dict)
    assert device["mac"] == mac
    assert device["mac_colons"] == "00:15:65:a1:b2:c3"
    assert device["mac_dashes_upper"] == "00-15-65-A1-B2-C3"


def test_the_provisioning_url_is_also_given_in_parts() -> None:
    data = _with(
        sample_render_input(YEALINK), provisioning_url="https://prov.example.test:8443/prov/KEY/"
    )
    device = build_render_context(YEALINK, data)["device"]
    assert isinstance(device, dict)
    assert (
        device["provisioning_scheme"],
        device["provisioning_host"],
        device["provisioning_hostname"],
        device["provisioning_port"],
        device["provisioning_path"],
    ) == ("https", "prov.example.test:8443", "prov.example.test", 8443, "prov/KEY")


@pytest.mark.parametrize(
    ("zone", "hours", "minutes", "west", "gmt", "posix_full"),
    [
        (
            "Europe/Paris",
            "+1",
            60,
            -60,
            "GMT+01:00",
            "CET-1CEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00",
        ),
        (
            "America/New_York",
            "-5",
            -300,
            300,
            "GMT-05:00",
            "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00",
        ),
        ("Asia/Kolkata", "+5:30", 330, -330, "GMT+05:30", "IST-5:30"),
        ("UTC", "0", 0, 0, "GMT+00:00", "UTC0"),
        ("Europe/Dublin", "0", 0, 0, "GMT+00:00", "GMT0IST-1,M3.5.0/01:00:00,M10.5.0/02:00:00"),
    ],
)
def test_time_zones_are_given_in_every_vendor_form(
    zone: str, hours: str, minutes: int, west: int, gmt: str, posix_full: str
) -> None:
    time = build_render_context(YEALINK, _with_zone(sample_render_input(YEALINK), zone))["time"]
    assert isinstance(time, dict)
    assert (
        time["offset_hours"],
        time["offset_minutes"],
        time["minutes_west"],
        time["offset_seconds"],
        time["gmt_label"],
        time["posix_full"],
    ) == (hours, minutes, west, minutes * 60, gmt, posix_full)


def test_summer_time_rules_come_out_in_each_vendors_shape() -> None:
    time = build_render_context(YEALINK, sample_render_input(YEALINK))["time"]
    assert isinstance(time, dict)
    dst = time["dst"]
    assert isinstance(dst, dict)
    assert dst["enabled"] is True and dst["save_minutes"] == 60
    assert dst["start"] == {
        "month": 3,
        "month_name": "March",
        "month_abbr": "Mar",
        "week": 5,
        "last": True,
        "first_day": 29,
        "weekday": 0,
        "weekday_iso": 7,
        "weekday_name": "Sunday",
        "weekday_abbr": "Sun",
        "hour": 2,
        "minute": 0,
        "minutes": 120,
        "time": "02:00",
    }
    assert time["spa_dst_rule"] == "start=3/-1/7/02:00;end=10/-1/7/03:00;save=1"
    assert time["snom_dst"] == "3600 03.05.07 02:00:00 10.05.07 03:00:00"


def test_a_zone_without_summer_time_says_so() -> None:
    data = _with_zone(sample_render_input(YEALINK), "Asia/Tokyo")
    time = build_render_context(YEALINK, data)["time"]
    assert isinstance(time, dict) and isinstance(time["dst"], dict)
    assert time["dst"]["enabled"] is False
    assert time["spa_dst_rule"] == time["snom_dst"] == ""


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (1, {"minutes": 1, "seconds": 60, "seconds_min_3600": 3600, "hours": 1, "days": 1}),
        (10, {"minutes": 10, "seconds": 600, "seconds_min_3600": 3600, "hours": 1, "days": 1}),
        (
            1441,
            {"minutes": 1441, "seconds": 86460, "seconds_min_3600": 86460, "hours": 25, "days": 2},
        ),
    ],
)
def test_the_update_interval_is_converted_to_each_unit(
    minutes: int, expected: dict[str, int]
) -> None:
    data = _with(sample_render_input(YEALINK), update_interval=minutes)
    assert build_render_context(YEALINK, data)["resync"] == expected


@pytest.mark.parametrize(
    "change",
    [
        {"update_interval": 0},
        {"update_interval": 100_000},
        {"protocol": "FTP"},
        {"mac": "nope"},
    ],
)
def test_invalid_device_input_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"invalid|not a MAC"):
        build_render_context(YEALINK, _with(sample_render_input(YEALINK), **change))


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_render_context(YEALINK, _with_zone(sample_render_input(YEALINK), "Mars/Olympus"))


def test_sample_input_fits_the_equipment_it_is_made_for() -> None:
    cisco = _equipment("cisco", "7940", "8.x")
    data = sample_render_input(cisco)
    assert data.device.mac.startswith("00:30:94")
    assert data.device.protocol == "TFTP"
    assert data.device.application_version == "P0S3-08-11-00"
    assert sample_render_input(YEALINK).device.application_version == ""
