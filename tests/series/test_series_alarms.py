"""Alarms an operator can trust on a time series: none at the start of a clean series or
after its timestamp holes, a short fault gives a short alarm (an event), real-world
timestamps (repeated, with UTC offsets) are read without refusal."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from latentwatch import VAEDetector
from latentwatch.data.windows import RepeatedTimeWarning
from latentwatch.service import score_table, series_events

HOLES = ((500, 530), (800, 815), (1000, 1040))


def _clean(n: int = 1200, period: int = 30, seed: int = 0) -> pd.DataFrame:
    """Four coupled periodic channels, one minute apart, 2% gaps in one channel and three
    holes in the timestamps (30, 15 and 40 minutes)."""
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.arange(n) / period
    frame = pd.DataFrame({
        "when": pd.date_range("2024-03-01", periods=n, freq="min"),
        "a": np.sin(phase) + 0.05 * rng.normal(size=n),
        "b": np.cos(phase) + 0.05 * rng.normal(size=n),
        "c": np.sin(2 * phase) + 0.05 * rng.normal(size=n),
        "d": 0.5 * np.sin(phase + 1) + 0.05 * rng.normal(size=n)})
    frame.loc[rng.choice(n, n // 50, replace=False), "b"] = np.nan
    keep = np.ones(n, dtype=bool)
    for start, end in HOLES:
        keep[start:end] = False
    frame = frame[keep].reset_index(drop=True)
    return frame.assign(when=frame["when"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture(scope="module")
def clean():
    frame = _clean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAEDetector(time_column="when", random_state=0).fit(frame.iloc[:450])
    return frame, model


def _after_holes(frame: pd.DataFrame) -> list[int]:
    stamps = pd.to_datetime(frame["when"]).diff().dt.total_seconds().to_numpy()
    return [int(i) for i in np.flatnonzero(stamps > 60)]


def test_a_clean_series_alarms_no_more_at_its_start_and_after_its_holes(clean):
    frame, model = clean
    window = model.window_
    assert window == 30 and len(_after_holes(frame)) == 3
    alarms = score_table(model, frame).table["is_anomaly"].to_numpy(dtype=bool)
    assert alarms[:window].sum() <= 1  # the first W rows: at most a stray one
    for row in _after_holes(frame):
        assert alarms[row:row + window].sum() <= 1, row  # each hole: at most a stray one
    assert alarms.mean() <= 0.01  # and few anywhere


def test_a_five_step_spike_gives_one_event_of_at_most_ten_steps_at_the_spike(clean):
    frame, model = clean
    base = score_table(model, frame).table["is_anomaly"].to_numpy(dtype=bool)
    spiked = frame.copy()
    spiked.loc[700:704, "a"] += 3.0
    scored = score_table(model, spiked)
    new = scored.table["is_anomaly"].to_numpy(dtype=bool) & ~base
    assert 1 <= new.sum() <= 10
    assert np.flatnonzero(new).min() >= 700 and np.flatnonzero(new).max() <= 709
    events = [e for e in series_events(model, scored, spiked) if 700 <= e.peak <= 709]
    assert len(events) == 1
    event = events[0]
    assert event.rows <= 10 and event.start >= 700 and event.end <= 709
    assert event.channels[0][0] == "a" and event.channels[0][1] > 0.4
    assert event.start_time == spiked["when"].iat[event.start]


def test_the_same_instants_with_other_utc_offsets_score_the_same(clean):
    frame, model = clean
    part = frame.iloc[:300]
    stamps = pd.to_datetime(part["when"])
    offset = part.assign(when=stamps.dt.tz_convert("America/Chicago").map(
        lambda s: s.isoformat()))
    assert offset["when"].iat[0] == "2024-02-29T18:00:00-06:00"
    naive = part.assign(when=stamps.dt.tz_localize(None).astype(str))
    reference = model.anomaly_score(part)
    np.testing.assert_array_equal(model.anomaly_score(offset), reference)
    np.testing.assert_array_equal(model.anomaly_score(naive), reference)  # training's clock
    table = score_table(model, offset).table
    assert list(table.columns[:2]) == ["when", "score"]  # the time column comes first
    assert table["when"].iat[0] == "2024-02-29T18:00:00-06:00"


def test_a_repeated_time_is_kept_in_file_order_with_a_warning(clean):
    frame, model = clean
    part = frame.iloc[:200].copy()
    part.loc[120, "when"] = part.loc[119, "when"]  # a double write: 1 minute lost
    with pytest.warns(RepeatedTimeWarning, match="1 row repeats the time of the row before "
                                                 r"\(row 121, "):
        scored = score_table(model, part)
    assert not scored.problems and scored.table["score"].notna().all()
    # the repeated row stands one step after the row before it: the rows after it are
    # read as they were, the window of the gap the double write left is shifted
    np.testing.assert_array_equal(scored.scores[:120], model.anomaly_score(frame.iloc[:120]))
