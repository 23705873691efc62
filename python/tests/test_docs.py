"""The examples in the docstrings run."""

import doctest

import pytest

import mlp._analyze
import mlp._estimators
import mlp._forecast
import mlp._robust


@pytest.mark.parametrize("module", [mlp._analyze, mlp._estimators, mlp._forecast, mlp._robust])
def test_docstring_examples(module):
    pytest.importorskip("pandas")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
