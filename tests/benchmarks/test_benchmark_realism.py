"""The realism distances of benchmarks/generation/realism.py against scipy and known cases."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `benchmarks` lives at the root

from benchmarks.generation.realism import (
    as_categories,
    correlation_difference,
    discrete_columns,
    discriminator_auc,
    frame_realism,
    independent_columns,
    ks_distance,
    mixed_table,
    one_hot,
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


def _small_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 1.0, n)
    amount[rng.uniform(size=n) < 0.1] = np.nan
    return pd.DataFrame({
        "amount": amount,
        "age": pd.array(rng.integers(18, 80, n), dtype="Int64"),
        "country": rng.choice(["FR", "DE", "(other)"], n, p=[0.6, 0.3, 0.1]).astype(object),
        "entry_mode": pd.Series(rng.choice(["chip", "swipe", None], n, p=[0.5, 0.2, 0.3])),
        "online": pd.array(rng.uniform(size=n) < 0.4, dtype="boolean"),
    })


def test_frame_realism_of_identical_frames_is_zero():
    frame = _small_frame()
    r = frame_realism(frame, frame.copy(), numeric=["amount", "age"])
    assert r["ks"] == 0.0 and r["tv"] == 0.0 and r["corr"] == 0.0


def test_frame_realism_sees_a_changed_category_distribution():
    frame = _small_frame()
    changed = frame.copy()
    changed["country"] = "FR"
    r = frame_realism(frame, changed, numeric=["amount", "age"])
    assert r["ks"] == 0.0
    assert r["tv"] == pytest.approx(0.4 / 3, abs=0.05)  # one of three columns at ~0.4
    shuffled = frame.copy()
    shuffled["country"] = frame["country"].sample(frac=1, random_state=0).to_numpy()
    moved = frame_realism(frame, shuffled, numeric=["amount", "age"])
    assert moved["tv"] == 0.0 and moved["corr"] > 0.0  # same marginals, pairs broken
    swapped = frame.copy()
    swapped["country"] = frame["country"].map({"FR": "DE", "DE": "FR", "(other)": "(other)"})
    assert frame_realism(frame, swapped, numeric=["amount", "age"])["tv"] > 0.05


def test_categories_compare_as_labels_with_missing_as_its_own():
    assert list(as_categories(pd.Series([True, None, "True"], dtype=object))) == [
        "True", "(missing)", "True"]
    assert total_variation(as_categories(pd.array([1, None], dtype="Int64")),
                           as_categories(pd.Series([1, 1]))) == pytest.approx(0.5)
    frame = _small_frame(50)
    A, B = one_hot(frame, frame, numeric=["amount", "age"])
    assert A.shape == B.shape and not np.isnan(A).any()
    # amount, its gap flag, age, 3 countries, 3 entry modes (missing included), 2 flags
    assert A.shape[1] == 1 + 1 + 1 + 3 + 3 + 2


def test_independent_columns_of_a_frame_keep_columns_and_labels():
    frame = _small_frame()
    resampled = independent_columns(frame, 100, np.random.default_rng(0))
    assert list(resampled.columns) == list(frame.columns)
    assert len(resampled) == 100
    assert set(as_categories(resampled["country"])) <= set(as_categories(frame["country"]))
    assert resampled["online"].dtype == frame["online"].dtype
