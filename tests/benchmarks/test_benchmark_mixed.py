"""benchmarks/detection/mixed.py and the variant parts: planted swaps, peer preparation, sizes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `benchmarks` lives at the root

from benchmarks.detection.mixed import peer, peer_frame, peer_scores, plant_swaps
from benchmarks.detection.variants import variant_params
from latentwatch.models.layers import default_hidden_dims, default_latent_dim


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"size": rng.normal(size=n), "kind": rng.choice(["a", "b"], size=n),
                         "weight": rng.lognormal(size=n), "flag": rng.random(n) < 0.5,
                         "when": pd.Timestamp("2024-01-01")
                         + pd.to_timedelta(rng.integers(0, 10**4, n), "min")})


def test_planted_swaps_take_real_values_from_other_rows_in_two_columns():
    frame = _frame()
    planted, y = plant_swaps(frame, 0.05, np.random.default_rng(1))
    assert y.sum() == 10 and planted.shape == frame.shape
    assert list(planted.index) == list(frame.index)
    changed = (planted != frame).sum(axis=1).to_numpy()
    assert (changed[y == 0] == 0).all()
    assert (changed[y == 1] <= 2).all() and changed[y == 1].sum() > 0
    for col in frame:
        assert set(planted[col]) <= set(frame[col])


def test_peers_get_numbers_for_timestamps_and_booleans_and_score_every_row():
    pytest.importorskip("pyod")
    frame = _frame()
    prepared = peer_frame(frame)
    assert list(prepared) == ["size", "kind", "weight", "flag", "when_hour", "when_weekday"]
    assert prepared["flag"].dtype == float and prepared["when_hour"].between(0, 24).all()
    for method in ("iforest", "knn", "lof"):
        scores = peer_scores(method, peer(method, prepared, 0).fit(prepared), prepared)
        assert scores.shape == (len(frame),) and np.isfinite(scores).all()
    far = prepared.iloc[:1].assign(size=50.0)
    model = peer("knn", prepared, 0).fit(prepared)
    assert peer_scores("knn", model, far)[0] > np.max(peer_scores("knn", model, prepared))


def test_sensitivity_parts_halve_and_double_one_thing_each():
    k, dims = default_latent_dim(30), default_hidden_dims(30)
    assert variant_params("half-latent", 30) == {"latent_dim": k // 2}
    assert variant_params("double-latent", 30) == {"latent_dim": 2 * k}
    assert variant_params("double-width", 30) == {"hidden_dims": [2 * h for h in dims]}
    assert variant_params("lr2e-3", 30) == {"learning_rate": 2e-3}
    assert variant_params("mog10", 30) == {"prior_components": 10}


def test_the_real_tables_load_from_their_packages():
    pytest.importorskip("palmerpenguins")
    from benchmarks.detection.mixed import penguins

    table = penguins()
    assert table.shape == (344, 8) and table["species"].nunique() == 3
