"""The package's declared surface is what it exports, and it is documented."""

from __future__ import annotations

import inspect

import magnaprov.templating as templating


def test_every_name_in_all_is_exported_once() -> None:
    assert len(set(templating.__all__)) == len(templating.__all__)
    for name in templating.__all__:
        assert hasattr(templating, name), name


def test_the_functions_other_layers_call_have_docstrings() -> None:
    for name in templating.__all__:
        value = getattr(templating, name)
        if inspect.isfunction(value):
            assert inspect.getdoc(value), name
