"""Streaming scoring memory: `latentwatch score` on a CSV of N transactions.

Writes a mixed-type transactions CSV of ``--rows`` rows (in chunks, never all in memory),
fits a VAE on 5,000 rows of the same generator, then runs ``latentwatch score`` in a child
process and reports its wall time, rows per second and peak resident memory (the child's
``ru_maxrss``). Run it for several sizes: flat memory across sizes is the claim.

    python -m benchmarks.scale.streaming --rows 1000000 10000000 --work /tmp/lw-stream
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import BenchmarkParser, new_parser
from latentwatch import VAEDetector
from latentwatch.demos.datasets import make_transactions

CHUNK = 500_000


def write_csv(path: Path, n_rows: int) -> None:
    """A transactions CSV of ``n_rows`` rows, generated and appended chunk by chunk."""
    written = 0
    with path.open("w") as handle:
        for seed in range(10**6):
            frame, _ = make_transactions(n_rows=min(CHUNK, n_rows - written), seed=100 + seed)
            frame.to_csv(handle, index=False, header=written == 0)
            written += len(frame)
            if written >= n_rows:
                return


def score_peak(model: Path, data: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``latentwatch score`` child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "latentwatch", "score", str(model), str(data), "--out", str(out),
         "--id-column", "transaction_id", "--quiet"],
        check=True,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        print("note: peak RSS not above an earlier child's; run sizes in ascending order")
    return seconds, peak / 1024


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.scale.streaming", __doc__)
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--work", type=Path, default=Path("/tmp/lw-stream"),
                   help="folder of the CSV files, the model and the scores")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    train, _ = make_transactions(n_rows=5000, seed=0)
    model = VAEDetector(random_state=0, schema={"id_columns": ["transaction_id"]})
    model.fit(train).save(args.work / "model.lwm")
    print("| rows | CSV size (MB) | score seconds | rows/s | peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|")
    for n_rows in sorted(args.rows):
        data = args.work / f"tx_{n_rows}.csv"
        if not data.exists():
            write_csv(data, n_rows)
        seconds, peak = score_peak(args.work / "model.lwm", data, args.work / "scores.csv")
        size = data.stat().st_size / 2**20
        print(f"| {n_rows:,} | {size:,.0f} | {seconds:,.0f} | {n_rows / seconds:,.0f} "
              f"| {peak:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
