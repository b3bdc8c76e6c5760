"""Failure behaviour of Dask scoring: a worker that dies mid-partition, a transient error,
bad rows (one-line message naming file, row and column, or kept as latentwatch score
--keep-bad-rows keeps them)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

dd = pytest.importorskip("dask.dataframe")

from dask_faults import MARKER, FaultOnce  # noqa: E402

from latentwatch.cli import app  # noqa: E402
from latentwatch.distributed import score_dask, score_to_parquet  # noqa: E402
from latentwatch.errors import DataError  # noqa: E402
from latentwatch.service import score_table  # noqa: E402


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def fault(dask_client, tmp_path):
    """``arm(stage, action)`` registers :class:`dask_faults.FaultOnce` on the workers; the
    path it returns exists once the fault fired."""
    folder = tmp_path / "fault"
    folder.mkdir()
    armed = []

    def arm(stage, action="exit"):
        dask_client.register_plugin(FaultOnce(stage, str(folder), action))
        armed.append(stage)
        return folder / MARKER

    yield arm
    if armed:
        dask_client.unregister_worker_plugin(FaultOnce.name)


def killed(client, fired):
    """Whether the fault fired in a worker process that is no longer among the workers."""
    pid = int(fired.read_text())
    return pid != os.getpid() and pid not in client.run(os.getpid).values()


def bits(frame):
    return {c: (frame[c].to_numpy().view(np.int64) if frame[c].dtype == np.float64
                else frame[c].astype(object).to_numpy()) for c in frame.columns}


def assert_identical(got, expected):
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    for column, values in bits(expected).items():
        other = bits(got)[column]
        assert pd.Series(values).equals(pd.Series(other)), column


def test_worker_dying_mid_partition_is_retried_with_identical_scores(dask_client, fitted,
                                                                    parquet_files, fault):
    model, _ = fitted
    scored = score_dask(model, parquet_files, partition_rows=500)
    fired = fault("score")
    again = dask_client.compute(scored, retries=2).result()
    assert killed(dask_client, fired)  # a worker process did end mid-partition
    frames = [pd.read_parquet(p) for p in parquet_files]
    clean = pd.concat([score_table(model, f, id_columns=["transaction_id"]).table
                       .drop(columns="reason") for f in frames])
    assert again.index.tolist() == clean.index.tolist()  # rows of each file, in order
    assert_identical(again.reset_index(drop=True), clean.reset_index(drop=True))
    assert dask_client.wait_for_workers(2, timeout=60) is None


def test_transient_error_is_retried(dask_client, fitted, transactions, fault):
    model, _ = fitted
    scored = score_dask(model, dd.from_pandas(transactions, npartitions=3), top_k=1)
    fired = fault("score", "raise")
    again = dask_client.compute(scored, retries=1).result()
    assert fired.exists()
    clean = score_table(model, transactions, top_k=1, id_columns=["transaction_id"]).table
    assert_identical(again, clean.drop(columns="reason"))


def test_transient_error_without_retries_fails(dask_client, fitted, transactions, fault):
    model, _ = fitted
    scored = score_dask(model, dd.from_pandas(transactions, npartitions=3), top_k=1)
    fault("score", "raise")
    with pytest.raises(OSError, match="a transient failure"):
        dask_client.compute(scored, retries=0).result()


def test_worker_dying_while_writing_a_part_leaves_the_clean_output(dask_client, fitted,
                                                                  parquet_files, fault,
                                                                  tmp_path):
    model, _ = fitted
    clean = score_to_parquet(model, parquet_files, tmp_path / "clean", client=dask_client,
                             partition_rows=500)
    fired = fault("write")
    crashed = score_to_parquet(model, parquet_files, tmp_path / "out", client=dask_client,
                               partition_rows=500)
    assert killed(dask_client, fired) and crashed["rows"] == clean["rows"] == 2400
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted(os.listdir(tmp_path / "clean"))  # no temporary file left
    for name in names[1:]:
        assert_identical(pd.read_parquet(tmp_path / "out" / name),
                         pd.read_parquet(tmp_path / "clean" / name))


@pytest.fixture
def bad_file(parquet_files):
    """The second file with 'abc' in rows 613 and 701 (from 1) of its amount column: both
    in its second partition of 500 rows."""
    path = parquet_files[1]
    frame = pd.read_parquet(path)
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[[612, 700], "amount"] = "abc"
    frame.to_parquet(path, row_group_size=250, index=False)
    return path


def test_bad_rows_fail_with_the_message_of_latentwatch_score(dask_client, fitted,
                                                            parquet_files, bad_file,
                                                            tmp_path):
    _, model_path = fitted
    single = invoke("score", model_path, bad_file, "-o", tmp_path / "one.parquet")
    assert single.exit_code == 1
    out = tmp_path / "scores"
    result = invoke("score", model_path, bad_file, "--engine", "dask", "--scheduler",
                    dask_client.scheduler.address, "--partition-rows", "500", "-o", out)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == single.stderr  # file, global rows 613 and 701, column, advice
    assert "row 613, column 'amount': 'abc' is not a number; row 701" in result.stderr
    assert not os.listdir(out)  # nothing written, no _SUCCESS


def test_bad_rows_are_kept_as_latentwatch_score_keeps_them(dask_client, fitted,
                                                          parquet_files, bad_file,
                                                          tmp_path):
    _, model_path = fitted
    one = tmp_path / "one.parquet"
    single = invoke("score", model_path, bad_file, "--keep-bad-rows", "-q", "-o", one)
    assert single.exit_code == 0, single.stderr
    out = tmp_path / "scores"
    result = invoke("score", model_path, bad_file, "--engine", "dask", "--keep-bad-rows",
                    "--scheduler", dask_client.scheduler.address, "--partition-rows", "500",
                    "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "2 rows could not be scored" in result.stderr and "row 613" in result.stderr
    got = pd.concat([pd.read_parquet(out / f"part-0000{i}.parquet") for i in (0, 1)],
                    ignore_index=True)
    expected = pd.read_parquet(one)
    assert_identical(got, expected)
    assert got["score"].isna().sum() == 2 and got["reason"].notna().sum() == 2


def test_bad_rows_in_a_dask_dataframe_name_partition_row_and_column(dask_client, fitted,
                                                                   transactions):
    model, _ = fitted
    frame = transactions.copy()
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[1000, "amount"] = "abc"
    scored = score_dask(model, dd.from_pandas(frame, npartitions=3))  # 800 rows each
    with pytest.raises(DataError, match=r"^partition 1: 1 row cannot be used: row 201, "
                                        r"column 'amount': 'abc' is not a number; fix them "
                                        r"or pass keep_bad_rows=True"):
        dask_client.compute(scored).result()
    kept = dask_client.compute(score_dask(model, dd.from_pandas(frame, npartitions=3),
                                          keep_bad_rows=True)).result()
    assert len(kept) == len(frame) and kept.index.equals(frame.index)
    assert kept["reason"].notna().sum() == 1 and pd.isna(kept.loc[1000, "score"])
