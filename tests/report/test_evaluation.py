"""Evaluation metrics, labels, and ``evaluate`` on every model kind."""

import json

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from latentwatch.errors import DataError
from latentwatch.evaluation import binary_labels, evaluate, evaluate_scores
from latentwatch.report.scored import score_for_report
from latentwatch.thresholds import describe_threshold

CASES = [(k, d) for k in ("ae", "vae") for d in ("array", "frame", "mixed")]


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.1).astype(int)
    scores = rng.normal(size=500) + 2 * y
    flagged = scores > 1.5
    result = evaluate_scores(y, scores, flagged)
    assert result.auc_roc == pytest.approx(roc_auc_score(y, scores))
    assert result.auc_pr == pytest.approx(average_precision_score(y, scores))
    assert result.precision == pytest.approx(precision_score(y, flagged))
    assert result.recall == pytest.approx(recall_score(y, flagged))
    assert result.f1 == pytest.approx(f1_score(y, flagged))
    tn, fp, fn, tp = confusion_matrix(y, flagged).ravel()
    assert (result.true_negatives, result.false_positives, result.false_negatives,
            result.true_positives) == (tn, fp, fn, tp)
    assert result.false_alarm_rate == pytest.approx(fp / (fp + tn))
    assert result.k == y.sum()
    assert result.precision_at_k == pytest.approx(y[np.argsort(-scores)[:y.sum()]].mean())
    assert result.n_flagged == flagged.sum()


def test_precision_at_k_breaks_ties_by_row_order():
    result = evaluate_scores([0, 1, 1, 0], [5.0, 5.0, 1.0, 0.0], [True] * 4, k=1)
    assert result.precision_at_k == 0.0
    assert evaluate_scores([1, 0, 1, 0], [5.0, 5.0, 1.0, 0.0], [True] * 4, k=1).precision_at_k == 1


def test_undefined_metrics_are_none_not_made_up():
    only_normal = evaluate_scores([0, 0, 0], [1.0, 2.0, 3.0], [False, False, False])
    assert only_normal.auc_roc is None and only_normal.auc_pr is None
    assert only_normal.precision is None and only_normal.recall is None
    assert only_normal.f1 is None and only_normal.precision_at_k is None
    assert only_normal.false_alarm_rate == 0.0
    assert json.loads(only_normal.to_json())["auc_roc"] is None
    assert "n/a" in only_normal.table()


@pytest.mark.parametrize(
    ("labels", "scores", "flagged", "k", "message"),
    [([0, 1], [1.0, 2.0], [True, False, True], None, "differ in length"),
     ([], [], [], None, "no rows"),
     ([0, 1, 0], [1.0, 2.0, 3.0], [True] * 3, 4, "k must be between 1 and the number of rows")],
)
def test_inconsistent_inputs_are_refused(labels, scores, flagged, k, message):
    with pytest.raises(ValueError, match=message):
        evaluate_scores(labels, scores, flagged, k=k)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [([True, False], [1, 0]), ([0.0, 1.0], [0, 1]), (["1", "0"], [1, 0]),
     (np.array([1, 0], dtype=np.int8), [1, 0])],
)
def test_labels_accept_zero_one_and_booleans(labels, expected):
    np.testing.assert_array_equal(binary_labels(labels), expected)


def test_labels_accept_nullable_and_text_columns():
    import pandas as pd

    np.testing.assert_array_equal(binary_labels(pd.Series([1, 0], dtype="Int64")), [1, 0])
    np.testing.assert_array_equal(binary_labels(pd.Series(["0", "1"], dtype="string")), [0, 1])
    np.testing.assert_array_equal(binary_labels(pd.Series([True, False], dtype="boolean")),
                                  [1, 0])


@pytest.mark.parametrize("labels", [[0, 2], ["yes", "no"], [1.0, np.nan], [-1, 1]])
def test_other_labels_are_refused(labels):
    with pytest.raises(ValueError, match=r"0/1|missing"):
        binary_labels(labels)


@pytest.mark.parametrize(("kind", "data"), CASES, ids=[f"{k}-{d}" for k, d in CASES])
def test_evaluate_uses_the_models_scores_and_threshold_for_every_kind(fitted, kind, data):
    case = fitted(kind, data)
    result = evaluate(case.model, case.X, case.y, k=5)
    scores = case.model.anomaly_score(case.X)
    flagged = case.model.predict(case.X) == -1
    assert 0 < result.n_anomalies < result.n_rows == len(case.y)
    assert result.n_flagged == flagged.sum()
    assert result.true_positives == np.sum(flagged & (case.y == 1))
    assert result.auc_roc == pytest.approx(roc_auc_score(case.y, scores))
    assert result.k == 5
    assert result.threshold == describe_threshold(case.model)
    # the report evaluates the same rows through the scoring service: the same numbers
    assert score_for_report(case.model, case.X, case.y).evaluation == evaluate(
        case.model, case.X, case.y)
    table = str(result)
    for label in ("AUC-ROC", "AUC-PR", "precision at threshold", "recall at threshold",
                  "F1 at threshold", "precision at k=5", "true positives", "false negatives"):
        assert label in table


def test_evaluate_finds_the_planted_anomalies(fitted):
    case = fitted("vae", "array")
    assert evaluate(case.model, case.X, case.y).auc_roc > 0.75  # 3 epochs: a rough model


def test_evaluate_names_a_row_it_cannot_score(fitted):
    case = fitted("ae", "mixed")
    with pytest.raises(DataError, match=r"row 4, column 'amount': 'abc' is not a number"):
        evaluate(case.model, case.X_bad, case.y)
    with pytest.raises(ValueError, match="differ in length"):
        evaluate(case.model, case.X, case.y[:-1])
