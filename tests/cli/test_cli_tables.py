"""``schema``, ``fit``, ``score``, ``explain`` end to end: formats, stdin and stdout,
chunks, thresholds, edited schemas, unseen categories, timestamps."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from cli_helpers import invoke, mixed_table, ok

import latentwatch

FAST = ["--epochs", 1, "--hidden-dims", "8,4", "-q"]


def test_fit_prints_the_schema_progress_and_summary(workspace, tmp_path):
    result = ok(invoke("fit", workspace / "mixed.csv", "--model", "ae", "-i", "transaction_id",
                       "-x", "label", "--epochs", 2, "-o", tmp_path / "m.lwm"))
    for text in ("merchant_category", "categorical", "log scale", "timestamp.hour",
                 "transaction_id", "passed through", "label", "excluded",
                 "trained AutoEncoderDetector on 600 rows x 9 columns", "saved"):
        assert text in result.stdout, text
    assert "training" in result.stderr  # the progress bar
    assert "validation loss still falling; try --epochs 4" in result.stderr
    assert isinstance(latentwatch.load(tmp_path / "m.lwm"), latentwatch.AutoEncoderDetector)


def test_fit_names_the_model_after_the_data(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok(invoke("fit", workspace / "numeric.csv", *FAST))
    assert (tmp_path / "numeric.lwm").is_file()


def test_fit_reads_parquet_and_stdin(workspace, tmp_path):
    ok(invoke("fit", workspace / "mixed.parquet", "-o", tmp_path / "p.lwm", "-x", "label",
              *FAST))
    ok(invoke("fit", "-", "-o", tmp_path / "s.lwm", "-x", "label", *FAST,
              input=(workspace / "mixed.csv").read_text()))
    for name in ("p.lwm", "s.lwm"):
        model = latentwatch.load(tmp_path / name)
        assert "amount" in model.feature_names_in_
        assert "identifier" in dict(model.schema_.excluded)["transaction_id"]


def test_parquet_in_and_out_and_small_chunks_give_the_same_scores(fitted, tmp_path):
    each = fitted["vae-mixed"]
    ok(invoke("score", each.model, each.data, "-o", tmp_path / "a.csv", "-q"))
    ok(invoke("score", each.model, each.data.with_suffix(".parquet"), "-o",
              tmp_path / "b.parquet", "--chunk-rows", 50, "-q"))
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_parquet(tmp_path / "b.parquet")
    assert list(a["transaction_id"]) == list(b["transaction_id"])
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-12)  # chunks: float rounding
    assert list(a["top3"]) == list(b["top3"])


def test_stdin_and_stdout(fitted):
    each = fitted["ae-numeric"]
    result = ok(invoke("score", each.model, "-", "-k", 0, "-q", input=each.data.read_text()))
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "rid,score,is_anomaly,p_value" and len(lines) == 501
    assert result.stderr == ""


def test_score_takes_the_id_columns_asked_for(fitted):
    each = fitted["vae-mixed"]
    result = ok(invoke("score", each.model, each.data, "-i", "customer_id", "-i", "label",
                       "-k", 1, "-q"))
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[:3]) == ["customer_id", "label", "score"]


def test_fit_takes_a_threshold_strategy(workspace, tmp_path):
    model_path = tmp_path / "far.lwm"
    ok(invoke("fit", workspace / "numeric.csv", "-i", "rid", "-x", "label", "-o", model_path,
              "--threshold", "false_alarm_rate:0.1", *FAST))
    model = latentwatch.load(model_path)
    assert model.threshold_ == latentwatch.thresholds.FalseAlarmRate(0.1)
    info = ok(invoke("info", model_path)).stdout
    assert "false_alarm_rate: flags at most 0.1 of normal rows" in info
    table = pd.read_csv(io.StringIO(ok(invoke("score", model_path, workspace / "numeric.csv",
                                              "-q")).stdout))
    X = pd.read_csv(workspace / "numeric.csv").drop(columns=["rid", "label"])
    np.testing.assert_array_equal(table["is_anomaly"].to_numpy(), model.p_values(X) <= 0.1)


def test_schema_json_can_be_edited_and_passed_back(workspace, tmp_path):
    result = ok(invoke("schema", workspace / "mixed.csv", "-i", "transaction_id", "-q"))
    schema = json.loads(result.stdout)
    assert schema["columns"]["amount"]["kind"] == "numeric"
    assert schema["columns"]["amount"]["log"] is True
    schema["columns"]["amount"]["log"] = False
    schema["exclude"] += ["customer_age", "label"]
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    ok(invoke("fit", workspace / "mixed.csv", "--schema", path, "-o", tmp_path / "m.lwm",
              *FAST))
    model = latentwatch.load(tmp_path / "m.lwm")
    assert "customer_age" not in model.feature_names_in_
    assert not model.codec_.blocks[model.codec_.names.index("amount")].log
    assert model.schema_.id_columns == ("transaction_id",)


def test_schema_infer_models_numbers_as_inferred(workspace):
    plain = json.loads(ok(invoke("schema", workspace / "numeric.csv", "-i", "rid", "-x",
                                 "label", "-q")).stdout)
    assert {c["note"] for c in plain["columns"].values()} == {"numeric matrix"}
    inferred = json.loads(ok(invoke("schema", workspace / "numeric.csv", "-i", "rid", "-x",
                                    "label", "--schema", "infer", "-q")).stdout)
    assert list(inferred["columns"]) == list(plain["columns"])
    assert "numeric matrix" not in {c.get("note") for c in inferred["columns"].values()}


def test_unseen_categories_are_scored_not_refused(fitted, tmp_path):
    each = fitted["vae-mixed"]
    odd = pd.read_csv(each.data)
    odd.loc[0, "country"] = "Atlantis"
    odd.to_csv(tmp_path / "odd.csv", index=False)
    result = ok(invoke("explain", each.model, tmp_path / "odd.csv", "--rows", 1, "-k", 12))
    assert "country: 'Atlantis' (new or rare value" in result.stdout


def test_explain_says_which_rows_cannot_be_scored(fitted, tmp_path):
    each = fitted["vae-mixed"]
    bad = pd.read_csv(each.data).astype({"amount": object})
    bad.loc[1, "amount"] = "lots"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = ok(invoke("explain", each.model, tmp_path / "bad.csv", "--rows", "1-2"))
    assert "row 2  transaction_id=T0000002  cannot be scored: column 'amount': 'lots' is " \
           "not a number" in result.stdout


def test_day_first_and_epoch_timestamps_are_read_by_a_stated_rule(tmp_path):
    frame = mixed_table(300, seed=2)
    stamps = pd.to_datetime(frame["timestamp"])
    frame["timestamp"] = stamps.dt.strftime("%d/%m/%Y %H:%M").where(stamps.notna(), None)
    filled = stamps.fillna(pd.Timestamp("2024-03-10"))
    frame["paid_at"] = (filled - pd.Timestamp("1970-01-01")).dt.total_seconds().astype("int64")
    frame.to_csv(tmp_path / "dates.csv", index=False)
    schema = json.loads(ok(invoke("schema", tmp_path / "dates.csv", "-q")).stdout)
    column = schema["columns"]["timestamp"]
    assert column["kind"] == "datetime" and column["format"] == "%d/%m/%Y %H:%M"
    assert schema["columns"]["paid_at"]["kind"] == "datetime"
    assert schema["columns"]["paid_at"]["format"] == "epoch_s"
    ok(invoke("fit", tmp_path / "dates.csv", "-x", "label", "-o", tmp_path / "d.lwm", *FAST))
    sample = tmp_path / "sample.csv"
    ok(invoke("sample", tmp_path / "d.lwm", "-n", 10, "-o", sample, "-q"))
    scores = pd.read_csv(io.StringIO(ok(invoke("score", tmp_path / "d.lwm", sample, "-q",
                                               "--keep-bad-rows")).stdout))
    assert scores["reason"].isna().all() and len(scores) == 10
