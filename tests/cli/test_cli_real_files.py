"""The command line on the files real teams have: R/pandas row numbers, European and US
number formats, Latin-1 text, US dates, text labels, small tables and a separate
calibration, a model trained on a GPU, progress only on a terminal, and hostile inputs.
Every file is written by the test; models train for 2 epochs."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest
import torch
from cli_helpers import assert_one_line_error, invoke, ok

import latentwatch
from latentwatch.cli.console import shows_progress

FAST = ["--epochs", "2", "-q"]


def loans(n: int, seed: int = 0, start: int = 1) -> pd.DataFrame:
    """A lending table as R exports it: row names, two correlated amounts, a grade."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.4, n)
    return pd.DataFrame({"rownames": np.arange(start, start + n),
                         "income": income.round(2),
                         "loan": (income * rng.uniform(0.2, 0.4, n)).round(2),
                         "grade": rng.choice(["A", "B", "C"], n)})


@pytest.fixture(scope="module")
def r_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    loans(300).to_csv(folder / "loans.csv", index=False)
    result = ok(invoke("fit", folder / "loans.csv", "-o", folder / "loans.lwm", *FAST))
    return folder, result


def test_row_numbers_are_set_aside_and_said(r_model):
    folder, result = r_model
    assert "column 'rownames' holds row numbers" in result.stderr
    model = latentwatch.load(folder / "loans.lwm")
    assert "rownames" in model.schema_.id_columns and "rownames" not in model.schema_.names
    shifted = loans(300)
    shifted["rownames"] += 1319  # the same rows further down a file: the same scores
    shifted.to_csv(folder / "shifted.csv", index=False)
    a = ok(invoke("score", folder / "loans.lwm", folder / "loans.csv", "-q")).stdout
    b = ok(invoke("score", folder / "loans.lwm", folder / "shifted.csv", "-q")).stdout
    score = [line.split(",")[1] for line in a.splitlines()[1:]]
    assert score == [line.split(",")[1] for line in b.splitlines()[1:]]
    kept = ok(invoke("fit", folder / "loans.csv", "-o", folder / "with.lwm", "--model-index",
                     *FAST))
    assert "row numbers" not in kept.stderr
    assert "rownames" in latentwatch.load(folder / "with.lwm").schema_.names


def test_column_names_that_differ_in_case_are_named_in_the_error(r_model):
    folder, _ = r_model
    loans(20).rename(columns={"income": " Income"}).to_csv(folder / "case.csv", index=False)
    result = invoke("score", folder / "loans.lwm", folder / "case.csv")
    assert_one_line_error(result, "column 'income' is missing; the data has ' Income'")


def test_a_european_file_fits_and_scores_with_decimal_and_thousands(tmp_path):
    frame = loans(300).drop(columns="rownames")
    (tmp_path / "eu.csv").write_text(frame.to_csv(sep=";", index=False, decimal=","))
    refused = invoke("fit", tmp_path / "eu.csv", "-o", tmp_path / "x.lwm", *FAST)
    assert "--decimal ," in refused.stderr  # said, with the column not modelled
    ok(invoke("fit", tmp_path / "eu.csv", "--decimal", ",", "-o", tmp_path / "eu.lwm", *FAST))
    model = latentwatch.load(tmp_path / "eu.lwm")
    assert model.schema_.names == ["income", "loan", "grade"]
    assert [c.kind for c in model.schema_.columns][:2] == ["numeric", "numeric"]
    scored = ok(invoke("score", tmp_path / "eu.lwm", tmp_path / "eu.csv", "--decimal", ",",
                       "-q"))
    assert len(scored.stdout.splitlines()) == 301
    result = invoke("score", tmp_path / "eu.lwm", tmp_path / "eu.csv")
    assert_one_line_error(result, "is not a number (a decimal comma? read the file with "
                          "--decimal ,")


def test_a_latin1_file(tmp_path):
    frame = loans(200).drop(columns="rownames")
    frame.loc[150, "grade"] = "Č"
    frame["city"] = np.where(np.arange(200) % 2, "Montréal", "Québec")
    (tmp_path / "fr.csv").write_bytes(frame.to_csv(index=False).encode("cp1250",
                                                                        "replace"))
    result = invoke("fit", tmp_path / "fr.csv", *FAST)
    assert_one_line_error(result, "row 1, column 'city'", "--encoding latin-1")
    ok(invoke("fit", tmp_path / "fr.csv", "--encoding", "cp1250", "-o", tmp_path / "fr.lwm",
              *FAST))
    blocks = {b.name: b for b in latentwatch.load(tmp_path / "fr.lwm").codec_.blocks}
    assert set(blocks["city"].categories) == {"Montréal", "Québec"}
    assert blocks["grade"].rare_labels == ["Č"]


def test_us_dates_with_a_date_format_and_refused_dates_name_the_format(tmp_path):
    rng = np.random.default_rng(1)
    frame = loans(300).drop(columns="rownames")
    frame["opened"] = [f"{m}/{d}/2023" for m, d in zip(rng.integers(1, 13, 300),
                                                        rng.integers(1, 13, 300),
                                                        strict=True)]
    frame.to_csv(tmp_path / "us.csv", index=False)
    guessed = ok(invoke("fit", tmp_path / "us.csv", "-o", tmp_path / "g.lwm", *FAST))
    assert "slash dates read day-first (%d/%m/%Y)" in guessed.stderr
    assert "--date-format %m/%d/%Y" in guessed.stderr
    told = ok(invoke("fit", tmp_path / "us.csv", "--date-format", "%m/%d/%Y", "-o",
                     tmp_path / "us.lwm", *FAST))
    assert "day-first" not in told.stderr
    spec = latentwatch.load(tmp_path / "us.lwm").schema_.columns[-1]
    assert (spec.name, spec.format) == ("opened", "%m/%d/%Y")
    frame.loc[4, "opened"] = "01.01.2013"
    frame.to_csv(tmp_path / "new.csv", index=False)
    result = invoke("score", tmp_path / "us.lwm", tmp_path / "new.csv")
    assert_one_line_error(result, "row 5, column 'opened': '01.01.2013' is not a date/time "
                          "(expected %m/%d/%Y, e.g. 01/31/2024)")


def test_evaluate_with_text_labels_and_a_positive_label(r_model):
    folder, _ = r_model
    frame = loans(300)
    frame["status"] = np.where(np.arange(300) % 10 == 0, "bad", "good")
    frame.loc[frame.status == "bad", "loan"] *= 8
    frame.to_csv(folder / "labelled.csv", index=False)
    result = invoke("evaluate", folder / "loans.lwm", folder / "labelled.csv", "-l", "status")
    assert_one_line_error(result, "holds bad, good: pass --positive-label VALUE")
    metrics = ok(invoke("evaluate", folder / "loans.lwm", folder / "labelled.csv", "-l",
                        "status", "--positive-label", "bad", "--json")).stdout
    import json

    assert json.loads(metrics)["n_anomalies"] == 30
    frame["yes"] = np.where(frame.status == "bad", "yes", "no")
    frame.to_csv(folder / "labelled.csv", index=False)
    yes = ok(invoke("evaluate", folder / "loans.lwm", folder / "labelled.csv", "-l", "yes",
                    "--json")).stdout
    assert json.loads(yes)["n_anomalies"] == 30
    result = invoke("evaluate", folder / "loans.lwm", folder / "labelled.csv", "-l", "status",
                    "--positive-label", "fraud")
    assert_one_line_error(result, "--positive-label 'fraud' is none of its values (bad, good)")


def test_a_small_table_calibrates_with_the_calibrate_command(tmp_path):
    loans(300, seed=2).to_csv(tmp_path / "train.csv", index=False)
    loans(400, seed=3, start=301).to_csv(tmp_path / "normal.csv", index=False)
    result = invoke("fit", tmp_path / "train.csv", "--threshold", "alerts:50/10000", *FAST)
    assert_one_line_error(result, "needs at least 199 calibration rows",
                          "--calibration-fraction", "latentwatch calibrate")
    ok(invoke("fit", tmp_path / "train.csv", "--threshold", "alerts:50/10000",
              "--calibration-fraction", "0", "-o", tmp_path / "m.lwm", *FAST))
    assert latentwatch.load(tmp_path / "m.lwm").offset_ is None
    done = ok(invoke("calibrate", tmp_path / "m.lwm", tmp_path / "normal.csv"))
    assert "calibrated on 400 rows" in done.stderr
    model = latentwatch.load(tmp_path / "m.lwm")
    assert model.calibration_source_ == "calibrate" and model.offset_ is not None
    loans(100, seed=4).to_csv(tmp_path / "few.csv", index=False)
    too_few = invoke("calibrate", tmp_path / "m.lwm", tmp_path / "few.csv", "-o",
                     tmp_path / "m2.lwm")
    assert_one_line_error(too_few, f"{tmp_path / 'few.csv'}: ")
    assert not (tmp_path / "m2.lwm").exists()
    result = invoke("fit", tmp_path / "train.csv", "--calibration-fraction", "0.2", *FAST)
    assert_one_line_error(result, "only a false_alarm_rate or alerts --threshold")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_model_trained_on_a_gpu_loads_on_the_cpu_with_a_note(r_model, tmp_path):
    folder, _ = r_model
    model = latentwatch.load(folder / "loans.lwm").set_params(device="cuda")
    model.save(tmp_path / "gpu.lwm")  # what fit --device cuda on a GPU writes
    result = ok(invoke("score", tmp_path / "gpu.lwm", folder / "loans.csv", "-q"))
    assert f"warning: {tmp_path / 'gpu.lwm'}: the model was trained with device='cuda'" in (
        result.stderr)
    assert len(result.stdout.splitlines()) == 301
    refused = invoke("score", tmp_path / "gpu.lwm", folder / "loans.csv", "--device", "cuda")
    assert_one_line_error(refused, f"{tmp_path / 'gpu.lwm'}: device='cuda'")


def test_progress_only_on_a_terminal(r_model):
    folder, _ = r_model

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert shows_progress(stream=Terminal()) and not shows_progress(True, Terminal())
    assert not shows_progress(stream=io.StringIO())
    result = ok(invoke("report", folder / "loans.lwm", folder / "loans.csv", "-o",
                       folder / "r.html"))
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # only "wrote"


def test_a_one_row_training_file_names_the_file(tmp_path):
    loans(1).to_csv(tmp_path / "one.csv", index=False)
    assert_one_line_error(invoke("fit", tmp_path / "one.csv", *FAST),
                          f"{tmp_path / 'one.csv'}: 1 data row; training needs at least 2")


def test_an_unwritable_out_is_named_before_any_work(r_model, monkeypatch):
    folder, _ = r_model
    target = folder / "locked" / "scores.csv"
    target.parent.mkdir()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = invoke("score", folder / "loans.lwm", folder / "loans.csv", "-o", target)
    assert_one_line_error(result, f"--out {target}: cannot write in {target.parent} "
                          "(Permission denied)")
    monkeypatch.undo()
    result = invoke("score", folder / "loans.lwm", folder / "loans.csv", "-o",
                    folder / "loans.csv" / "x.csv")
    assert_one_line_error(result, f"--out {folder / 'loans.csv' / 'x.csv'}: cannot write")


@pytest.mark.parametrize("kind", ["gzip", "parquet"])
def test_bytes_that_are_not_csv_give_one_line_and_no_traceback(r_model, kind):
    folder, _ = r_model
    path = folder / f"{kind}.csv"
    if kind == "gzip":
        path.write_bytes(gzip.compress((folder / "loans.csv").read_bytes()))
    else:
        loans(10).to_parquet(path)
    done = subprocess.run([sys.executable, "-m", "latentwatch", "score",
                           str(folder / "loans.lwm"), str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.startswith(f"error: {path}: ")


def test_scores_named_tsv_dot_something_dot_csv_are_comma_separated(r_model):
    folder, _ = r_model
    out = folder / "x.tsv.scores.csv"
    ok(invoke("score", folder / "loans.lwm", folder / "loans.csv", "-o", out, "-q"))
    assert out.read_text().splitlines()[0].startswith("rownames,score,")
