"""Dask scoring (latentwatch.distributed) against the one-process route, bit for bit."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

dd = pytest.importorskip("dask.dataframe")

from latentwatch.cli import app  # noqa: E402
from latentwatch.distributed import (  # noqa: E402
    ModelBytes,
    plan_partitions,
    score_dask,
    score_to_parquet,
    worker_model,
)
from latentwatch.errors import DataError  # noqa: E402
from latentwatch.service import score_table  # noqa: E402


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_process(model_path, path, out, *extra):
    """What ``latentwatch score MODEL FILE -o OUT.parquet`` writes."""
    result = invoke("score", model_path, path, "-q", "-o", out, *extra)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return pd.read_parquet(out)


def assert_identical(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, rows and values; float64 columns compared bit for bit."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        a, b = expected[column].to_numpy(), got[column].to_numpy()
        if a.dtype == np.float64:
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), column
        else:
            assert pd.Series(a, dtype=object).equals(pd.Series(b, dtype=object)), column


def read_parts(folder):
    manifest = json.loads((folder / "_SUCCESS").read_text())
    return manifest, pd.concat([pd.read_parquet(folder / p["part"]) for p in manifest["parts"]],
                               ignore_index=True)


def test_model_carrier_is_the_model_file(fitted, transactions):
    model, path = fitted
    by_path, by_model = ModelBytes.of(path), ModelBytes.of(model)
    assert by_path.data == path.read_bytes()
    assert by_model.sha256 == by_path.sha256 == ModelBytes.of(path.read_bytes()).sha256
    loaded = worker_model(by_path)
    assert worker_model(by_model) is loaded  # one load per process, keyed by the hash
    rows = transactions.iloc[:300]
    assert np.array_equal(loaded.anomaly_score(rows), model.anomaly_score(rows))


def test_dask_dataframe_scores_equal_one_process(dask_client, fitted, transactions):
    model, _ = fitted
    frame = transactions.set_axis(pd.RangeIndex(1000, 1000 + len(transactions)))
    ddf = dd.from_pandas(frame, npartitions=5)
    scored = score_dask(model, ddf, top_k=2)
    assert scored.npartitions == 5
    got = dask_client.compute(scored).result()
    expected = score_table(model, frame, top_k=2, id_columns=["transaction_id"]).table
    assert got.index.equals(frame.index)  # partition order and row order kept
    assert_identical(got.reset_index(drop=True), expected.drop(columns="reason"))
    assert dict(got.dtypes) == dict(scored._meta.dtypes)
    kept = dask_client.compute(score_dask(model, ddf, keep_input=True)).result()
    assert list(kept.columns[:len(frame.columns)]) == list(frame.columns)
    assert kept["score"].equals(got["score"])


def test_files_partition_by_row_groups(parquet_files, tmp_path):
    partitions = plan_partitions(parquet_files[0].parent, partition_rows=500)
    assert [(p.path, p.first_row, p.rows, p.row_groups) for p in partitions[:3]] == [
        (str(parquet_files[0]), 0, 500, (0, 1)), (str(parquet_files[0]), 500, 300, (2, 3)),
        (str(parquet_files[1]), 0, 500, (0, 1))]
    assert sum(p.rows for p in partitions) == 2400
    twice = plan_partitions([parquet_files[1], parquet_files[1]], 10**6)
    assert [(p.path, p.rows, p.row_groups) for p in twice] == [
        (str(parquet_files[1]), 800, (0, 1, 2, 3))]  # a file named twice is read once
    csv = tmp_path / "t.csv"
    pd.read_parquet(parquet_files[0]).to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"mixes csv \(.*t.csv\) and parquet"):
        plan_partitions([csv, parquet_files[0]])
    assert [(p.path, p.first_row, p.rows, p.row_groups) for p in plan_partitions(csv)] == [
        (str(csv), 0, None, None)]  # a CSV file whole, its rows known once read
    with pytest.raises(DataError, match="no file matches"):
        plan_partitions(str(parquet_files[0].parent / "*.csv"))
    with pytest.raises(ValueError, match="partition_rows=0: expected a positive integer"):
        plan_partitions(parquet_files, 0)


def test_cli_engine_dask_equals_latentwatch_score(fitted, parquet_files, tmp_path):
    _, model_path = fitted
    out = tmp_path / "scores"
    result = invoke("score", model_path, parquet_files[0].parent / "*.parquet", "--engine",
                    "dask", "--workers", "1", "--partition-rows", "500", "-q", "-o", out)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert sorted(os.listdir(out)) == ["_SUCCESS", *(f"part-{i:05d}.parquet" for i in range(6))]
    manifest, got = read_parts(out)
    assert [(p["source"], p["first_row"], p["rows"]) for p in manifest["parts"][:2]] == [
        (str(parquet_files[0]), 0, 500), (str(parquet_files[0]), 500, 300)]
    expected = pd.concat([one_process(model_path, p, tmp_path / f"{p.stem}.parquet")
                          for p in parquet_files], ignore_index=True)
    assert_identical(got, expected)


def test_rerun_replaces_parts_and_refuses_foreign_folders(dask_client, fitted, parquet_files,
                                                          tmp_path):
    _, model_path = fitted
    out = tmp_path / "scores"
    address = dask_client.scheduler.address
    glob = parquet_files[0].parent / "*.parquet"
    for rows in ("250", "1000"):  # 12 parts, then 3: the stale ones go
        result = invoke("score", model_path, glob, "--engine", "dask", "--scheduler", address,
                        "--partition-rows", rows, "-o", out)
        assert result.exit_code == 0, (result.stderr, result.exception)
    assert sorted(os.listdir(out)) == ["_SUCCESS", *(f"part-{i:05d}.parquet" for i in range(3))]
    assert "scored 2,400 rows" in result.stderr and "wrote 3 parts from 3 files" in result.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    for target, fragment in ((tmp_path / "mine", "'notes.txt', which is not a part"),
                             ("-", "pass --out DIR")):
        result = invoke("score", model_path, glob, "--engine", "dask", "--scheduler", address,
                        "-o", target)
        assert result.exit_code == 1 and fragment in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    result = invoke("score", model_path, parquet_files[0], "--workers", "2", "-o", "x.csv")
    assert result.exit_code == 1 and "--workers needs --engine dask" in result.stderr


def test_score_to_parquet_without_a_cluster(fitted, parquet_files, tmp_path):
    model, _ = fitted
    summary = score_to_parquet(model, parquet_files[:1], tmp_path / "out", top_k=1)
    assert (summary["rows"], summary["parts"]) == (800, 1)
    got = pd.read_parquet(tmp_path / "out" / "part-00000.parquet")
    expected = score_table(model, pd.read_parquet(parquet_files[0]), top_k=1,
                           id_columns=["transaction_id"]).table.drop(columns="reason")
    assert_identical(got, expected)


def test_csv_files_are_read_as_latentwatch_score_reads_them(dask_client, fitted, transactions,
                                                            tmp_path):
    _, model_path = fitted
    paths = []
    for i in range(2):
        path = tmp_path / f"t{i}.csv"
        transactions.iloc[400 * i:400 * (i + 1)].to_csv(path, index=False)
        paths.append(path)
    scored = score_dask(model_path, str(tmp_path / "*.csv"), top_k=1)
    assert scored.npartitions == 2  # a CSV file is one partition
    got = dask_client.compute(scored).result()
    expected = pd.concat([one_process(model_path, p, tmp_path / f"{p.stem}.parquet", "-k", "1")
                          for p in paths], ignore_index=True)
    assert_identical(got.reset_index(drop=True), expected)
    assert got.index.tolist() == [*range(400), *range(400)]  # rows of each file, from 0


def test_a_time_series_model_is_refused_in_one_line():
    from latentwatch import AutoEncoderDetector

    t = np.arange(300.0)
    frame = pd.DataFrame({"time": t, "value": np.sin(t / 5)})
    model = AutoEncoderDetector(time_column="time", window=8, max_epochs=1,
                                random_state=0).fit(frame)
    with pytest.raises(ValueError, match=r"a time-series model \(windows of 8 steps\) reads "
                                         r"the rows before each row"):
        score_dask(model, dd.from_pandas(frame, npartitions=2))
