"""Account templates: extending the Server default, and the checks run on save."""

from __future__ import annotations

import pytest

from magnaprov.templating import (
    Equipment,
    FileFormat,
    TemplateRenderError,
    compile_template_file,
    default_template_name,
    find_equipment,
    render_device_files,
    render_file,
    sample_render_input,
)

from .phone_files import entries


def _equipment(*keys: str) -> Equipment:
    found = find_equipment(*keys)
    assert found is not None
    return found


YEALINK = _equipment("yealink", "T46S", "V81")
GRANDSTREAM = _equipment("grandstream", "GXP2135", "1.0.x")


def _default_and_override(source: str) -> tuple[dict[str, str], dict[str, str]]:
    data = sample_render_input(YEALINK)
    default = render_file(YEALINK, "{mac}.cfg", None, data)
    override = render_file(YEALINK, "{mac}.cfg", source, data)
    return (
        dict(entries(FileFormat.YEALINK, default.content)),
        dict(entries(FileFormat.YEALINK, override.content)),
    )


def test_an_account_template_extends_the_default_and_overrides_one_block() -> None:
    default, override = _default_and_override(
        "{% extends server_default %}\n"
        "{% block time %}\nlocal_time.ntp_server1 = ntp.tenant.example\n{% endblock %}\n"
    )
    assert override["local_time.ntp_server1"] == "ntp.tenant.example"
    assert "local_time.time_zone" not in override
    untouched = {k: v for k, v in default.items() if not k.startswith("local_time.")}
    assert override == {**untouched, "local_time.ntp_server1": "ntp.tenant.example"}


def test_super_keeps_the_default_block_and_adds_to_it() -> None:
    default, override = _default_and_override(
        "{% extends server_default %}\n"
        "{% block extra %}{{ super() }}features.dnd.enable = 1\n{% endblock %}\n"
    )
    assert override == {**default, "features.dnd.enable": "1"}


def test_server_default_names_the_built_in_file_of_the_same_pattern() -> None:
    assert default_template_name(YEALINK, "{mac}.cfg") == "default/yealink/T46S/V81/{mac}.cfg"


def test_render_device_files_uses_the_account_file_where_there_is_one() -> None:
    data = sample_render_input(YEALINK)
    source = "#!version:1.0.0.1\nlocal_time.time_zone = {{ time.offset_hours }}\n"
    files = {f.pattern: f for f in render_device_files(YEALINK, {"{mac}.cfg": source}, data)}
    defaults = {f.pattern: f for f in render_device_files(YEALINK, None, data)}
    assert files["{mac}.cfg"].content == b"#!version:1.0.0.1\nlocal_time.time_zone = +1\n"
    assert files["{mac}.boot"].content == defaults["{mac}.boot"].content


def test_a_saved_template_that_compiles_and_renders_passes_the_check() -> None:
    check = compile_template_file(
        YEALINK, "{mac}.cfg", "{% extends server_default %}{% block extra %}a = 1\n{% endblock %}"
    )
    assert check.ok and check.problems == ()
    assert check.sample is not None and check.sample.name == "001565123456.cfg"


def test_a_save_time_syntax_error_is_reported_with_its_line() -> None:
    check = compile_template_file(
        YEALINK, "{mac}.cfg", "#!version:1.0.0.1\na = 1\nb = {{ line.user + }}\nc = 3\n"
    )
    assert not check.ok
    (problem,) = check.problems
    assert (problem.file, problem.line) == ("{mac}.cfg", 3)
    assert "unexpected" in problem.message


def test_a_render_error_is_reported_with_its_file_and_line() -> None:
    source = "#!version:1.0.0.1\na = 1\nb = 2\nc = {{ line.no_such_value }}\n"
    check = compile_template_file(YEALINK, "{mac}.cfg", source)
    (problem,) = check.problems
    assert (problem.file, problem.line) == ("{mac}.cfg", 4)
    assert "no_such_value" in problem.message
    with pytest.raises(TemplateRenderError) as caught:
        render_device_files(YEALINK, {"{mac}.cfg": source}, sample_render_input(YEALINK))
    assert (caught.value.file, caught.value.line) == ("{mac}.cfg", 4)


def test_an_error_inside_an_overridden_block_points_at_the_account_template() -> None:
    source = "{% extends server_default %}\n{% block lines %}\n{{ 1 // 0 }}\n{% endblock %}\n"
    check = compile_template_file(YEALINK, "{mac}.cfg", source)
    (problem,) = check.problems
    assert (problem.file, problem.line) == ("{mac}.cfg", 3)


def test_a_saved_template_whose_output_the_phone_cannot_read_is_refused() -> None:
    check = compile_template_file(GRANDSTREAM, "cfg{mac}.xml", "<gs_provision><config>\n")
    (problem,) = check.problems
    assert problem.file == "cfg000b82123456.xml"
    assert "well-formed" in problem.message
    wrong_root = compile_template_file(GRANDSTREAM, "cfg{mac}.xml", "<settings/>\n")
    assert "<gs_provision>" in wrong_root.problems[0].message


def test_a_saved_common_file_may_not_carry_a_password() -> None:
    source = "#!version:1.0.0.1\nsecret = {{ line.password }}\n"
    check = compile_template_file(YEALINK, "y000000000066.cfg", source)
    (problem,) = check.problems
    assert problem.message.startswith("'line' is undefined; a common file sees only")


def test_a_file_the_equipment_does_not_have_is_refused_on_save() -> None:
    check = compile_template_file(YEALINK, "cfg{mac}.xml", "<x/>")
    assert check.problems[0].message == "this equipment has no file with that name"


def test_an_oversized_source_is_refused_on_save() -> None:
    check = compile_template_file(YEALINK, "{mac}.cfg", "#" * 70_000)
    assert "65536" in check.problems[0].message


def test_a_broken_stored_template_fails_the_bulk_render_with_its_line_each_time() -> None:
    source = "#!version:1.0.0.1\n{{ oops( }}\n"
    for _ in range(2):  # the compile error is cached, and raised again
        with pytest.raises(TemplateRenderError) as caught:
            render_device_files(YEALINK, {"{mac}.cfg": source}, sample_render_input(YEALINK))
        assert (caught.value.file, caught.value.line) == ("{mac}.cfg", 2)


def test_panasonic_output_gets_crlf_and_a_final_empty_line_whatever_the_template_wrote() -> None:
    panasonic = _equipment("panasonic", "KX-UT136", "STD")
    header = "# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!"
    source = header + '\nNTP_ADDR="{{ server.ntp_server }}"'
    file = render_file(panasonic, "Config{MAC}.cfg", source, sample_render_input(panasonic))
    assert file.content == (header + '\r\nNTP_ADDR="pool.ntp.example.test"\r\n\r\n').encode()


def test_an_account_template_is_compiled_once_for_many_devices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from magnaprov.templating.compiling import sandbox_for

    environment = sandbox_for(FileFormat.YEALINK)
    compiled: list[str | None] = []
    original = environment.compile

    def counting(source: str, filename: str | None = None) -> object:
        compiled.append(filename)
        return original(source, filename=filename)

    monkeypatch.setattr(environment, "compile", counting)
    source = "#!version:1.0.0.1\n# compiled once, marker 5d1f\na = {{ line.user }}\n"
    data = sample_render_input(YEALINK)
    for _ in range(50):
        render_device_files(YEALINK, {"{mac}.cfg": source}, data)
    assert compiled == ["{mac}.cfg"]
