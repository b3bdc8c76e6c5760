"""The drift test (latentwatch.drift, detector.drift) and partial_fit: the maths against
brute force, calibration under no drift by simulation, power, the column named, the model
file's drift reference and lineage, and an old file without them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError

from latentwatch import VAEDetector, load, persistence
from latentwatch import drift as dm

LEVEL = 0.05


def _frame(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": a + 0.3 * rng.normal(size=n),
                         "c": rng.normal(size=n) + shift,
                         "d": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])})


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    return VAEDetector(max_epochs=8, random_state=0).fit(_frame(3000, rng)), rng


# -- maths ---------------------------------------------------------------------------------
def test_signed_ks_is_the_two_sample_ks_distance_with_its_direction():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=300), rng.normal(0.4, size=200)
    shift = dm.signed_ks(a, b)
    assert shift > 0
    assert abs(shift) == pytest.approx(stats.ks_2samp(a, b).statistic)
    assert dm.signed_ks(b, a) == pytest.approx(-shift)


def test_score_p_value_is_the_one_sided_rank_test_of_brute_force_u():
    rng = np.random.default_rng(2)
    ref, batch = rng.normal(size=400), rng.normal(0.2, size=150)
    u = sum((s > ref).sum() + 0.5 * (s == ref).sum() for s in batch)
    n, m = len(ref), len(batch)
    z = (u - n * m / 2 - 0.5) / np.sqrt(n * m * (n + m + 1) / 12)
    assert dm.score_p_value(ref, batch) == pytest.approx(stats.norm.sf(z), rel=1e-9)


def test_ks_p_value_matches_scipy_asymptotics_closely():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=500), rng.normal(0.15, size=400)
    d = stats.ks_2samp(a, b).statistic
    ours = float(dm.ks_p_value(np.array([d]), 500, 400)[0])
    assert ours == pytest.approx(stats.ks_2samp(a, b, method="asymp").pvalue, rel=0.15)


def test_the_combined_test_holds_its_level_on_exchangeable_parts():
    rng = np.random.default_rng(4)
    parts = rng.gamma(2.0, size=(2000, 5))
    reference = dm.DriftReference("m", parts.sum(axis=1), parts)
    alarms = 0
    for _ in range(400):
        batch = rng.gamma(2.0, size=(100, 5))
        alarms += dm.drift_test(reference, batch.sum(axis=1), batch, list("abcde")).drift
    assert alarms / 400 <= LEVEL + 0.02


def test_too_few_rows_give_no_test_and_a_bad_level_is_refused():
    parts = np.ones((50, 2))
    reference = dm.DriftReference("m", parts.sum(axis=1), parts)
    result = dm.drift_test(reference, np.ones(5), np.ones((5, 2)), ["a", "b"])
    assert (result.drift, result.p_value, result.n_rows) == (False, None, 5)
    with pytest.raises(ValueError, match="level 2"):
        dm.drift_test(reference, np.ones(5), np.ones((5, 2)), ["a", "b"], level=2)


def test_periods_follow_any_pandas_offset_and_skip_missing_times():
    times = pd.Series(pd.to_datetime(["2024-01-01 01:00", None, "2024-01-08 00:00",
                                      "2024-01-02 00:00"], format="mixed"))
    weekly = dm.periods(times, "W")  # weeks ending on Sunday: Jan 7, Jan 14
    assert [rows.tolist() for _, rows in weekly] == [[0, 3], [2]]
    assert sum(len(rows) for _, rows in dm.periods(times, "1d")) == 3
    with pytest.raises(ValueError, match="not a pandas offset"):
        dm.periods(times, "fortnightly")


# -- the detector --------------------------------------------------------------------------
def test_false_drift_rate_under_no_drift_is_near_the_level(fitted):
    model, _ = fitted
    pool = _frame(20_000, np.random.default_rng(10))
    scores, parts = model.score_encoded(model._rows(pool))
    reference = model.drift_reference_
    draw = np.random.default_rng(11)
    alarms = []
    for _ in range(300):
        idx = draw.choice(len(pool), 200, replace=False)
        alarms.append(dm.drift_test(reference, scores[idx], parts[idx],
                                    model.codec_.names).drift)
    assert np.mean(alarms) <= LEVEL + 0.03


def test_an_obvious_shift_is_found_and_its_column_named_first(fitted):
    model, _ = fitted
    result = model.drift(_frame(300, np.random.default_rng(12), shift=2.0))
    assert result.drift and result.p_value < 1e-6
    assert result.columns[0].column == "c" and result.columns[0].shift > 0
    shifts = [abs(c.shift) for c in result.columns]
    assert shifts == sorted(shifts, reverse=True)


def test_a_broken_correlation_is_found(fitted):
    model, _ = fitted
    rows = _frame(300, np.random.default_rng(13))
    rows["b"] = np.random.default_rng(14).permutation(rows["b"].to_numpy())
    result = model.drift(rows)
    assert result.drift
    assert result.columns[0].column in ("a", "b")


def test_json_form(fitted):
    model, _ = fitted
    document = model.drift(_frame(100, np.random.default_rng(15))).to_dict()
    assert {"drift", "p_value", "n_rows", "columns"} <= set(document)
    assert document["n_rows"] == 100 and isinstance(document["drift"], bool)
    assert {c["column"] for c in document["columns"]} == {"a", "b", "c", "d"}
    assert all(set(c) == {"column", "p_value", "shift"} for c in document["columns"])


def test_the_reference_round_trips_through_the_model_file(fitted, tmp_path):
    model, _ = fitted
    loaded = load(model.save(tmp_path / "m.lwm"))
    for field in ("scores", "parts"):
        assert np.array_equal(getattr(loaded.drift_reference_, field),
                              getattr(model.drift_reference_, field))
    rows = _frame(100, np.random.default_rng(16))
    assert loaded.drift(rows).to_dict() == model.drift(rows).to_dict()


def old_file(model, path):
    """A model file as latentwatch wrote it before the drift reference."""
    tensors, meta = model._file_contents()
    tensors = {k: v for k, v in tensors.items() if not k.startswith(persistence.DRIFT)}
    meta.pop("drift", None)
    return persistence.write_file(path, tensors, meta)


def test_an_old_model_file_loads_and_drift_says_what_to_do(fitted, tmp_path):
    model, _ = fitted
    loaded = load(old_file(model, tmp_path / "old.lwm"))
    rows = _frame(50, np.random.default_rng(17))
    assert np.array_equal(loaded.anomaly_score(rows), model.anomaly_score(rows))
    with pytest.raises(NotFittedError, match="no drift reference") as caught:
        loaded.drift(rows)
    assert "\n" not in str(caught.value) and "calibrate" in str(caught.value)
    loaded.calibrate(_frame(500, np.random.default_rng(18)))
    assert loaded.drift(rows).n_rows == 50


def test_another_score_method_asks_for_calibrate(fitted):
    model, _ = fitted
    from latentwatch import load_bytes

    other = load_bytes(model.to_bytes()).set_params(score_method="elbo")
    with pytest.raises(NotFittedError, match="calibrate"):
        other.drift(_frame(50, np.random.default_rng(19)))


# -- partial_fit ---------------------------------------------------------------------------
def test_partial_fit_is_deterministic_and_records_its_lineage(fitted, tmp_path):
    model, _ = fitted
    from latentwatch import load_bytes

    parent = model.save(tmp_path / "parent.lwm")
    new = _frame(800, np.random.default_rng(20), shift=1.5)
    one = load(parent).partial_fit(new)
    two = load(parent).partial_fit(new)
    assert np.array_equal(one.anomaly_score(new), two.anomaly_score(new))
    child = load(one.save(tmp_path / "child.lwm"))
    lineage = persistence.read_metadata(tmp_path / "child.lwm")["lineage"]
    assert lineage["parent_sha256"] == persistence.read_metadata(parent)["sha256"]
    assert lineage["new_rows"] == 800 and lineage["updates"] == 1
    assert lineage["rows_seen"] > lineage["parent_rows_seen"] > 0
    assert child.lineage_ == lineage
    # it followed the new normal: the shifted rows no longer drift
    assert model.drift(new).drift and not child.drift(
        _frame(300, np.random.default_rng(21), shift=1.5)).drift
    grand = load_bytes(child.to_bytes()).partial_fit(new)
    assert grand.lineage_["updates"] == 2
    assert grand.lineage_["parent_rows_seen"] == lineage["rows_seen"]


def test_partial_fit_reports_categories_sent_to_the_rare_bucket(fitted):
    model, _ = fitted
    from latentwatch import load_bytes

    new = _frame(400, np.random.default_rng(22))
    new.loc[:49, "d"] = "w"
    with pytest.warns(UserWarning, match="rare bucket"):
        updated = load_bytes(model.to_bytes()).partial_fit(new)
    assert updated.lineage_["rare_bucket_rows"] == {"d": 50}


def test_partial_fit_of_an_unfitted_detector_fits_it():
    rows = _frame(300, np.random.default_rng(23))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = VAEDetector(max_epochs=2, random_state=0).partial_fit(rows)
        b = VAEDetector(max_epochs=2, random_state=0).fit(rows)
    assert np.array_equal(a.anomaly_score(rows), b.anomaly_score(rows))


def test_a_category_whose_frequency_moved_is_found_and_named(fitted):
    model, _ = fitted
    rows = _frame(400, np.random.default_rng(24))
    rows["d"] = np.random.default_rng(25).choice(["x", "y", "z"], 400, p=[0.2, 0.3, 0.5])
    result = model.drift(rows)
    assert result.drift and result.columns[0].column == "d"
    counts = model.drift_reference_.counts
    assert counts[model.codec_.names.index("d")].sum() == model.drift_reference_.n_rows
    assert counts[model.codec_.names.index("a")] is None


def test_frequency_test_matches_scipy_chi_square():
    ref, batch = np.array([400, 350, 250, 0]), np.array([30, 50, 20, 0])
    tv, p = dm.frequency_test(ref, batch)
    expected = stats.chi2_contingency(np.vstack([ref[:3], batch[:3]]), correction=False)[1]
    assert p == pytest.approx(expected) and tv == pytest.approx(0.5 * (0.1 + 0.15 + 0.05))


def _rows_with_a_category(n: int, rng: np.random.Generator, p=(0.5, 0.3, 0.2)):
    """Parts of 3 columns, the last one's share depending on its category, and the
    category counts of those same rows (so the share and frequency tests are dependent)."""
    category = rng.choice(3, n, p=p)
    parts = rng.gamma(2.0, size=(n, 3))
    parts[:, 2] += category
    return parts, (None, None, np.bincount(category, minlength=3))


def test_counting_every_test_once_holds_the_level_with_a_categorical_column():
    rng = np.random.default_rng(11)
    parts, counts = _rows_with_a_category(2000, rng)
    reference = dm.DriftReference("m", parts.sum(axis=1), parts, counts=counts)
    alarms = 0
    for _ in range(400):
        batch, batch_counts = _rows_with_a_category(100, rng)
        alarms += dm.drift_test(reference, batch.sum(axis=1), batch, list("abc"),
                                counts=batch_counts).drift
    assert alarms / 400 <= LEVEL + 0.02


def test_a_categorical_column_pays_bonferroni_once_over_all_tests():
    rng = np.random.default_rng(12)
    parts, counts = _rows_with_a_category(2000, rng)
    reference = dm.DriftReference("m", parts.sum(axis=1), parts, counts=counts)
    batch, _ = _rows_with_a_category(300, rng)
    moved = (None, None, np.array([120, 90, 90]))
    result = dm.drift_test(reference, batch.sum(axis=1), batch, list("abc"), counts=moved)
    p_score = dm.score_p_value(reference.scores, batch.sum(axis=1))
    _, p_shares = dm.column_shifts(reference.parts, batch)
    _, p_frequency = dm.frequency_test(counts[2], moved[2])
    assert p_frequency < min(p_score, *p_shares)
    # 1 score test + 3 share tests + 1 frequency test, each counted once: K = 5, where
    # halving inside the column and then Bonferroni over 1 + 3 tests would give 8
    assert result.p_value == pytest.approx(5 * p_frequency)
    assert result.p_value == pytest.approx(dm.combine([p_score, *p_shares, p_frequency]))
    column_c = next(c for c in result.columns if c.column == "c")
    assert column_c.p_value == pytest.approx(2 * p_frequency)


def test_weighted_bonferroni_divides_by_the_weights_and_refuses_weights_over_one():
    assert dm.combine([0.02, 0.3, 0.9], weights=[0.5, 0.25, 0.25]) == pytest.approx(0.04)
    assert dm.combine([0.02, 0.3], weights=[0.0, 1.0]) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="summing to at most 1"):
        dm.combine([0.1, 0.2], weights=[0.7, 0.7])
