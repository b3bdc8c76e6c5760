"""Choosing an operating point: evaluate's threshold table, an alert-budget threshold,
p-values in score, explain as JSON."""

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, ok
from sklearn.metrics import precision_score, recall_score

import latentwatch
from latentwatch.evaluation import operating_points
from latentwatch.thresholds import (
    AlertBudget,
    FalseAlarmRate,
    make_threshold,
    threshold_from_dict,
    threshold_to_dict,
)


def test_operating_points_match_scikit_learn_at_every_threshold():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.05).astype(int)
    scores = rng.normal(size=4000) + 2 * y
    points = operating_points(y, scores, model_threshold=1.7)
    assert [p.source for p in points].count("model") == 1
    assert [p.threshold for p in points] == sorted((p.threshold for p in points), reverse=True)
    for point in points:
        flagged = scores > point.threshold
        assert point.flagged == flagged.sum()
        assert point.precision == pytest.approx(precision_score(y, flagged))
        assert point.recall == pytest.approx(recall_score(y, flagged))
        assert point.false_alarm_rate == pytest.approx(flagged[y == 0].mean())
        assert point.alerts_per_10000 == pytest.approx(10_000 * flagged.mean())
    by_rate = [p for p in points if p.source == "alert rate"]
    assert [round(p.alerts_per_10000) for p in by_rate] == [10, 25, 50, 100, 200, 500, 1000]


def test_alert_budget_is_a_false_alarm_rate_that_survives_the_file_format():
    budget = make_threshold("alerts:50/10000")
    assert budget == AlertBudget(alerts=50, per=10_000) and isinstance(budget, FalseAlarmRate)
    assert budget.rate == 0.005
    assert threshold_from_dict(threshold_to_dict(budget)) == budget
    assert make_threshold("alert_budget:20") == AlertBudget(alerts=20)
    for bad in ("alerts:0/100", "alerts:100/100", "alerts:x/100", "alerts:5/0"):
        with pytest.raises(ValueError, match="alert budget"):
            make_threshold(bad)


def test_evaluate_prints_the_table_and_fit_takes_an_alert_budget(fitted, workspace, tmp_path):
    each = fitted["vae-numeric"]
    table = ok(invoke("evaluate", each.model, each.data, "-l", "label")).stdout
    assert "operating points" in table and "alerts/10k" in table
    assert "<- the model's threshold" in table
    metrics = json.loads(ok(invoke("evaluate", each.model, each.data, "-l", "label",
                                   "--json")).stdout)
    assert len(metrics["operating_points"]) >= 7
    model = tmp_path / "budget.lwm"
    ok(invoke("fit", each.data, "-i", "rid", "-x", "label", "--epochs", 2, "-q",
              "--threshold", "alerts:100/1000", "-o", model))
    detector = latentwatch.load(model)
    assert detector.threshold_state_.strategy == AlertBudget(alerts=100, per=1000)
    calibration = detector.calibration_scores_
    k = int(np.floor(0.1 * (len(calibration) + 1)))
    assert -detector.offset_ == np.sort(calibration)[::-1][k - 1]
    assert "100 alerts per 1,000" in ok(invoke("info", model)).stdout
    scores = tmp_path / "scores.csv"
    ok(invoke("score", model, each.data, "-o", scores, "-q"))
    p = pd.read_csv(scores)["p_value"]
    assert p.between(0, 1).all() and p.notna().all()
    error = invoke("fit", each.data, "--threshold", "alerts:1/1000000", "-q")
    assert error.exit_code == 1 and "calibration" in error.stderr


def test_explain_writes_json(fitted, tmp_path):
    each = fitted["vae-mixed"]
    out = tmp_path / "why.json"
    result = ok(invoke("explain", each.model, each.data, "--rows", "2,5", "-k", 2, "--json",
                       "-o", out))
    document = json.loads(result.stdout)
    assert document == json.loads(out.read_text())
    rows = document["rows"]
    assert [r["row"] for r in rows] == [2, 5]
    assert [r["transaction_id"] for r in rows] == list(each.frame["transaction_id"].iloc[[1, 4]])
    assert all(len(r["contributions"]) == 2 for r in rows)
    model = each.load()
    local = latentwatch.VAEDetector.anomaly_score(model, each.inputs.iloc[[1, 4]])
    assert [r["score"] for r in rows] == list(local)
    text = ok(invoke("explain", each.model, each.data, "--rows", "2", "-k", 2)).stdout
    assert rows[0]["contributions"][0]["text"] in text
