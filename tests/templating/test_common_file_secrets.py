"""Common files are rendered without the device's secrets, so no template can reach them."""

from __future__ import annotations

import dataclasses

import pytest

from magnaprov.templating import (
    DeviceRenderInput,
    Equipment,
    TemplateRenderError,
    compile_template_file,
    find_equipment,
    load_catalog,
    render_device_files,
    sample_render_input,
)


def _equipment(*keys: str) -> Equipment:
    found = find_equipment(*keys)
    assert found is not None
    return found


YEALINK = _equipment("yealink", "T46S", "V81")
COMMON = "y000000000066.cfg"
HEADER = "#!version:1.0.0.1\n"

# Ways a template might get a secret past a check that looks for the value itself.
TRICKS = {
    "reversed": "a = {{ line.password[::-1] }}",
    "sliced": "a = {{ line.password[:5] }}\nb = {{ line.password[5:] }}",
    "every other": "a = {{ line.password[::2] }}\nb = {{ line.password[1::2] }}",
    "joined": "a = {{ line.password|list|join('.') }}",
    "concatenated": "a = {{ 'x' ~ device.admin_password ~ 'y' }}",
    "attribute": "a = {{ line['pass' ~ 'word']|reverse|join }}",
    "getattr": "a = {{ device|attr('admin_password')|replace('-', '_') }}",
    "upper": "a = {{ device.admin_password|upper }}",
    "ordinals": "{% for c in line.password %}{{ c|int(0) }}{{ loop.index }} {% endfor %}",
    "key in url": "a = {{ device.provisioning_url[::-1] }}",
    "key in path": "a = {{ device.provisioning_path|replace('/', ' ') }}",
    "mapped": "a = {{ line.values()|map('reverse')|map('join')|join(',') }}",
    "items": "{% for k, v in device|dictsort %}{{ k }} {{ v|string|reverse|join }}\n{% endfor %}",
    "context": "{% set ns = namespace(t=line) %}a = {{ ns.t.password|reverse|join }}",
}


def _with_secrets(data: DeviceRenderInput, suffix: str) -> DeviceRenderInput:
    """The same device with other passwords and another key."""
    line = dataclasses.replace(data.line, password=f"Line-Secret-{suffix}")
    device = dataclasses.replace(
        data.device,
        admin_password=f"Admin-Secret-{suffix}",
        provisioning_url=f"https://prov.example.test/prov/DeviceKey{suffix}/",
    )
    return dataclasses.replace(data, line=line, device=device)


def _secrets(data: DeviceRenderInput) -> list[str]:
    url = data.device.provisioning_url
    key = url.rstrip("/").rsplit("/", 1)[-1]
    return [data.line.password, data.device.admin_password or "", url, key]


def _common_bytes(source: str, data: DeviceRenderInput) -> bytes | None:
    """The common file rendered from `source`, or None when the render refuses it."""
    try:
        files = render_device_files(YEALINK, {COMMON: source}, data)
    except TemplateRenderError:
        return None
    return next(file.content for file in files if file.pattern == COMMON)


@pytest.mark.parametrize("trick", TRICKS.values(), ids=TRICKS.keys())
def test_no_template_trick_gets_a_secret_into_a_common_file(trick: str) -> None:
    first = _with_secrets(sample_render_input(YEALINK), "Aq7Zp2")
    second = _with_secrets(sample_render_input(YEALINK), "Mw3Rt9")
    rendered = [_common_bytes(HEADER + trick + "\n", data) for data in (first, second)]
    assert rendered[0] == rendered[1]  # the output does not depend on any secret
    if rendered[0] is not None:
        text = rendered[0].decode().lower()
        for secret in _secrets(first):
            for form in (secret, secret[::-1], secret[:5], secret[5:]):
                assert form.lower() not in text, (trick, form)


def test_saving_a_common_file_that_reads_the_line_says_what_common_files_see() -> None:
    source = HEADER + "secret = {{ line.password[::-1] }}\n"
    check = compile_template_file(YEALINK, COMMON, source)
    (problem,) = check.problems
    assert problem.file == COMMON and problem.line == 2
    assert "'line' is undefined" in problem.message
    assert "common file" in problem.message


def test_a_common_file_extending_the_server_default_still_saves_and_renders() -> None:
    source = "{% extends server_default %}{% block extra %}x.y = {{ equipment.model }}\n"
    source += "{% endblock %}"
    check = compile_template_file(YEALINK, COMMON, source)
    assert check.ok, check.problems
    assert check.sample is not None and b"x.y = T46S" in check.sample.content


@pytest.mark.parametrize(
    "equipment", list(load_catalog().equipment()), ids=lambda e: "/".join(e.keys)
)
def test_the_server_default_common_files_do_not_depend_on_the_device(
    equipment: Equipment,
) -> None:
    one = sample_render_input(equipment)
    other = dataclasses.replace(
        _with_secrets(one, "Zz1Yy2"),
        extension=dataclasses.replace(one.extension, name="Bob Other", number="002"),
    )
    commons = [
        [(f.name, f.content) for f in render_device_files(equipment, None, d) if not f.per_device]
        for d in (one, other)
    ]
    assert commons[0] == commons[1]
