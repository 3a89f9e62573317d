"""A value cannot inject a key, a line or a tag, whatever it contains."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magnaprov.templating import (
    DeviceRenderInput,
    Equipment,
    FileFormat,
    find_equipment,
    render_device_files,
    render_file,
    sample_render_input,
)

from .phone_files import entries

EVIL = 'Evil\nsip_line1_password: x" <P34>y</P34> & \r\nDISPLAY_NAME_2="z"\u2028]]>--><!--'
PLAIN = "Alice Sample"

ONE_PER_FORMAT = {
    "yealink": ("yealink", "T46S", "V81"),
    "yealink_legacy": ("yealink", "T46G", "V80"),
    "polycom": ("polycom", "VVX400", "UCS"),
    "polycom_sip3": ("polycom", "SPIP335", "3.x"),
    "cisco_cnf": ("cisco", "7960", "8.x"),
    "cisco_spa": ("cisco", "SPA504G", "SPA7"),
    "snom": ("snom", "D785", "10.x"),
    "aastra": ("aastra", "6731i", "3.x"),
    "grandstream": ("grandstream", "GXP2135", "1.0.x"),
    "fanvil": ("fanvil", "X4", "2.x"),
    "panasonic": ("panasonic", "KX-UT136", "STD"),
}


def _equipment(keys: tuple[str, str, str]) -> Equipment:
    found = find_equipment(*keys)
    assert found is not None
    return found


def _named(data: DeviceRenderInput, name: str) -> DeviceRenderInput:
    line = dataclasses.replace(data.line, display_name=name)
    extension = dataclasses.replace(data.extension, name=name)
    return dataclasses.replace(data, line=line, extension=extension)


def _device_entries(equipment: Equipment, data: DeviceRenderInput) -> list[tuple[str, str]]:
    file = next(
        f
        for f in render_device_files(equipment, None, data)
        if f.per_device and f.pattern != "{mac}.boot"
    )
    spec = equipment.firmware.file(file.pattern)
    assert spec is not None
    return entries(spec.format, file.content)


def _assert_only_the_name_changed(
    plain: list[tuple[str, str]], evil: list[tuple[str, str]]
) -> None:
    assert [key for key, _ in evil] == [key for key, _ in plain]
    changed = [(p, e) for (_, p), (_, e) in zip(plain, evil, strict=True) if p != e]
    assert changed, "the display name is not in the file at all"
    for plain_value, evil_value in changed:
        assert PLAIN in plain_value
        assert "\n" not in evil_value and "\r" not in evil_value


@pytest.mark.parametrize("keys", ONE_PER_FORMAT.values(), ids=ONE_PER_FORMAT.keys())
def test_display_name_with_newline_quote_and_tags_changes_nothing_but_its_own_value(
    keys: tuple[str, str, str],
) -> None:
    equipment = _equipment(keys)
    data = sample_render_input(equipment)
    _assert_only_the_name_changed(
        _device_entries(equipment, _named(data, PLAIN)),
        _device_entries(equipment, _named(data, EVIL)),
    )


def test_display_name_with_newline_cannot_inject_a_yealink_key() -> None:
    equipment = _equipment(ONE_PER_FORMAT["yealink"])
    found = dict(_device_entries(equipment, _named(sample_render_input(equipment), EVIL)))
    assert 'sip_line1_password: x"' not in found
    assert found["account.1.display_name"].startswith("Evil sip_line1_password")


def test_display_name_cannot_close_a_grandstream_tag_or_add_a_p_code() -> None:
    equipment = _equipment(ONE_PER_FORMAT["grandstream"])
    found = _device_entries(equipment, _named(sample_render_input(equipment), EVIL))
    p34 = [value for key, value in found if key.endswith("/P34")]
    assert p34 == ["Sample-Phone-Pass-7"]
    assert any(
        value.startswith("Evil sip_line1_password") for key, value in found if key.endswith("/P3")
    )


def test_display_name_cannot_end_a_panasonic_quoted_value() -> None:
    equipment = _equipment(ONE_PER_FORMAT["panasonic"])
    found = dict(_device_entries(equipment, _named(sample_render_input(equipment), EVIL)))
    assert "DISPLAY_NAME_2" not in found
    assert '"' not in found["DISPLAY_NAME_1"]


def test_an_account_template_printing_a_value_gets_it_escaped_without_asking() -> None:
    equipment = _equipment(ONE_PER_FORMAT["grandstream"])
    source = (
        '<?xml version="1.0"?>\n<gs_provision version="1"><config version="1">'
        "<P3>{{ line.display_name }}</P3><P4>{{ line.display_name ~ '!' }}</P4>"
        "<P5>{{ [line.display_name, 'x']|join('-') }}</P5></config></gs_provision>\n"
    )
    file = render_file(
        equipment, "cfg{mac}.xml", source, _named(sample_render_input(equipment), EVIL)
    )
    tags = [key.rsplit("/", 1)[-1] for key, _ in entries(FileFormat.XML, file.content)]
    assert tags == [
        "gs_provision",
        "gs_provision@version",
        "config",
        "config@version",
        "P3",
        "P4",
        "P5",
    ]


def test_a_value_glued_to_a_rendered_block_is_still_escaped() -> None:
    equipment = _equipment(ONE_PER_FORMAT["yealink"])
    source = (
        "{% extends server_default %}"
        "{% block extra %}{{ super() ~ 'account.1.label = ' ~ line.display_name }}\n"
        "{% endblock %}"
    )
    file = render_file(equipment, "{mac}.cfg", source, _named(sample_render_input(equipment), EVIL))
    keys = [key for key, _ in entries(FileFormat.YEALINK, file.content)]
    assert 'sip_line1_password: x"' not in keys
    assert keys.count("account.1.label") == 2


@settings(max_examples=40, deadline=None)
@given(name=st.text(max_size=60))
@pytest.mark.parametrize("keys", ONE_PER_FORMAT.values(), ids=ONE_PER_FORMAT.keys())
def test_for_any_display_name_the_file_keeps_its_structure(
    keys: tuple[str, str, str], name: str
) -> None:
    equipment = _equipment(keys)
    data = sample_render_input(equipment)
    plain = _device_entries(equipment, _named(data, PLAIN))
    other = _device_entries(equipment, _named(data, name))
    assert [key for key, _ in other] == [key for key, _ in plain]
