"""Small multi-file datasets for the streaming tests, and one torch thread."""

import numpy as np
import pandas as pd
import pytest
from planted import planted_anomalies
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
    train, _ = make_transactions(3000, seed=0)
    write_parts(train, folder, 3, 250)
    test, kind = make_transactions(1500, anomaly_fraction=0.1, seed=1)
    return folder, train, test, kind


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    """(folder of 4 Parquet files of planted numeric rows, row groups of 100; test rows,
    labels)."""
    X, y = planted_anomalies(n_normal=1400, n_anomalies=60, seed=3)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    columns = [f"f{j}" for j in range(X.shape[1])]
    train = pd.DataFrame(X[:1000][y[:1000] == 0], columns=columns)
    folder = tmp_path_factory.mktemp("planted") / "train"
    write_parts(train, folder, 4, 100)
    return folder, pd.DataFrame(X[1000:], columns=columns), y[1000:]
