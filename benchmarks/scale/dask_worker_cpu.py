"""CPU of scoring one partition in this process and in a Dask worker, with Dask's worker
environment (``MALLOC_TRIM_THRESHOLD_=65536``) and with ``cli.dask_engine.WORKER_ENVIRON``::

    python -m benchmarks.scale.dask_worker_cpu --rows 20000 \\
        --model /tmp/latentwatch-dask-bench/run-vae-1000000/model.lwm \\
        --data /tmp/latentwatch-dask-bench/data-1000000-20/transactions-003.parquet
"""

from __future__ import annotations

import logging
import warnings

import pandas as pd

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.cli import REQUIRED
from benchmarks.harness.tables import md_table


def probe(frame: pd.DataFrame, carrier) -> dict:
    """CPU of scoring ``frame`` (the model loaded and warmed first): the task thread, and
    the process's user and system time and minor page faults."""
    import resource
    import time

    from latentwatch.distributed import score_partition

    score_partition(frame.iloc[:100], carrier)
    thread, before = time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
    score_partition(frame, carrier)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"thread CPU s": time.thread_time() - thread,
            "user s": after.ru_utime - before.ru_utime,
            "system s": after.ru_stime - before.ru_stime,
            "page faults": after.ru_minflt - before.ru_minflt}


def in_worker(frame: pd.DataFrame, carrier, environ: dict | None) -> dict:
    import dask
    from distributed import Client, LocalCluster

    settings = {f"distributed.nanny.pre-spawn-environ.{k}": v
                for k, v in (environ or {}).items()}
    with (dask.config.set(settings),
          LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None, silence_logs=logging.ERROR) as cluster,
          Client(cluster) as client):
        return client.submit(probe, frame, carrier).result()


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.scale.dask_worker_cpu", __doc__, data=REQUIRED,
                   helps={"data": "a Parquet file to score"})
    p.add_argument("--model", required=True, help="a saved model (.lwm)")
    p.add_argument("--rows", type=int, default=20_000, help="rows of --data to score")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    from latentwatch.cli.dask_engine import WORKER_ENVIRON
    from latentwatch.distributed import ModelBytes

    frame = pd.read_parquet(args.data).iloc[:args.rows]
    carrier = ModelBytes.of(args.model)
    rows = {"this process": probe(frame, carrier),
            "Dask worker, Dask's environment": in_worker(frame, carrier, None),
            "Dask worker, WORKER_ENVIRON": in_worker(frame, carrier, WORKER_ENVIRON)}
    print(md_table(pd.DataFrame(rows).T, digits={"page faults": 0}))
    print(f"{args.rows:,} rows of {args.data}; model {args.model}")


if __name__ == "__main__":
    main()
