"""Small multi-file datasets for the streaming tests, and one torch thread."""

import pytest
from scale_helpers import write_parts

from latentwatch.demos.datasets import make_transactions
from latentwatch.engine.device import torch_threads

@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    with torch_threads(None):
        yield


@pytest.fixture(scope="session")
def transactions(tmp_path_factory):
    """(folder of 3 Parquet files with row groups of 500, the whole table, a labelled
    test table, its kinds)."""
    folder = tmp_path_factory.mktemp("tx") / "train"
    train, _ = make_transactions(4000, seed=0)
    write_parts(train, folder, 3, 500)
    test, kind = make_transactions(2000, anomaly_fraction=0.1, seed=1)
    return folder, train, test, kind
