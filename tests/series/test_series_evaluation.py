"""Series metrics against brute force and their known values."""

import numpy as np
import pytest

from latentwatch.series_evaluation import (
    evaluate_series,
    event_recall,
    events,
    false_alarms_per_1000,
    range_pr_auc,
    soft_labels,
    threshold_at_false_alarms,
    vus_pr,
)


def test_events_and_event_recall():
    y = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1, 0])
    assert events(y) == [(0, 2), (4, 5), (6, 9)]
    alarms = np.zeros(10, dtype=bool)
    alarms[[1, 3, 8]] = True
    assert event_recall(y, alarms) == pytest.approx(2 / 3)
    assert false_alarms_per_1000(y, alarms) == pytest.approx(100.0)


def test_soft_labels_ramp_on_both_sides():
    y = np.zeros(12, dtype=int)
    y[5:7] = 1
    soft = soft_labels(y, 4)
    np.testing.assert_allclose(soft[[3, 4, 5, 6, 7, 8]],
                               [np.sqrt(1 / 3), np.sqrt(2 / 3), 1, 1, np.sqrt(2 / 3),
                                np.sqrt(1 / 3)])
    assert soft[2] == 0 and soft[9] == 0


def test_range_pr_of_a_perfect_and_of_a_random_score():
    rng = np.random.default_rng(0)
    y = np.zeros(2000, dtype=int)
    for start in (300, 900, 1500):
        y[start:start + 40] = 1
    assert range_pr_auc(y, y + 0.01 * rng.random(2000), 0) == pytest.approx(1.0, abs=1e-3)
    random = rng.random(2000)
    assert vus_pr(y, random, 20) < 0.15
    # alarms on the 3 steps before each interval count only with a buffer
    before = np.zeros(2000)
    for start in (300, 900, 1500):
        before[start - 3:start] = 1
    assert range_pr_auc(y, before, 0) < 0.05 < range_pr_auc(y, before, 10)


def test_threshold_at_one_false_alarm_per_1000_steps():
    rng = np.random.default_rng(1)
    y = np.zeros(5000, dtype=int)
    y[1000:1050] = 1
    scores = rng.random(5000)
    cut = threshold_at_false_alarms(y, scores, 1.0)
    assert np.sum((scores > cut) & (y == 0)) == 5


def test_evaluate_series_at_the_threshold_against_counts():
    y = np.array([0, 0, 1, 1, 1, 0, 0, 0, 1, 0])
    alarms = np.array([0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    result = evaluate_series(y, np.arange(10.0), alarms, max_buffer=2)
    assert result.n_events == 2 and result.event_recall == 0.5
    assert result.precision == 0.5 and result.recall == 0.25
    assert result.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    assert result.far == pytest.approx(1 / 6) and result.mar == 0.75
    assert "VUS-PR" in result.table()
