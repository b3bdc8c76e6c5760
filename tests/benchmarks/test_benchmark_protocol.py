"""Fast tests of the benchmark protocol (benchmarks/): no PyOD, no latentwatch, no torch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `benchmarks` lives at the root

from benchmarks.detection.aggregate import (
    mean_ranks,
    per_seed_means,
    seed_means,
    summarize_setting,
    wins_ties_losses,
)
from benchmarks.detection.protocol import (
    cache_key,
    evaluate,
    load_dataset,
    split_indices,
    stratified_subsample,
    training_rows,
)


def _labels(n: int, n_anomalies: int, seed: int = 123) -> np.ndarray:
    y = np.zeros(n, dtype=np.int64)
    y[np.random.default_rng(seed).choice(n, n_anomalies, replace=False)] = 1
    return y


# --- subsampling ---------------------------------------------------------------------------


def test_subsample_keeps_anomaly_ratio_and_is_deterministic() -> None:
    y = _labels(20_000, 600)  # 3 %
    idx = stratified_subsample(y, 5_000, seed=0)
    assert len(idx) == 5_000
    assert len(np.unique(idx)) == 5_000
    assert np.all(np.diff(idx) > 0)  # sorted
    assert abs(y[idx].mean() - y.mean()) <= 1 / 5_000
    assert np.array_equal(idx, stratified_subsample(y, 5_000, seed=0))
    assert not np.array_equal(idx, stratified_subsample(y, 5_000, seed=1))


def test_subsample_is_identity_below_the_limit() -> None:
    y = _labels(300, 10)
    assert np.array_equal(stratified_subsample(y, 300), np.arange(300))


def test_load_dataset_subsamples_above_50000_rows(tmp_path: Path) -> None:
    n = 60_000
    y = _labels(n, 1_800)
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))
    np.savez(tmp_path / "big.npz", X=X, y=y)
    data = load_dataset(tmp_path, "big")
    again = load_dataset(tmp_path, "big")
    assert data.X.shape == (50_000, 2)
    assert data.n_original == n
    assert abs(data.y.mean() - y.mean()) <= 1 / 50_000
    assert np.array_equal(data.X, again.X)
    rows = data.X[:, 0].astype(np.int64)  # X and y stay aligned
    assert np.array_equal(y[rows], data.y)


# --- splits and settings -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_is_stratified_disjoint_and_deterministic(seed: int) -> None:
    y = _labels(1_000, 90)
    train, test = split_indices(y, seed)
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1_000))
    assert len(test) == 400
    assert y[test].sum() == 36  # 40 % of the 90 anomalies
    assert y[train].sum() == 54
    train2, test2 = split_indices(y, seed)
    assert np.array_equal(train, train2)
    assert np.array_equal(test, test2)


def test_splits_differ_between_seeds() -> None:
    y = _labels(1_000, 90)
    assert not np.array_equal(split_indices(y, 0)[1], split_indices(y, 1)[1])


def test_novelty_training_rows_have_no_anomalies() -> None:
    y = _labels(1_000, 90)
    train, _ = split_indices(y, 0)
    novelty = training_rows(train, y, "novelty")
    assert y[novelty].sum() == 0
    assert len(novelty) == (y[train] == 0).sum()
    assert np.array_equal(training_rows(train, y, "unsupervised"), train)
    with pytest.raises(ValueError):
        training_rows(train, y, "supervised")


def test_evaluate_metrics_and_non_finite_scores() -> None:
    y = np.array([0, 0, 1, 1])
    roc, pr = evaluate(y, np.array([0.1, 0.2, 0.3, 0.4]))
    assert roc == pytest.approx(1.0)
    assert pr == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-finite"):
        evaluate(y, np.array([0.1, np.nan, 0.3, 0.4]))


# --- cache key -----------------------------------------------------------------------------


def test_cache_key_depends_on_library_version_and_run_identity() -> None:
    base = {
        "dataset": "cardio",
        "seed": 0,
        "setting": "novelty",
        "method": "pyod-vae",
        "versions": {"pyod": "3.6.7", "torch": "2.13.0"},
        "threads": 1,
    }
    key = cache_key(**base)
    assert key == cache_key(**base)
    assert key == cache_key(**{**base, "versions": {"torch": "2.13.0", "pyod": "3.6.7"}})
    changed = [
        {"versions": {"pyod": "3.6.8", "torch": "2.13.0"}},
        {"versions": {"pyod": "3.6.7", "torch": "2.14.0"}},
        {"dataset": "thyroid"},
        {"seed": 1},
        {"setting": "unsupervised"},
        {"method": "pyod-ae"},
        {"threads": 2},
    ]
    for change in changed:
        assert cache_key(**{**base, **change}) != key, change


# --- aggregation ---------------------------------------------------------------------------


def _results() -> pd.DataFrame:
    """Hand-made results: datasets A and B complete; C has a failed lw-vae seed."""
    rows = [
        # dataset, seed, method, auc_roc, fit_s, error
        ("A", 0, "iforest", 0.80, 1.0, ""),
        ("A", 1, "iforest", 0.90, 3.0, ""),
        ("A", 0, "ecod", 0.70, 0.1, ""),
        ("A", 1, "ecod", 0.80, 0.1, ""),
        ("A", 0, "lw-vae", 0.8504, 10.0, ""),
        ("A", 1, "lw-vae", 0.8500, 20.0, ""),
        ("B", 0, "iforest", 0.60, 1.0, ""),
        ("B", 1, "iforest", 0.60, 1.0, ""),
        ("B", 0, "ecod", 0.90, 0.2, ""),
        ("B", 1, "ecod", 0.70, 0.2, ""),
        ("B", 0, "lw-vae", 0.65, 5.0, ""),
        ("B", 1, "lw-vae", 0.75, 5.0, ""),
        ("C", 0, "iforest", 0.50, 1.0, ""),
        ("C", 1, "iforest", 0.50, 1.0, ""),
        ("C", 0, "ecod", 0.50, 1.0, ""),
        ("C", 1, "ecod", 0.50, 1.0, ""),
        ("C", 0, "lw-vae", 0.90, 1.0, ""),
        ("C", 1, "lw-vae", np.nan, np.nan, "RuntimeError: boom"),
    ]
    df = pd.DataFrame(rows, columns=["dataset", "seed", "method", "auc_roc", "fit_s", "error"])
    df["setting"] = "unsupervised"
    df["auc_pr"] = df["auc_roc"] / 2
    df["score_s"] = 0.5
    df["peak_mem_mb"] = 10.0
    return df


def test_seed_means_and_completeness() -> None:
    means = seed_means(_results()).set_index(["dataset", "method"])
    assert means.loc[("A", "iforest"), "auc_roc"] == pytest.approx(0.85)
    assert means.loc[("A", "iforest"), "fit_s"] == pytest.approx(2.0)
    assert means.loc[("B", "ecod"), "auc_roc"] == pytest.approx(0.80)
    assert bool(means.loc[("C", "lw-vae"), "complete"]) is False
    assert means.loc[("C", "lw-vae"), "auc_roc"] == pytest.approx(0.90)  # successful seed only
    assert bool(means.loc[("C", "ecod"), "complete"]) is True


def test_summary_means_ranks_and_wins_ties_losses() -> None:
    methods, peers = ["iforest", "ecod", "lw-vae"], ["iforest", "ecod"]
    table, datasets = summarize_setting(seed_means(_results()), methods, peers)
    assert datasets == ["A", "B"]  # C excluded: lw-vae failed a seed there
    assert table["n_datasets"].tolist() == [2, 2, 2]
    assert table.loc["iforest", "mean_auc_roc"] == pytest.approx(0.725)
    assert table.loc["ecod", "mean_auc_roc"] == pytest.approx(0.775)
    assert table.loc["lw-vae", "mean_auc_roc"] == pytest.approx(0.7751)
    assert table.loc["lw-vae", "mean_auc_pr"] == pytest.approx(0.7751 / 2)
    # ranks: A = lw 1, iforest 2, ecod 3; B = ecod 1, lw 2, iforest 3
    assert table["mean_rank"].tolist() == pytest.approx([2.5, 2.0, 1.5])
    assert table.loc["lw-vae", "total_fit_s"] == pytest.approx(15.0 + 5.0)
    assert table.loc["iforest", "total_score_s"] == pytest.approx(1.0)
    # A: lw-vae 0.8502 vs iforest 0.85 is a tie (< 0.001); B: 0.70 vs 0.60 a win
    assert table.loc["lw-vae", "W/T/L vs iforest"] == "1/1/0"
    assert table.loc["lw-vae", "W/T/L vs ecod"] == "1/0/1"
    assert table.loc["iforest", "W/T/L vs ecod"] == "1/0/1"
    assert table.loc["iforest", "W/T/L vs iforest"] == "—"


def test_method_failing_everywhere_does_not_blank_the_summary() -> None:
    df = _results()
    broken = df[df["method"] == "lw-vae"].assign(
        method="lw-vae[bad]", auc_roc=np.nan, error="TypeError: bad kwarg"
    )
    methods = ["iforest", "ecod", "lw-vae", "lw-vae[bad]"]
    table, datasets = summarize_setting(
        seed_means(pd.concat([df, broken])), methods, ["iforest", "ecod"]
    )
    assert datasets == ["A", "B"]
    assert table.loc["lw-vae[bad]", "n_datasets"] == 0
    assert np.isnan(table.loc["lw-vae[bad]", "mean_auc_roc"])
    assert table.loc["lw-vae", "W/T/L vs iforest"] == "1/1/0"


def test_wins_ties_losses_tolerance() -> None:
    a = pd.Series({"d1": 0.9, "d2": 0.5, "d3": 0.7000, "d4": 0.3, "d5": np.nan})
    b = pd.Series({"d1": 0.8, "d2": 0.6, "d3": 0.7009, "d4": 0.3, "d5": 0.5})
    assert wins_ties_losses(a, b) == (1, 2, 1)


def test_mean_ranks_share_ties() -> None:
    auc = pd.DataFrame({"m1": [0.9, 0.5], "m2": [0.9, 0.7], "m3": [0.1, 0.6]})
    assert mean_ranks(auc).tolist() == pytest.approx([(1.5 + 3) / 2, (1.5 + 1) / 2, (3 + 2) / 2])


def test_per_seed_means_over_complete_datasets() -> None:
    table = per_seed_means(_results(), ["A", "B"], ["iforest", "ecod", "lw-vae"])
    assert table.loc["iforest", "seed 0"] == pytest.approx((0.80 + 0.60) / 2)
    assert table.loc["ecod", "seed 1"] == pytest.approx((0.80 + 0.70) / 2)
    assert table.loc["lw-vae", "sd over seeds"] == pytest.approx(np.std([0.7502, 0.80], ddof=1))


def test_load_line_without_or_with_load_records() -> None:
    from benchmarks.detection.report import _load_line

    rows = pd.DataFrame({"dataset": ["a", "b"]})
    assert _load_line(rows).endswith("not recorded")
    rows["load_avg_1min"] = [1.0, 3.0]
    assert "2 rows with a record): median 2.0, max 3.0" in _load_line(rows)
