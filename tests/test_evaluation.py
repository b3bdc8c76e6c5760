"""Evaluation metrics, the labelled-table reader and the ``evaluate`` command."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from typer.testing import CliRunner

from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.cli import app
from latentwatch.cli_tables import read_model_input
from latentwatch.errors import DataError
from latentwatch.evaluation import (
    binary_labels,
    evaluate,
    evaluate_scores,
)

COLUMNS = [f"f{i}" for i in range(12)]


@pytest.fixture(scope="module")
def labelled(planted, tmp_path_factory):
    """A fitted VAE (with feature names), its saved file and labelled CSV/Parquet files."""
    X_train, X_test, y_test = planted
    model = VAEDetector(random_state=0, threshold="false_alarm_rate:0.05").fit(
        pd.DataFrame(X_train, columns=COLUMNS))
    folder = tmp_path_factory.mktemp("evaluation")
    frame = pd.DataFrame(X_test, columns=COLUMNS).assign(is_anomaly=y_test, site="north")
    frame.to_csv(folder / "test.csv", index=False)
    frame.to_parquet(folder / "test.parquet")
    return model, model.save(folder / "model.lwm"), folder, frame


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
    ("labels", "expected"),
    [([True, False], [1, 0]), ([0.0, 1.0], [0, 1]), (["1", "0"], [1, 0]),
     (pd.Series([1, 0], dtype="Int64"), [1, 0])],
)
def test_labels_accept_zero_one_and_booleans(labels, expected):
    np.testing.assert_array_equal(binary_labels(labels), expected)


@pytest.mark.parametrize("labels", [[0, 2], ["yes", "no"], [1.0, np.nan], [-1, 1]])
def test_other_labels_are_refused(labels):
    with pytest.raises(ValueError, match=r"0/1|missing"):
        binary_labels(labels)


def test_evaluate_uses_the_models_threshold_and_scores(labelled):
    model, _, _, frame = labelled
    X, y = frame[COLUMNS], frame["is_anomaly"].to_numpy()
    result = evaluate(model, X, y, k=20)
    assert result.n_flagged == np.sum(model.predict(X) == -1)
    assert result.auc_roc == pytest.approx(roc_auc_score(y, model.anomaly_score(X)))
    assert result.auc_roc > 0.9
    assert result.k == 20
    assert "false_alarm_rate" in result.threshold
    table = str(result)
    for label in ("AUC-ROC", "AUC-PR", "precision at threshold", "recall at threshold",
                  "F1 at threshold", "precision at k=20", "true positives", "false negatives"):
        assert label in table


# -- reading tables ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["test.csv", "test.parquet"])
def test_read_model_input_takes_the_models_columns_and_the_labels(labelled, name):
    model, _, folder, frame = labelled
    table, X = read_model_input(model, folder / name, keep=["is_anomaly"])
    assert list(X.columns) == COLUMNS
    np.testing.assert_array_equal(X.to_numpy(), frame[COLUMNS].to_numpy())
    np.testing.assert_array_equal(table["is_anomaly"], frame["is_anomaly"])


def test_read_model_input_without_feature_names_takes_the_numeric_columns(planted, tmp_path):
    X_train, X_test, y_test = planted
    model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X_train)
    frame = pd.DataFrame(X_test, columns=COLUMNS).assign(label=y_test, city="x")
    frame.to_csv(tmp_path / "d.csv", index=False)
    table, X = read_model_input(model, tmp_path / "d.csv", keep=["label"])
    np.testing.assert_array_equal(table["label"], y_test)
    assert list(X.columns) == COLUMNS
    with pytest.raises(DataError, match=r"d\.csv: 13 numeric input columns"):
        read_model_input(model, tmp_path / "d.csv")  # the label counts as a feature


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns=["f3"]), "column 'f3' is missing"),
        (lambda f: f.assign(f3="text"), "row 1, column 'f3': 'text' is not a number"),
        (lambda f: f.assign(f3=np.where(np.arange(len(f)) < 2, np.nan, 1.0)),
         "2 rows cannot be used: row 1, column 'f3': missing value"),
        (lambda f: f.drop(columns=["is_anomaly"]), "column 'is_anomaly' is missing"),
    ],
)
def test_read_model_input_names_the_file_and_column(labelled, tmp_path, edit, message):
    model, _, _, frame = labelled
    path = tmp_path / "bad.csv"
    edit(frame).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"bad\.csv: .*" + message):
        read_model_input(model, path, keep=["is_anomaly"])


def test_read_model_input_refuses_unknown_and_missing_files(labelled, tmp_path):
    model = labelled[0]
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DataError, match="unknown file type"):
        read_model_input(model, tmp_path / "data.xlsx")
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        read_model_input(model, tmp_path / "absent.csv")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_model_input(model, tmp_path / "broken.parquet")


# -- the command ------------------------------------------------------------------------------

runner = CliRunner()


def test_evaluate_command_prints_a_table_and_json(labelled, tmp_path):
    model, path, folder, frame = labelled
    result = runner.invoke(app, ["evaluate", str(path), str(folder / "test.csv"),
                                 "--label-column", "is_anomaly"])
    assert result.exit_code == 0, result.output
    assert "AUC-ROC" in result.stdout and "false positives" in result.stdout
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", str(path), str(folder / "test.parquet"), "-l",
                                 "is_anomaly", "--json", "--k", "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    expected = evaluate(model, frame[COLUMNS], frame["is_anomaly"], k=10).to_dict()
    assert json.loads(result.stdout) == expected
    assert json.loads(out.read_text()) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-l", "label"], "test.csv: column 'label' is missing"),
        (["-l", "site"], "test.csv: label column 'site' must hold 0/1"),
        (["-l", "is_anomaly", "--k", "0"], "test.csv: k must be between 1"),
    ],
)
def test_evaluate_command_errors_are_one_line(labelled, args, message):
    _, path, folder, _ = labelled
    result = runner.invoke(app, ["evaluate", str(path), str(folder / "test.csv"), *args])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_evaluate_command_refuses_a_missing_model(labelled, tmp_path):
    _, _, folder, _ = labelled
    result = runner.invoke(app, ["evaluate", str(tmp_path / "none.lwm"),
                                 str(folder / "test.csv"), "-l", "is_anomaly"])
    assert result.exit_code == 1
    assert "none.lwm: no such model file" in result.stderr
