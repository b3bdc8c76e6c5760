"""Dask scoring against one process: rows/s, and scores compared bit for bit.

Writes a transactions Parquet dataset (``latentwatch.demos.datasets.make_transactions``,
one seed per file) outside the repository, fits a small model on a sample of the first
file, then scores every file

* in one process, with ``latentwatch score MODEL FILE -o FILE.parquet`` (the command
  itself, run in this process, file after file), and
* with ``latentwatch score MODEL 'DIR/*.parquet' --engine dask`` (its functions:
  ``cli.dask_engine.dask_client`` and ``distributed.score_to_parquet``) on a local
  cluster of 1, 2, ... worker processes with one thread each (cluster start-up timed
  apart),

and checks that every output column is identical, the scores' float64 bits included::

    python -m benchmarks.scale.dask_score --rows 10000000 --files 20 --model ae
    python -m benchmarks.scale.dask_score --rows 1000000 --files 20 --model vae
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.tables import md_table

SCHEMA = {"exclude": ["customer_id"], "id_columns": ["transaction_id"]}


def make_data(folder: Path, rows: int, files: int, row_group: int) -> list[Path]:
    """``files`` Parquet files of about ``rows / files`` transactions each (kept if they
    are there already with the same sizes)."""
    from latentwatch.demos.datasets import make_transactions

    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-rows // files)
    paths = []
    for i in range(files):
        path = folder / f"transactions-{i:03d}.parquet"
        n = min(per_file, rows - i * per_file)
        if not path.exists() or pd.read_parquet(path, columns=["amount"]).shape[0] != n:
            frame, _ = make_transactions(n, anomaly_fraction=0.01, seed=1000 + i)
            frame.to_parquet(path, row_group_size=row_group, index=False)
        paths.append(path)
    return paths


def fit_model(first: Path, kind: str, sample: int, out: Path) -> Path:
    from latentwatch import AutoEncoderDetector, VAEDetector

    frame = pd.read_parquet(first).iloc[:sample]
    cls = VAEDetector if kind == "vae" else AutoEncoderDetector
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(schema=SCHEMA, max_epochs=5, random_state=0).fit(frame)
    return model.save(out)


def score_one_process(model: Path, paths: list[Path], out: Path) -> float:
    """``latentwatch score`` on each file in turn, in this process; seconds."""
    from typer.testing import CliRunner

    from latentwatch.cli import app

    out.mkdir(parents=True, exist_ok=True)
    runner = CliRunner()
    started, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        result = runner.invoke(app, ["score", str(model), str(path), "-q",
                                     "-o", str(out / path.name)])
        if result.exit_code != 0:
            raise RuntimeError(f"latentwatch score {path}: {result.stderr}")
    return time.perf_counter() - started, time.process_time() - cpu


def _warm() -> None:
    """Import what scoring needs (torch, the estimators), as a worker's first task would."""
    import latentwatch.detector
    import latentwatch.service  # noqa: F401


def _cpu() -> float:
    return time.process_time()


def score_dask(model: Path, folder: Path, workers: int, out: Path,
               partition_rows: int) -> tuple[float, float, float]:
    """``--engine dask`` on a local cluster of ``workers``; (start-up s: the cluster and
    the workers' imports, scoring s, CPU s of the workers and this process)."""
    from latentwatch.cli.dask_engine import RETRIES, dask_client
    from latentwatch.distributed import ModelBytes, score_to_parquet

    started = time.perf_counter()
    with dask_client(None, workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        ready, cpu = time.perf_counter(), sum(client.run(_cpu).values()) + _cpu()
        score_to_parquet(ModelBytes.of(model), str(folder / "*.parquet"), out, client=client,
                         retries=RETRIES, partition_rows=partition_rows,
                         advice="pass --keep-bad-rows")
        done, cpu = time.perf_counter(), sum(client.run(_cpu).values()) + _cpu() - cpu
    return ready - started, done - ready, cpu


def compare(one: Path, dask_out: Path, paths: list[Path]) -> int:
    """Assert that the parts of ``dask_out`` hold the one-process outputs, in order,
    column by column (float64 columns bit for bit); the number of rows compared."""
    import json

    expected = pd.concat([pd.read_parquet(one / p.name) for p in paths], ignore_index=True)
    manifest = json.loads((dask_out / "_SUCCESS").read_text())
    got = pd.concat([pd.read_parquet(dask_out / part["part"]) for part in manifest["parts"]],
                    ignore_index=True)
    assert list(got.columns) == list(expected.columns), (got.columns, expected.columns)
    assert len(got) == len(expected), (len(got), len(expected))
    for column in expected.columns:
        a, b = expected[column].to_numpy(), got[column].to_numpy()
        if a.dtype == np.float64:
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), column
        else:
            assert pd.Series(a).equals(pd.Series(b)), column
    return len(got)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.scale.dask_score", __doc__,
                   data=Path("/tmp/latentwatch-dask-bench"),
                   helps={"data": "work folder: the dataset, the model and the outputs"})
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--files", type=int, default=20)
    p.add_argument("--row-group", type=int, default=100_000)
    p.add_argument("--partition-rows", type=int, default=1_000_000)
    p.add_argument("--model", choices=("ae", "vae"), default="vae")
    p.add_argument("--sample", type=int, default=50_000, help="training rows")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--bracket", action="store_true",
                   help="score in one process again after the Dask runs (a shared "
                   "machine); ratios are to the mean of the one-process runs")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    folder = args.data / f"data-{args.rows}-{args.files}"
    started = time.perf_counter()
    paths = make_data(folder, args.rows, args.files, args.row_group)
    print(f"data: {args.rows:,} rows in {len(paths)} files ({folder}; "
          f"{time.perf_counter() - started:.0f} s)", flush=True)
    work = args.data / f"run-{args.model}-{args.rows}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model = fit_model(paths[0], args.model, args.sample, work / "model.lwm")
    print(f"model: {args.model}, fitted on {args.sample:,} rows of {paths[0].name}",
          flush=True)
    rows = []
    one = work / "one-process"
    seconds, cpu = score_one_process(model, paths, one)
    rows.append({"engine": "latentwatch score (one process)", "workers": "-",
                 "start-up s": 0.0, "scoring s": seconds, "CPU s": cpu})
    print(rows[-1], flush=True)
    for n in args.workers:
        out = work / f"dask-{n}"
        startup, seconds, cpu = score_dask(model, folder, n, out, args.partition_rows)
        checked = compare(one, out, paths)
        rows.append({"engine": "--engine dask (LocalCluster)", "workers": str(n),
                     "start-up s": startup, "scoring s": seconds, "CPU s": cpu})
        print({**rows[-1], "identical rows": checked}, flush=True)
    if args.bracket:  # the machine is shared: one process again, after the Dask runs
        seconds, cpu = score_one_process(model, paths, work / "one-process-again")
        rows.append({"engine": "latentwatch score (one process, again)", "workers": "-",
                     "start-up s": 0.0, "scoring s": seconds, "CPU s": cpu})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table["rows/s"] = args.rows / table["scoring s"]
    one = table["engine"].str.startswith("latentwatch score")
    table["vs one process"] = table["rows/s"] / table.loc[one, "rows/s"].mean()
    table["rows per CPU s"] = (args.rows / table["CPU s"]).map(lambda v: f"{v:,.0f}")
    for column in ("start-up s", "scoring s", "CPU s"):
        table[column] = table[column].map(lambda v: f"{v:.1f}")
    table["rows/s"] = table["rows/s"].map(lambda v: f"{v:,.0f}")
    table["vs one process"] = table["vs one process"].map(lambda v: f"{v:.2f}x")
    print(md_table(table.set_index("engine")))
    print(f"{args.rows:,} rows, {len(paths)} files, model {args.model} (max_epochs 5, "
          f"{args.sample:,} training rows), partitions of at most {args.partition_rows:,} "
          f"rows; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
          "CPU s: this process (one process: all its threads), plus the workers' (Dask); "
          "every output column identical to one process (float64 bits compared)")


if __name__ == "__main__":
    main()
