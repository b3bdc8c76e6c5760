"""``latentwatch drift`` (exit 0, 3 with --fail-on-drift, 1 on errors; JSON; the time
view) and ``latentwatch fit --warm-start``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, invoke, ok

from latentwatch import load, persistence


def _table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": a + 0.3 * rng.normal(size=n),
                         "c": rng.normal(size=n) + shift,
                         "kind": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drift")
    _table(2000, 0).to_csv(folder / "train.csv", index=False)
    _table(400, 1).to_csv(folder / "same.csv", index=False)
    _table(400, 2, shift=2.0).to_csv(folder / "moved.csv", index=False)
    timed = pd.concat([_table(240, 3), _table(240, 4, shift=2.0)], ignore_index=True)
    timed["when"] = pd.date_range("2024-03-01", periods=480, freq="12min").astype(str)
    timed.to_csv(folder / "timed.csv", index=False)
    ok(invoke("fit", folder / "train.csv", "-o", folder / "m.lwm", "--epochs", "8", "-q"))
    return folder


def test_no_drift_exits_0_with_the_json_document(files):
    result = ok(invoke("drift", files / "m.lwm", files / "same.csv", "--json",
                       "--fail-on-drift"))
    document = json.loads(result.stdout)
    assert document["drift"] is False and document["n_rows"] == 400
    assert 0.05 < document["p_value"] <= 1
    assert [set(c) for c in document["columns"]] == [{"column", "p_value", "shift"}] * 4
    shifts = [abs(c["shift"]) for c in document["columns"]]
    assert shifts == sorted(shifts, reverse=True)


def test_drift_exits_3_with_fail_on_drift_and_names_the_column(files):
    result = invoke("drift", files / "m.lwm", files / "moved.csv", "--json",
                    "--fail-on-drift")
    assert result.exit_code == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["drift"] is True and document["columns"][0]["column"] == "c"
    text = ok(invoke("drift", files / "m.lwm", files / "moved.csv"))
    assert "DRIFT" in text.stdout and "\nc " in text.stdout


def test_errors_exit_1_on_one_line(files, tmp_path):
    assert_one_line_error(invoke("drift", tmp_path / "none.lwm", files / "same.csv"),
                          "no such model file")
    assert_one_line_error(invoke("drift", files / "m.lwm", files / "same.csv", "-t", "when"),
                          "'when'")
    assert_one_line_error(invoke("drift", files / "m.lwm", files / "timed.csv", "-t", "when",
                                 "--every", "soon"), "not a pandas offset")
    assert_one_line_error(invoke("drift", files / "m.lwm", files / "same.csv", "--level",
                                 "2"), "level")


def test_an_old_model_file_is_refused_with_what_to_do(files, tmp_path):
    tensors, meta = load(files / "m.lwm")._file_contents()
    tensors = {k: v for k, v in tensors.items() if not k.startswith(persistence.DRIFT)}
    meta.pop("drift")
    old = persistence.write_file(tmp_path / "old.lwm", tensors, meta)
    assert_one_line_error(invoke("drift", old, files / "same.csv"), "no drift reference",
                          "calibrate")


def test_the_time_view_tests_each_period(files):
    result = ok(invoke("drift", files / "m.lwm", files / "timed.csv", "-t", "when",
                       "--every", "1d", "--json"))
    periods = json.loads(result.stdout)["periods"]
    assert [p["start"][:10] for p in periods] == ["2024-03-01", "2024-03-02", "2024-03-03",
                                                  "2024-03-04"]
    assert [p["n_rows"] for p in periods] == [120] * 4
    assert [p["drift"] for p in periods] == [False, False, True, True]
    assert periods[-1]["columns"][0]["column"] == "c"
    failing = invoke("drift", files / "m.lwm", files / "timed.csv", "-t", "when",
                     "--fail-on-drift")
    assert failing.exit_code == 3 and "period start" in failing.stdout


def test_fit_warm_start_writes_a_child_with_its_lineage(files, tmp_path):
    out = tmp_path / "child.lwm"
    result = ok(invoke("fit", files / "moved.csv", "--warm-start", files / "m.lwm", "-o",
                       out, "-q"))
    assert "updated VAEDetector" in result.stdout
    lineage = persistence.read_metadata(out)["lineage"]
    assert lineage["parent_sha256"] == persistence.read_metadata(files / "m.lwm")["sha256"]
    assert lineage["new_rows"] == 400
    assert invoke("drift", out, files / "moved.csv", "--fail-on-drift").exit_code == 0
    assert_one_line_error(invoke("fit", files / "moved.csv", "--warm-start",
                                 files / "m.lwm"), "--warm-start needs --out")
