"""VAEDetector on a time series: every row scored, planted fault found, round trip,
streaming equal to the whole series, gaps."""

import numpy as np
import pytest
from series_data import planted_series
from sklearn.metrics import roc_auc_score

from latentwatch import VAEDetector, load
from latentwatch.errors import DataError
from latentwatch.service import score_table


@pytest.fixture(scope="module")
def series():
    return planted_series()


@pytest.fixture(scope="module")
def fitted(series):
    frame, _ = series
    train = frame.iloc[:480]
    return VAEDetector(time_column="when", window=12, max_epochs=5, random_state=0,
                       schema={"exclude": ["label"]}).fit(train)


def test_every_row_gets_a_finite_score_in_order(fitted, series):
    frame, _ = series
    scores = fitted.anomaly_score(frame)
    assert scores.shape == (len(frame),) and np.isfinite(scores).all()
    again = fitted.anomaly_score(frame.iloc[::-1].iloc[::-1])
    np.testing.assert_array_equal(scores, again)
    assert fitted.window_ == 12 and fitted.codec_.names[-1] == "b[t]"


def test_the_planted_fault_is_found(fitted, series):
    frame, labels = series
    test = slice(480, None)
    scores = fitted.anomaly_score(frame)[test]
    assert roc_auc_score(labels[test], scores) > 0.9


def test_save_and_load_score_bit_identically(fitted, series, tmp_path):
    frame, _ = series
    path = fitted.save(tmp_path / "series.lwm")
    again = load(path)
    assert again.window_ == 12 and again.time_column == "when"
    np.testing.assert_array_equal(again.anomaly_score(frame), fitted.anomaly_score(frame))
    np.testing.assert_array_equal(again.feature_scores(frame[:50]),
                                  fitted.feature_scores(frame[:50]))


def test_scoring_in_chunks_with_context_equals_the_whole_series(fitted, series):
    frame, _ = series
    whole = score_table(fitted, frame).table["score"].to_numpy()
    parts, context = [], None
    for start in range(0, len(frame), 101):
        chunk = frame.iloc[start:start + 101].reset_index(drop=True)
        parts.append(score_table(fitted, chunk, context=context).table["score"].to_numpy())
        context = chunk.iloc[-fitted.codec_.context_rows:]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=0)


def test_a_series_with_holes_trains_and_scores_finitely(series):
    frame, _ = series
    rng = np.random.default_rng(3)
    holed = frame.drop(index=rng.choice(len(frame), 60, replace=False)).reset_index(drop=True)
    holed.loc[rng.choice(len(holed), 40, replace=False), "a"] = np.nan
    model = VAEDetector(time_column="when", window=12, max_epochs=3, random_state=0,
                        schema={"exclude": ["label"]}).fit(holed)
    scores = model.anomaly_score(holed)
    assert np.isfinite(scores).all() and len(scores) == len(holed)


def test_unsorted_training_series_is_refused_naming_the_row(series):
    frame, _ = series
    broken = frame.copy()
    broken.loc[10, "when"] = broken.loc[3, "when"]
    with pytest.raises(DataError, match=r"row 11, column 'when': time '2024-03-01 00:03:00' is "
                                        "before the time of an earlier row"):
        VAEDetector(time_column="when", window=12, max_epochs=2,
                    schema={"exclude": ["label"]}).fit(broken)


def test_auto_window_is_the_period(series):
    frame, _ = series
    model = VAEDetector(time_column="when", max_epochs=2, random_state=0,
                        schema={"exclude": ["label"]}).fit(frame.iloc[:480])
    assert model.window_ == 24 and "dominant period" in model.codec_.window_rule
    with pytest.raises(ValueError, match="does not decode rows"):
        model.sample(3)


def test_a_window_without_a_time_column_takes_rows_as_steps(series):
    frame, _ = series
    values = frame[["a", "b"]].to_numpy()
    model = VAEDetector(window=6, max_epochs=2, random_state=0).fit(values[:300])
    assert model.codec_.sources == ["x0", "x1"]
    assert np.isfinite(model.anomaly_score(values)).all()


def test_a_false_alarm_rate_threshold_works_per_step(series):
    frame, labels = series
    model = VAEDetector(time_column="when", window=12, max_epochs=3, random_state=0,
                        threshold="false_alarm_rate:0.05",
                        schema={"exclude": ["label"]}).fit(frame.iloc[:480])
    assert model.calibration_source_ == "calibration_split"
    flags = model.predict(frame) == -1
    normal_rate = flags[480:][labels[480:] == 0].mean()
    assert normal_rate < 0.25 and flags[560:580].mean() > 0.5
