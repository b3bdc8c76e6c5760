"""Peak memory and time per epoch of ``fit_dataset`` on transactions Parquet datasets.

Writes synthetic card transactions (``latentwatch.demos.datasets.make_transactions``, in
independent blocks of 200,000 rows, one Parquet file per million rows, row groups of
100,000) of each size, then fits ``VAEDetector(...).fit_dataset`` on each in a fresh
subprocess and reports the child's peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``:
the largest resident set the child reached, exact), the seconds of the statistics
passes and of each epoch::

    python -m benchmarks.scale.scale_fit --rows 1000000 10000000 --epochs 1 --data results/scale

The datasets are kept in ``--data`` (git-ignored ``results/`` or /tmp) and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.tables import md_table

BLOCK_ROWS = 200_000
FILE_ROWS = 1_000_000
ROW_GROUP = 100_000
SCHEMA = {"id_columns": ["transaction_id"], "exclude": ["customer_id"]}


def write_dataset(folder: Path, n_rows: int, seed: int = 0) -> Path:
    """``n_rows`` transactions in Parquet files of ``FILE_ROWS`` (kept if complete)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from latentwatch.demos.datasets import make_transactions

    done = folder / "_complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for file_index in range(-(-n_rows // FILE_ROWS)):
        rows = min(FILE_ROWS, n_rows - written)
        writer = None
        for block in range(-(-rows // BLOCK_ROWS)):
            size = min(BLOCK_ROWS, rows - block * BLOCK_ROWS)
            frame, _ = make_transactions(size, seed=seed + 1000 * file_index + block)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(folder / f"part-{file_index:04d}.parquet",
                                          table.schema)
            writer.write_table(table, row_group_size=ROW_GROUP)
        writer.close()
        written += rows
        print(f"wrote {written:,} of {n_rows:,} rows", file=sys.stderr, flush=True)
    done.write_text(str(n_rows))
    return folder


def child(data: str, epochs: int, seed: int) -> None:
    """The measured fit (run in a subprocess): prints one JSON line."""
    from latentwatch import VAEDetector
    from latentwatch.data import dataset as dataset_module

    times: list[float] = []
    started = time.perf_counter()
    marks = {"last": started}
    original = dataset_module.fit_codec_stream

    def timed_statistics(*args, **kwargs):
        result = original(*args, **kwargs)
        marks["statistics"] = time.perf_counter() - started
        marks["last"] = time.perf_counter()
        return result

    def epoch_done(epoch, history):
        now = time.perf_counter()
        times.append(now - marks["last"])
        marks["last"] = now

    import latentwatch.streamed as streamed

    streamed.fit_codec_stream = timed_statistics
    model = VAEDetector(schema=SCHEMA, max_epochs=epochs, random_state=seed)
    model.fit_dataset(data, on_epoch_end=epoch_done)
    total = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": total, "statistics_s": marks["statistics"],
                      "epoch_s": times, "rows": model.history_["rows"],
                      "peak_rss_mib": peak_kib / 1024}))


def measure(data: Path, epochs: int, seed: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.scale.scale_fit", "--child", str(data),
               "--epochs", str(epochs), "--seed", str(seed)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["children_peak_mib"] = max(before, after) / 1024
    return result


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.scale.scale_fit", __doc__, data=Path("results/scale"), seed=0,
                   helps={"data": "folder of the generated Parquet datasets, kept and reused"})
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.child is not None:
        child(args.child, args.epochs, args.seed)
        return
    rows = []
    for n in args.rows:
        folder = write_dataset(Path(args.data) / f"tx-{n}", n)
        result = measure(folder, args.epochs, args.seed)
        print(json.dumps({"n_rows": n, **result}), file=sys.stderr, flush=True)
        epochs = result["epoch_s"]
        per_epoch = sum(epochs) / len(epochs)
        rows.append({"rows": f"{n:,}", "files": len(list(folder.glob("*.parquet"))),
                     "peak RSS (MiB)": round(result["peak_rss_mib"]),
                     "statistics passes (s)": round(result["statistics_s"], 1),
                     "s / epoch": round(per_epoch, 1),
                     "rows / s (epoch)": f"{result['rows']['train'] / per_epoch:,.0f}",
                     "total (s)": round(result["seconds"], 1)})
    table = pd.DataFrame(rows).set_index("rows")
    print(md_table(table))
    peaks = [r["peak RSS (MiB)"] for r in rows]
    print(f"VAEDetector.fit_dataset, {args.epochs} epoch(s), one process, 1 torch thread; "
          f"peak RSS ratio largest/smallest: {peaks[-1] / peaks[0]:.3f}")


if __name__ == "__main__":
    main()
