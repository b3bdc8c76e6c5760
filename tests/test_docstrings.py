"""The examples in the docstrings of the estimator's modules run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["latentwatch.detector", "latentwatch.persistence", "latentwatch.service",
           "latentwatch.generate", "latentwatch.explain", "latentwatch.thresholds",
           "latentwatch.model_input"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
