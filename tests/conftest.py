"""Shared test data: a low-rank normal population with planted anomalies."""

import numpy as np
import pytest
from planted import planted_anomalies


@pytest.fixture(scope="session")
def planted():
    X, y = planted_anomalies()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    train = np.arange(len(y)) < 1000
    return X[train & (y == 0)], X[~train], y[~train]
