"""``latentwatch score --engine dask``: score files on a Dask cluster into a folder of
Parquet parts (:func:`latentwatch.distributed.score_to_parquet`).

Without ``--scheduler`` the command starts a local cluster of ``--workers`` processes
with one thread each, bound to 127.0.0.1 and without a dashboard (glibc's malloc
thresholds raised, :data:`WORKER_ENVIRON`), and stops it at the end; with it, it
connects to that scheduler (the workers must see DATA and ``--out`` at the same paths: a
shared file system).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import typer

from latentwatch.cli.errors import fail

# Retries of a partition whose task failed (a dead worker is rescheduled by Dask itself).
RETRIES = 2
# The environment of the local cluster's workers. Dask's nanny sets MALLOC_TRIM_THRESHOLD_
# to 65536, which also pins glibc's mmap threshold at 128 KiB: every large tensor of the
# scoring is then a fresh mmap, page-faulted in and given back (a worker spent 1.5x the CPU
# of one process on the VAE). Higher thresholds keep them on the heap
# (benchmarks/scale/dask_worker_cpu.py); the arithmetic, and so every score, is the same.
WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": 1 << 28, "MALLOC_MMAP_THRESHOLD_": 1 << 26}


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator:
    """A ``distributed.Client``: on ``scheduler``, or on a local cluster of ``workers``
    processes (one thread each, 127.0.0.1, no dashboard) that is closed afterwards."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            fail(f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())})")
        with client:
            yield client
        return
    import dask

    n = workers or max(1, os.cpu_count() or 1)
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
    with (dask.config.set(environ),
          LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None, silence_logs=logging.ERROR) as cluster,
          Client(cluster) as client):
        yield client


def check_options(data: str, out: str, out_format: str | None, device: str | None) -> None:
    """Refuse options that the Dask engine does not take, in one line each."""
    if out == "-":
        fail("--engine dask writes a folder of Parquet parts: pass --out DIR")
    if out_format not in (None, "parquet"):
        fail(f"--out-format {out_format}: --engine dask writes Parquet parts only")
    if device not in (None, "cpu", "auto"):
        fail(f"--device {device}: --engine dask scores on the workers' CPUs; drop --device")
    if data == "-":
        fail("--engine dask reads files (a path, a glob or a folder), not stdin")


def score_on_dask(*, model: str, data: str, out: str, top_k: int, ids: list[str] | None,
                  keep_bad_rows: bool, fmt: str | None, out_format: str | None,
                  device: str | None, quiet: bool, scheduler: str | None,
                  workers: int | None, partition_rows: int,
                  verify_key: str | None = None) -> None:
    """The ``score`` command on Dask (see the module docstring)."""
    from latentwatch.distributed import ModelBytes, plan_partitions, require, score_to_parquet

    check_options(data, out, out_format, device)
    try:
        require("dask")
    except ImportError as exc:
        fail(str(exc))
    from tqdm.auto import tqdm

    from latentwatch.detector import load_bytes

    carrier = ModelBytes.of(model)  # read once: the bytes checked are the bytes shipped
    detector = load_bytes(carrier.data, "cpu", carrier.name, verify_key=verify_key)
    partitions = plan_partitions(data, partition_rows, fmt)
    files = list(dict.fromkeys(p.path for p in partitions))
    total = sum(p.rows or 0 for p in partitions)
    bar = tqdm(disable=True if quiet else None, unit=" rows", desc="scoring",
               total=total or None)
    with dask_client(scheduler, workers) as client:
        summary = score_to_parquet(carrier, files, out, client=client, retries=RETRIES,
                                   top_k=top_k, id_columns=ids, keep_bad_rows=keep_bad_rows,
                                   partition_rows=partition_rows, fmt=fmt,
                                   advice="pass --keep-bad-rows",
                                   on_part=lambda part: bar.update(part["rows"]))
    bar.close()
    if summary["rows"] == 0:
        fail(f"{data}: no data rows")
    if quiet:
        return
    n_rows, n_flagged = summary["rows"], summary["flagged"]
    offset = detector.offset_
    line = "no threshold yet" if offset is None else f"above the threshold {-offset:.4g}"
    bad = ""
    if summary["bad"]:
        more = "; ..." if summary["bad"] > len(summary["reasons"]) else ""
        bad = (f"; {summary['bad']:,} rows could not be scored: "
               f"{'; '.join(summary['reasons'])}{more}")
    typer.echo(f"scored {n_rows:,} rows: {n_flagged:,} anomalies ({n_flagged / n_rows:.2%}) "
               f"{line}{bad}; wrote {summary['parts']} parts from {summary['files']} files to "
               f"{out}", err=True)
