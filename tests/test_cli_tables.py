"""`latentwatch schema/fit/score/explain/info` end to end on CSV and Parquet files."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import latentwatch
from latentwatch.cli import app
from latentwatch.datasets import make_transactions

runner = CliRunner()
FIT = ["--id-column", "transaction_id", "--exclude", "customer_id", "--epochs", "3",
       "--hidden-dims", "16,8", "--quiet"]


def invoke(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], **kwargs)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    train, _ = make_transactions(400, seed=0)
    test, _ = make_transactions(120, anomaly_fraction=0.1, seed=1)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    test.to_parquet(folder / "test.parquet")
    result = invoke("fit", folder / "train.csv", "--out", folder / "model.lwm", *FIT)
    assert result.exit_code == 0, result.output
    return folder, test


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_fit_prints_the_schema_and_saves_a_model(tmp_path, files):
    folder, _ = files
    result = invoke("fit", folder / "train.csv", "--out", tmp_path / "m.lwm", "--model", "ae",
                    "--id-column", "transaction_id", "--epochs", "2", "--hidden-dims", "8,4")
    assert result.exit_code == 0, result.output
    for text in ("merchant_category", "categorical", "log scale", "timestamp.hour",
                 "transaction_id", "passed through", "customer_id", "trained "
                 "AutoEncoderDetector on 400 rows"):
        assert text in result.stdout, text
    assert "training" in result.stderr  # the progress bar
    assert isinstance(latentwatch.load(tmp_path / "m.lwm"), latentwatch.AutoEncoderDetector)


def test_fit_reads_parquet_and_stdin(files, tmp_path):
    folder, _ = files
    fast = ["--epochs", "1", "--hidden-dims", "8,4", "-q", "--exclude", "customer_id"]
    result = invoke("fit", folder / "test.parquet", "-o", tmp_path / "p.lwm", *fast)
    assert result.exit_code == 0, result.output
    result = invoke("fit", "-", "-o", tmp_path / "s.lwm", *fast,
                    input=(folder / "test.csv").read_text())
    assert result.exit_code == 0, result.output
    for name in ("p.lwm", "s.lwm"):
        model = latentwatch.load(tmp_path / name)
        assert "amount" in model.feature_names_in_
        assert "identifier" in dict(model.schema_.excluded)["transaction_id"]


def test_score_writes_one_row_per_input_row_in_order(files):
    folder, test = files
    out = folder / "scores.csv"
    result = invoke("score", folder / "model.lwm", folder / "test.csv", "--out", out,
                    "--top-k", "2")
    assert result.exit_code == 0, result.output
    assert "scored 120 rows" in result.stderr
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["transaction_id", "score", "is_anomaly", "top1",
                                    "top1_nats", "top2", "top2_nats"]
    assert list(scores["transaction_id"]) == list(test["transaction_id"])
    model = latentwatch.load(folder / "model.lwm")
    np.testing.assert_allclose(scores["score"], model.anomaly_score(test), rtol=1e-12)
    assert list(scores["is_anomaly"]) == list(model.predict(test) == -1)
    assert set(scores["top1"]) <= set(model.table_layout().names)
    assert (scores["top1_nats"] >= scores["top2_nats"]).all()


def test_parquet_in_and_out_and_small_chunks_give_the_same_scores(files):
    folder, _ = files
    csv = folder / "a.csv"
    parquet = folder / "b.parquet"
    assert invoke("score", folder / "model.lwm", folder / "test.csv", "-o", csv).exit_code == 0
    result = invoke("score", folder / "model.lwm", folder / "test.parquet", "-o", parquet,
                    "--chunk-rows", "7", "-q")
    assert result.exit_code == 0, result.output
    a, b = pd.read_csv(csv), pd.read_parquet(parquet)
    assert list(a["transaction_id"]) == list(b["transaction_id"])
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-12)
    assert list(a["top3"]) == list(b["top3"])


def test_stdin_and_stdout(files):
    folder, _ = files
    text = (folder / "test.csv").read_text()
    result = invoke("score", folder / "model.lwm", "-", "--top-k", "0", "-q", input=text)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "transaction_id,score,is_anomaly" and len(lines) == 121


def test_explain_rows_and_top_rows(files):
    folder, test = files
    result = invoke("explain", folder / "model.lwm", folder / "test.csv", "--rows", "2,5-6",
                    "--top-k", "3")
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.stdout.splitlines()
            if line.startswith("row")] == ["2", "5", "6"]
    assert f"transaction_id={test['transaction_id'][4]}" in result.stdout
    assert "expected" in result.stdout
    top = invoke("explain", folder / "model.lwm", folder / "test.parquet", "--top", "2")
    assert top.exit_code == 0, top.output
    heads = [line for line in top.stdout.splitlines() if line.startswith("row")]
    scores = [float(line.split("score ")[1].split()[0]) for line in heads]
    assert len(heads) == 2 and scores[0] >= scores[1]
    past = invoke("explain", folder / "model.lwm", folder / "test.csv", "--rows", "500")
    assert_one_line_error(past, "test.csv", "row 500 is past the end (120 rows)")


def test_info_shows_schema_parameters_history_and_threshold(files):
    folder, _ = files
    result = invoke("info", folder / "model.lwm")
    assert result.exit_code == 0, result.output
    for text in ("VAEDetector", "model format 2", "merchant_category", "categories",
                 "gaps modelled", "training: 3 epochs", "threshold: score >", "hidden_dims"):
        assert text in result.stdout, text
    meta = json.loads(invoke("info", folder / "model.lwm", "--json").stdout)
    assert meta["state"]["layout_"]["blocks"][0]["name"] == "timestamp.hour"


def test_fit_takes_a_threshold_strategy(files, tmp_path):
    folder, test = files
    model_path = tmp_path / "far.lwm"
    result = invoke("fit", folder / "train.csv", "--out", model_path, *FIT,
                    "--threshold", "false_alarm_rate:0.1")
    assert result.exit_code == 0, result.output
    model = latentwatch.load(model_path)
    assert model.threshold_ == latentwatch.thresholds.FalseAlarmRate(0.1)
    info = invoke("info", model_path)
    assert info.exit_code == 0, info.output
    assert "false_alarm_rate: flags at most 0.1 of normal rows" in info.stdout
    scored = invoke("score", model_path, folder / "test.csv", "--quiet")
    assert scored.exit_code == 0, scored.output
    table = pd.read_csv(pd.io.common.StringIO(scored.stdout))
    p_values = model.p_values(test)
    np.testing.assert_array_equal(table["is_anomaly"].to_numpy(), p_values <= 0.1)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--threshold", "false_alarm_rate"], ["--threshold", "KIND:VALUE"]),
        (["--threshold", "quantile:0.1"], ["--threshold", "'quantile:0.1'"]),
        (["--threshold", "contamination:abc"], ["--threshold", "'abc' is not a number"]),
        (["--threshold", "false_alarm_rate:2"], ["--threshold"]),
        (["--threshold", "log_likelihood:-40", "--model", "ae"], ["--threshold", "VAEDetector"]),
        (["--threshold", "contamination:0.05", "--contamination", "0.05"],
         ["--threshold", "not both"]),
    ],
)
def test_fit_refuses_a_bad_threshold_in_one_line(files, tmp_path, args, fragments):
    folder, _ = files
    result = invoke("fit", folder / "train.csv", "--out", tmp_path / "m.lwm", *FIT, *args)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "m.lwm").exists()


def test_schema_json_can_be_edited_and_passed_back(files, tmp_path):
    folder, _ = files
    result = invoke("schema", folder / "train.csv", "--id-column", "transaction_id")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["columns"]["amount"] == {"kind": "numeric", "log": True,
                                           "note": schema["columns"]["amount"]["note"]}
    schema["columns"]["amount"]["log"] = False
    schema["exclude"].append("customer_age")
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    fit = invoke("fit", folder / "train.csv", "--schema", path, "-o", tmp_path / "m.lwm",
                 *FIT)
    assert fit.exit_code == 0, fit.output
    model = latentwatch.load(tmp_path / "m.lwm")
    assert "customer_age" not in model.feature_names_in_
    assert not model.layout_.blocks[model.layout_.names.index("amount")].log


def test_rows_that_cannot_be_scored_fail_the_run_or_get_a_reason(files, tmp_path):
    folder, test = files
    bad = test.astype({"amount": object})
    bad.loc[6, "amount"] = "twelve"
    bad.loc[9, "amount"] = "-"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out.csv"
    failed = invoke("score", folder / "model.lwm", tmp_path / "bad.csv", "-o", out,
                    "--chunk-rows", "5")
    assert_one_line_error(failed, "bad.csv", "2 rows cannot be used", "row 7, column 'amount': "
                   "'twelve' is not a number", "row 10", "--keep-bad-rows")
    assert not out.exists(), "a failed run leaves no partial output"
    kept = invoke("score", folder / "model.lwm", tmp_path / "bad.csv", "-o", out,
                  "--keep-bad-rows")
    assert kept.exit_code == 0, kept.output
    assert "2 rows could not be scored" in kept.stderr
    scores = pd.read_csv(out)
    assert len(scores) == 120 and scores["score"].isna().sum() == 2
    assert scores.loc[6, "reason"] == "column 'amount': 'twelve' is not a number"
    assert scores["reason"].notna().sum() == 2


def test_unseen_categories_are_scored_not_refused(files, tmp_path):
    folder, test = files
    odd = test.copy()
    odd.loc[0, "country"] = "Atlantis"
    odd.to_csv(tmp_path / "odd.csv", index=False)
    result = invoke("explain", folder / "model.lwm", tmp_path / "odd.csv", "--rows", "1",
                    "--top-k", "9")
    assert result.exit_code == 0, result.output
    assert "country: 'Atlantis' (new or rare value" in result.stdout


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("", ["empty file"]),
        ("transaction_id,amount\n", ["column 'timestamp' is missing"]),
        ("a,b\n1,2,3,4\n", ["cannot read"]),
    ],
)
def test_malformed_files_give_one_line(files, tmp_path, content, fragments):
    folder, _ = files
    path = tmp_path / "x.csv"
    path.write_text(content)
    assert_one_line_error(invoke("score", folder / "model.lwm", path), "x.csv", *fragments)


def test_missing_column_wrong_type_corrupt_model_and_bad_paths(files, tmp_path):
    folder, test = files
    model = folder / "model.lwm"
    test.drop(columns=["currency"]).to_parquet(tmp_path / "no_currency.parquet")
    assert_one_line_error(invoke("score", model, tmp_path / "no_currency.parquet"),
                   "no_currency.parquet", "column 'currency' is missing")
    test.assign(is_online="sometimes").to_csv(tmp_path / "typed.csv", index=False)
    assert_one_line_error(invoke("score", model, tmp_path / "typed.csv"), "typed.csv",
                   "row 1, column 'is_online': 'sometimes' is not a boolean")
    corrupt = tmp_path / "corrupt.lwm"
    corrupt.write_bytes(model.read_bytes()[:-50])
    assert_one_line_error(invoke("score", corrupt, folder / "test.csv"), "corrupt.lwm")
    assert_one_line_error(invoke("info", tmp_path / "nothing.lwm"), "nothing.lwm", "no such")
    assert_one_line_error(invoke("score", model, tmp_path / "nothing.csv"), "nothing.csv",
                   "no such file")
    assert_one_line_error(invoke("score", model, tmp_path), "is a directory")
    assert_one_line_error(invoke("score", model, folder / "test.csv", "-o", tmp_path / "x.json"),
                   "x.json", "unknown file type")
    assert_one_line_error(invoke("fit", folder / "train.csv", "--id-column", "ghost"),
                   "train.csv", "id column 'ghost' is not in the data")
    debug = invoke("score", model, tmp_path / "typed.csv", "--debug")
    assert debug.exit_code == 1 and debug.exception is not None
    assert type(debug.exception).__name__ == "DataError"


cell = st.one_of(st.text(max_size=6), st.integers(-10**9, 10**9),
                 st.floats(allow_nan=True, allow_infinity=True), st.just(""), st.just("NaN"))


@settings(derandomize=True, deadline=None, max_examples=25,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_bad_input_never_gives_a_traceback(files, tmp_path, data):
    folder, test = files
    frame = test.head(8).astype(object)
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.integers(0, 7))
        column = data.draw(st.sampled_from(list(frame.columns)))
        frame.loc[row, column] = data.draw(cell)
    dropped = data.draw(st.lists(st.sampled_from(list(frame.columns)), max_size=2))
    frame = frame.drop(columns=list(set(dropped)))
    path = tmp_path / "generated.csv"
    if data.draw(st.booleans()):
        frame.to_csv(path, index=False)
    else:
        path.write_bytes(data.draw(st.binary(max_size=64)))
    result = invoke("score", folder / "model.lwm", path, "-q", "--top-k", "1")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "generated.csv" in lines[0] or "row" in lines[0]
    else:
        assert len(result.stdout.strip().splitlines()) == 1 + len(frame)
    os.remove(path)
