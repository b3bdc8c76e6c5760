"""One torch thread for each test module and its fixtures, as the estimators use by default
(``n_jobs=None``): small networks run faster so, and timings do not depend on the cores."""

import pytest

from latentwatch.engine.device import torch_threads


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    with torch_threads(None):
        yield
