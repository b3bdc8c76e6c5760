"""The realism distances of benchmarks/realism.py against scipy and known cases."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ks_2samp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks` lives at the root

from benchmarks.realism import (
    correlation_difference,
    discrete_columns,
    discriminator_auc,
    independent_columns,
    ks_distance,
    mixed_table,
    total_variation,
)


def test_ks_distance_matches_scipy():
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.3, 2.0):
        a, b = rng.normal(size=200), rng.normal(shift, size=150).round(1)
        assert ks_distance(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


def test_total_variation_of_known_distributions():
    assert total_variation([0, 0, 1, 1], [0, 1, 0, 1]) == 0.0
    assert total_variation([0, 0, 0, 0], [1, 1]) == 1.0
    assert total_variation([0, 0, 0, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    assert total_variation([0, 1], [0, 2]) == pytest.approx(0.5)  # a value only one side has


def test_independent_columns_keep_marginals_and_lose_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    X = np.c_[x, x + 0.1 * rng.normal(size=3000), rng.integers(0, 3, 3000)]
    shuffled = independent_columns(X, 3000, rng)
    assert all(ks_distance(X[:, j], shuffled[:, j]) < 0.05 for j in range(3))
    assert correlation_difference(X, X) == 0.0
    assert correlation_difference(X, shuffled) > 0.3  # the (0, 1) pair lost its 0.99
    assert list(discrete_columns(X)) == [False, False, True]


def test_discriminator_auc_is_chance_for_the_same_distribution_and_high_otherwise():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 3))
    assert abs(discriminator_auc(real, rng.normal(size=(400, 3))) - 0.5) < 0.08
    assert discriminator_auc(real, rng.normal(1.5, size=(400, 3))) > 0.9


def test_mixed_table_has_its_types_and_dependencies():
    table = mixed_table(2000, seed=0)
    assert list(discrete_columns(table.to_numpy(float))) == [
        False, False, True, True, True, False, True]
    assert table["income"].corr(table["segment"]) > 0.5
    assert (table["spend"][table["purchases"] == 0] == 0).all()
