"""The speed table of issue 24, afresh, with each target's status: scoring throughput and
latency, fit time and start-up, one thread, peers measured in the same process.

* table scoring: a VAE fitted on ``--train-rows`` transactions
  (``latentwatch.demos.datasets``) scores ``--rows`` others in one call and in 1,000-row
  batches (``anomaly_score``); the peer is IsolationForest(100 trees) behind a one-hot
  ``Pipeline`` (``benchmarks.speed.scoring_speed.isolation_pipeline``) on the same rows.
* numeric scoring: a VAE on a 30-column matrix in 1,000-row batches against
  IsolationForest, and against the fp32 FLOP bound of its own network (the matrix
  products of its scoring, counted with hooks, at this thread's 2048 x 2048 fp32 rate).
* one row: the median of 200 one-row ``anomaly_score`` calls on the table model; over
  REST, ``latentwatch serve`` in a child process on loopback, one kept-alive connection,
  200 one-row ``POST /v1/score`` (p50, p99) and one 10,000-row JSON request (rows/s).
* fit: default ``VAEDetector`` against IsolationForest on the normal rows of six ADBench
  sets, and against KNN on the wide ones (57 to 1,555 columns); KNN's fit is what PyOD's
  ``KNN.fit`` does (k = 5: a neighbour index, then every training row's distances), with
  scikit-learn's ``NearestNeighbors``.
* start-up: ``latentwatch info MODEL`` and ``latentwatch --help`` in child processes.

    python -m benchmarks.speed.speed [--quick] [--skip fit rest ...]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import BenchmarkParser, new_parser

SIX = ("cardio", "satellite", "pendigits", "mammography", "thyroid", "optdigits")
WIDE = ("InternetAds", "musk", "mnist", "SpamBase")
PARTS = ("table", "numeric", "latency", "rest", "fit", "startup")


@dataclass
class Row:
    """One line of the table: what, latentwatch's figure, the peer's, their ratio, and
    the target with its status."""

    what: str
    ours: str
    peer: str = "-"
    ratio: str = "-"
    target: str = "-"
    met: bool | None = None

    def cells(self) -> list[str]:
        status = "-" if self.met is None else ("met" if self.met else "**not met**")
        return [self.what, self.ours, self.peer, self.ratio, self.target, status]


def best_of(fn, repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def in_batches(fn, frame, size: int = 1000):
    return lambda: [fn(frame.iloc[i:i + size] if hasattr(frame, "iloc") else frame[i:i + size])
                    for i in range(0, len(frame), size)]


def table_rows(train_rows: int, rows: int, folder: Path) -> tuple[list[Row], object, object]:
    from benchmarks.speed.scoring_speed import isolation_pipeline
    from latentwatch import VAEDetector
    from latentwatch.demos.datasets import make_transactions

    train, _ = make_transactions(train_rows, seed=0)
    test, _ = make_transactions(rows, seed=1)
    model = VAEDetector(random_state=0, schema={"id_columns": ["transaction_id"]}).fit(train)
    forest = isolation_pipeline(train).fit(train)
    model.anomaly_score(test.iloc[:1000])
    forest.score_samples(test.iloc[:1000])
    out = []
    for label, ours_fn, peer_fn in (
            (f"scoring a mixed table, {rows:,} rows in one call ({train_rows:,}-row model)",
             lambda: model.anomaly_score(test), lambda: forest.score_samples(test)),
            ("the same in 1,000-row batches", in_batches(model.anomaly_score, test),
             in_batches(forest.score_samples, test))):
        ours, peer = rows / best_of(ours_fn, 2), rows / best_of(peer_fn, 2)
        out.append(Row(label, f"{ours:,.0f} rows/s", f"{peer:,.0f} rows/s (IsolationForest "
                   "one-hot pipeline)", f"{ours / peer:.2f}x", ">= 1.0x", ours >= peer))
    model.save(folder / "table.lwm")
    return out, model, test


def numeric_rows(train_rows: int, rows: int) -> list[Row]:
    import numpy as np
    from sklearn.ensemble import IsolationForest

    from benchmarks.speed.scoring_speed import flops_per_row, fp32_rate
    from latentwatch import VAEDetector

    rng = np.random.default_rng(0)
    X = rng.normal(size=(train_rows + rows, 30)) @ rng.normal(size=(30, 30))
    train, test = X[:train_rows], X[train_rows:]
    model = VAEDetector(random_state=0).fit(train)
    forest = IsolationForest(n_estimators=100, random_state=0, n_jobs=1).fit(train)
    model.anomaly_score(test[:1000])
    ours = rows / best_of(in_batches(model.anomaly_score, test), 2)
    peer = rows / best_of(in_batches(forest.score_samples, test), 2)
    flops = flops_per_row(model, model.read_rows(test[:4096]).good)
    bound = fp32_rate() / flops
    return [Row("scoring a 30-column numeric matrix in 1,000-row batches",
                f"{ours:,.0f} rows/s", f"{peer:,.0f} rows/s (IsolationForest)",
                f"{ours / peer:.2f}x", "-", None),
            Row("the same against the fp32 FLOP bound of the VAE's network",
                f"{ours:,.0f} rows/s", f"{bound:,.0f} rows/s ({flops / 1e3:,.0f} kFLOP/row)",
                f"{bound / ours:.1f}x off", "<= 3x off", bound / ours <= 3)]


def latency_rows(model, test) -> list[Row]:
    import numpy as np

    times = []
    for i in range(200):
        row = test.iloc[i:i + 1]
        start = time.perf_counter()
        model.anomaly_score(row)
        times.append(time.perf_counter() - start)
    ms = 1e3 * float(np.median(times))
    return [Row("one row, in process, mixed table (median of 200)", f"{ms:.2f} ms",
                target="<= 2 ms", met=ms <= 2)]


def rest_rows(folder: Path, test) -> list[Row]:
    import httpx
    import numpy as np

    raw = test.iloc[:10_000]
    records = raw.astype(object).where(raw.notna(), None).to_dict(orient="records")
    records = json.loads(json.dumps(records, default=str))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "latentwatch", "serve",
                               str(folder / "table.lwm"), "--port", str(port), "-q"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    client.get("/healthz").raise_for_status()
                    break
                except httpx.HTTPError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("latentwatch serve did not start") from None
                    time.sleep(0.2)
            for i in range(20):
                client.post("/v1/score", json=[records[i]]).raise_for_status()
            times = []
            for i in range(200):
                start = time.perf_counter()
                client.post("/v1/score", json=[records[i]]).raise_for_status()
                times.append(time.perf_counter() - start)
            bulk = best_of(lambda: client.post("/v1/score", json=records).raise_for_status(), 2)
    finally:
        server.terminate()
        server.wait()
    p50, p99 = (1e3 * float(np.percentile(times, q)) for q in (50, 99))
    rate = len(records) / bulk
    return [Row("one row over REST (`latentwatch serve`, kept-alive connection)",
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", target="p50 <= 10 ms, p99 <= 25 ms",
                met=p50 <= 10 and p99 <= 25),
            Row(f"REST bulk, one {len(records):,}-row JSON request, one worker",
                f"{rate:,.0f} rows/s", target=">= 20,000 rows/s", met=rate >= 20_000)]


def fit_seconds(data: Path, names: tuple[str, ...], peer: str) -> tuple[float, float]:
    import numpy as np

    from latentwatch import VAEDetector

    ours = theirs = 0.0
    for name in names:
        with np.load(data / f"{name}.npz") as d:
            X = np.asarray(d["X"], dtype=np.float64)[np.asarray(d["y"]) == 0]
        start = time.perf_counter()
        VAEDetector(random_state=0).fit(X)
        ours += time.perf_counter() - start
        if peer == "iforest":
            from sklearn.ensemble import IsolationForest

            detector = IsolationForest(random_state=0, n_jobs=1)
            start = time.perf_counter()
            detector.fit(X)
        else:
            from sklearn.neighbors import NearestNeighbors

            start = time.perf_counter()
            NearestNeighbors(n_neighbors=6, n_jobs=1).fit(X).kneighbors(X)
        theirs += time.perf_counter() - start
    return ours, theirs


def fit_rows(data: Path, six: tuple[str, ...], wide: tuple[str, ...]) -> list[Row]:
    import numpy as np

    from latentwatch import VAEDetector

    VAEDetector(max_epochs=1, random_state=0).fit(np.random.default_rng(0).normal(size=(64, 3)))
    out = []
    for names, peer, label, limit in ((six, "iforest", "IsolationForest", 3),
                                      (wide, "knn", "KNN", 5)):
        ours, theirs = fit_seconds(data, names, peer)
        out.append(Row(f"fit on {len(names)} ADBench sets ({', '.join(names)}; normal rows)",
                       f"{ours:.1f} s", f"{theirs:.1f} s ({label})", f"{ours / theirs:.1f}x",
                       f"<= {limit}x", ours / theirs <= limit))
    return out


def child_seconds(args: list[str]) -> tuple[float, list[str]]:
    """Wall seconds of ``python -m latentwatch ARGS`` and the heavy modules it imported."""
    probe = ("import runpy, sys, json, atexit; sys.argv = ['latentwatch', *sys.argv[1:]]; "
             "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(["
             "m for m in ('torch', 'sklearn', 'matplotlib', 'pandas') if m in sys.modules])"
             " + '\\n')); runpy.run_module('latentwatch', run_name='__main__')")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                            text=True)
    seconds = time.perf_counter() - start
    lines = [line for line in result.stderr.splitlines() if line.startswith("MODULES ")]
    return seconds, json.loads(lines[-1][8:]) if lines else ["?"]


def startup_rows(folder: Path) -> list[Row]:
    out = []
    for label, args in (("`latentwatch info MODEL`", ["info", str(folder / "table.lwm")]),
                        ("`latentwatch --help`", ["--help"])):
        seconds = min(child_seconds(args)[0] for _ in range(2))
        imported = child_seconds(args)[1]
        out.append(Row(label, f"{seconds:.2f} s", ratio="imports " + (", ".join(imported)
                                                                      or "none of them"),
                       target="< 1 s", met=seconds < 1))
    return out


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.speed.speed", __doc__, data=Path("/work/shared/data"),
                   quick=True, helps={"data": "folder of ADBench NAME.npz files",
                                      "quick": "20,000 rows, two fit sets of each kind"})
    p.add_argument("--rows", type=int, default=100_000, help="rows scored")
    p.add_argument("--train-rows", type=int, default=5_000)
    p.add_argument("--skip", nargs="*", default=[], choices=PARTS)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    import torch
    from threadpoolctl import threadpool_limits

    from latentwatch.engine import scoring

    torch.set_num_threads(1)
    rows, six, wide = args.rows, SIX, WIDE
    if args.quick:
        rows, six, wide = 20_000, SIX[:2], WIDE[-2:]
    from latentwatch.models import VAEConfig

    print(f"scoring in {scoring.SCORING_DTYPE}, L = {VAEConfig().n_samples} latent samples; "
          "one thread; "
          f"python {sys.version.split()[0]}, torch {torch.__version__}; load average at "
          f"the start {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| what | latentwatch | peer | ratio | target | status |\n|---|---:|---:|---:|---|---|",
          flush=True)
    table: list[Row] = []

    def add(rows_: list[Row]) -> None:
        for row in rows_:
            print("| " + " | ".join(row.cells()) + " |", flush=True)
        table.extend(rows_)

    with threadpool_limits(1), tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model = test = None
        if {"table", "latency", "rest", "startup"} - set(args.skip):
            scored, model, test = table_rows(args.train_rows, rows, folder)
            if "table" not in args.skip:
                add(scored)
        if "numeric" not in args.skip:
            add(numeric_rows(20_000, rows))
        if "latency" not in args.skip:
            add(latency_rows(model, test))
        if "rest" not in args.skip:
            add(rest_rows(folder, test))
        if "fit" not in args.skip:
            add(fit_rows(args.data, six, wide))
        if "startup" not in args.skip:
            add(startup_rows(folder))
    met = [r.met for r in table if r.met is not None]
    print(f"\n{sum(met)} of {len(met)} targets met; load average at the end "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
