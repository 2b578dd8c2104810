"""The runnable examples in the public docstrings stay correct."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hpo_lab.hypergrad._memory",
    "hpo_lab.hypergrad._maps",
    "hpo_lab.hypergrad._reverse",
    "hpo_lab.hypergrad._forward",
    "hpo_lab.hypergrad._implicit",
    "hpo_lab.hypergrad._hd",
    "hpo_lab.hypergrad._marthe",
    "hpo_lab.hypergrad._rtho",
    "hpo_lab.hypergrad._outer",
    "hpo_lab.hypergrad._trace",
    "hpo_lab.examples.hyper_cleaning",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
