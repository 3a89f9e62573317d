"""Known Jinja2 sandbox escapes and resource bombs: all refused or bounded, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from magnaprov.templating import (
    MAX_OUTPUT_BYTES,
    TemplateRenderError,
    find_equipment,
    render_file,
    sample_render_input,
)

HEADER = "#!version:1.0.0.1\n"
QUICK = 1.5  # seconds; the render deadline is 2 s, limits should trip well before


def _render(body: str) -> bytes:
    equipment = find_equipment("yealink", "T46S", "V81")
    assert equipment is not None
    return render_file(
        equipment, "{mac}.cfg", HEADER + body, sample_render_input(equipment)
    ).content


ESCAPES = {
    "class_of_a_string": "{{ ''.__class__ }}",
    "mro_to_subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "list_base_subclasses": "{{ [].__class__.__base__.__subclasses__() }}",
    "attr_filter_chain": "{{ ''|attr('__class__')|attr('__mro__')|last|attr('__subclasses__') }}",
    "getitem_dunder": "{{ ''['__class__'] }}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner_globals": "{{ joiner.__init__.__globals__ }}",
    "namespace_globals": "{{ namespace.__init__.__globals__.__builtins__ }}",
    "lipsum_globals": "{{ lipsum.__globals__['os'].system('id') }}",
    "range_globals": "{{ range.__globals__ }}",
    "dict_type_tricks": "{{ dict.__class__ }}",
    "template_reference_context": "{{ self._TemplateReference__context }}",
    "template_reference_context_attr": "{{ self|attr('_TemplateReference__context') }}",
    "loop_internals": "{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    "loop_method_globals": "{% for x in [1] %}{{ loop.cycle.__func__ }}{% endfor %}",
    "macro_internals": "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "caller_internals": "{% macro m() %}{{ caller.__globals__ }}{% endmacro %}"
    "{% call m() %}x{% endcall %}",
    "generator_frame": "{{ (range(3)|map('string')).gi_frame.f_globals }}",
    "str_format_attribute": "{{ '{0.__class__.__mro__}'.format('') }}",
    "str_format_map": "{{ '{x.__class__}'.format_map({'x': ''}) }}",
    "str_format_via_getitem": "{{ ''['format']('{0.__class__}', '') }}",
    "int_to_bytes": "{{ (1).to_bytes(1000000000, 'big') }}",
    "dict_update_mutation": "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "list_append_mutation": "{% set l = [] %}{{ l.append(1) }}",
    "include_a_file": "{% include '/etc/passwd' %}",
    "import_a_module": "{% import 'os' as os %}",
    "extends_a_path": "{% extends '../../../../etc/passwd' %}",
    "safe_filter": "{{ line.display_name|safe }}",
    "tojson_filter": "{{ line|tojson }}",
    "filter_section": "{% filter upper %}x{% endfilter %}",
    "autoescape_off": "{% autoescape false %}{{ line.display_name }}{% endautoescape %}",
    "printing_a_macro": "{% macro m() %}{% endmacro %}{{ m }}",
}

BOMBS = {
    "huge_range": "{% for i in range(100000000) %}{% endfor %}",
    "range_of_a_huge_number": "{{ range(10 ** 30)|length }}",
    "nested_loops": "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}"
    "{% endfor %}",
    "loop_over_a_large_product": "{% for a in range(9999) %}{% for b in 'x' * 9999 %}"
    "{% for c in range(9999) %}{% endfor %}{% endfor %}{% endfor %}",
    "string_repetition": "{{ 'x' * 1000000000 }}",
    "string_repetition_reversed": "{{ 1000000000 * 'x' }}",
    "list_repetition": "{{ ([1] * 100000000)|length }}",
    "power_tower": "{{ 2 ** 100000000 }}",
    "big_integer_squaring": "{% set a = 2 ** 4000 %}{{ a * a }}",
    "doubling_by_concatenation": "{% set s = 'x' * 200000 %}{% set s = s ~ s %}{{ s|length }}",
    "doubling_in_a_namespace": "{% set ns = namespace(s='xx') %}{% for i in range(64) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "percent_width": "{{ '%999999999s' % 'x' }}",
    "percent_star_width": "{{ '%*s' % (100000000, 'x') }}",
    "format_filter_width": "{{ '%.999999999f'|format(1.5) }}",
    "center_width": "{{ 'x'|center(1000000000) }}",
    "ljust_method": "{{ 'x'.ljust(1000000000) }}",
    "replace_growth": "{{ ('a' * 100000)|replace('a', 'b' * 10000) }}",
    "replace_method_growth": "{{ ('a' * 100000).replace('a', 'b' * 10000) }}",
    "join_growth": "{{ (['x' * 200000] * 1000)|join }}",
    "indent_growth": "{{ ('a\\n' * 100000)|indent('x' * 1000) }}",
    "wordwrap_growth": "{{ ('ab ' * 80000)|wordwrap(1, wrapstring='x' * 1000) }}",
    "batch_padding": "{{ [1]|batch(1000000000, 'x')|list|length }}",
    "slice_count": "{{ range(10)|slice(1000000000)|list|length }}",
    "repr_of_a_huge_list": "{% set l = ['x' * 200000] * 60000 %}{{ l }}",
    "string_filter_of_a_huge_list": "{% set l = ['x' * 200000] * 60000 %}{{ l|string }}",
    "recursive_macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "exponential_macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
    "{% endmacro %}{{ f(30) }}",
    "recursive_block_through_self": "{% block b %}{{ self.b() }}{% endblock %}",
    "huge_output": "{% for i in range(10000) %}{{ 'x' * 100000 }}{% endfor %}",
    "huge_literal_output": "{% for i in range(10000) %}" + "y" * 5000 + "{% endfor %}",
    "buffered_in_a_macro": "{% macro m() %}{% for i in range(10000) %}"
    + "y" * 1000
    + "{% endfor %}{% endmacro %}{% set x = m() %}done",
    "lipsum_paragraphs": "{{ lipsum(n=100000) }}",
    "many_objects_in_sets": "{% for i in range(5000) %}{% set s = 'x' * 250000 %}"
    "{% set t = s[1:] %}{% endfor %}",
}


@pytest.mark.parametrize("body", ESCAPES.values(), ids=ESCAPES.keys())
def test_sandbox_escapes_are_refused(body: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRenderError):
        _render(body)
    assert time.monotonic() - started < QUICK


@pytest.mark.parametrize("body", BOMBS.values(), ids=BOMBS.keys())
def test_resource_bombs_are_refused_quickly(body: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRenderError):
        _render(body)
    assert time.monotonic() - started < QUICK


def test_a_shell_command_in_a_template_never_runs(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    attempts = [
        "{{ cycler.__init__.__globals__.os.system('touch %s') }}",
        "{{ ''.__class__.__mro__[1].__subclasses__()[0]('touch %s') }}",
        "{{ joiner|attr('__init__')|attr('__globals__') }}{{ 'touch %s' }}",
        "{{ self._TemplateReference__context.environment }}{{ 'touch %s' }}",
    ]
    for attempt in attempts:
        with pytest.raises(TemplateRenderError):
            _render(attempt.replace("%s", str(canary)))
    assert not canary.exists()


def test_a_refused_template_is_reported_with_its_line() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        _render("a = 1\nb = 2\n{{ ''.__class__ }}\n")
    assert (caught.value.file, caught.value.line) == ("{mac}.cfg", 4)
    assert "unsafe" in caught.value.message


def test_output_over_the_limit_is_refused_with_a_clear_error() -> None:
    with pytest.raises(TemplateRenderError, match=f"output over {MAX_OUTPUT_BYTES} bytes"):
        _render("{% for i in range(100) %}{{ 'x' * 10000 }}{% endfor %}")


def test_range_is_capped_at_ten_thousand_items() -> None:
    assert _render("{{ range(10000)|length }}").endswith(b"10000")
    with pytest.raises(TemplateRenderError, match="range"):
        _render("{{ range(10001)|length }}")


def test_ordinary_template_features_still_work_in_the_sandbox() -> None:
    body = (
        "{% set ns = namespace(count=0) %}"
        "{% for codec in sip.codecs %}{% set ns.count = ns.count + 1 %}{% endfor %}"
        "a = {{ ns.count }}|{{ sip.codec_names|join(',') }}|{{ '%02d' % 7 }}"
        "|{{ line.user.split('*')[1] }}|{{ 'x' * 3 }}|{{ {'k': 'v'}.get('k') }}"
        "|{% set c = cycler('p', 'q') %}{{ c.next() }}{{ c.next() }}"
        "|{{ line.display_name|upper|replace('ALICE', 'A.') }}"
        "|{% for x in [[1, [2]]] recursive %}{{ loop(x) if x is iterable else x }}{% endfor %}"
    )
    assert _render(body).decode().endswith("a = 3|G722,PCMA,PCMU|07|001|xxx|v|pq|A. SAMPLE|12")
