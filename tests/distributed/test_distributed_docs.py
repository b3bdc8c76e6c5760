"""The examples in latentwatch.distributed's docstrings run and give what they show."""

import doctest

import pytest

pytest.importorskip("dask.dataframe")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_distributed_docstring_examples():
    import latentwatch.distributed as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0, result
