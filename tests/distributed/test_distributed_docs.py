"""The examples in the docstrings of latentwatch.distributed's modules run and give what
they show."""

import doctest
import importlib

import pytest

pytest.importorskip("dask.dataframe")

MODULES = ["__init__", "worker", "partitions", "planning", "dask", "parts", "spark", "extras"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODULES)
def test_distributed_docstring_examples(name):
    module = importlib.import_module("latentwatch.distributed" if name == "__init__"
                                     else f"latentwatch.distributed.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, result
    assert result.attempted >= (0 if name == "spark" else 1), result
