"""One way to build an explorer: every factory spells out its controls as keyword arguments with
defaults and documents each of them (Shift-Tab in Jupyter shows them), and refuses unknown ones."""

from __future__ import annotations

import inspect

import matplotlib
import pytest

matplotlib.use("Agg")

import explainer.explorers as explorers  # noqa: E402


@pytest.mark.parametrize("name", explorers.__all__)
def test_factories_spell_out_and_document_every_option(name):
    factory = getattr(explorers, name)
    parameters = inspect.signature(factory).parameters
    assert parameters, name
    for parameter in parameters.values():
        assert parameter.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD), (
            name, parameter)
        assert parameter.default is not inspect.Parameter.empty, (name, parameter.name)
    args = factory.__doc__.split("Args:")[1].split("\n\n")[0]
    for parameter in parameters:
        assert f"        {parameter}:" in args, (name, parameter)


@pytest.mark.parametrize("name", explorers.__all__)
def test_an_unknown_option_is_a_type_error_naming_it(name):
    with pytest.raises(TypeError, match="zoom"):
        getattr(explorers, name)(zoom=2)
