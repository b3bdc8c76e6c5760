"""Scoring speed, one thread each: the table path against IsolationForest behind
scikit-learn's one-hot pipeline, the numeric VAE against its fp32 FLOP bound, and the
start-up cost of a command.

* table: a VAE fitted on ``--train-rows`` transactions (``latentwatch.demos.datasets``)
  scores ``--rows`` others in memory (``anomaly_score``; the encoding and the network
  timed apart); IsolationForest(100 trees) behind a ColumnTransformer (one-hot
  categories and booleans, hour and weekday of the timestamp, median-imputed numbers)
  scores the same rows.
* numeric: a VAE, an AE and IsolationForest on a 30-column matrix; the FLOP bound is the
  matrix products the VAE's scoring runs per row (counted with hooks on its linear
  layers) at the fp32 matmul rate of one core, measured here (2048 x 2048 products).
* start-up: ``latentwatch --version`` and ``latentwatch score`` on a 10-row file, in
  child processes (wall seconds, peak RSS).

    python -m benchmarks.speed.scoring_speed --rows 100000 --train-rows 20000 [--float32]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from benchmarks.harness import BenchmarkParser, new_parser
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.demos.datasets import make_transactions
from latentwatch.engine import scoring


def best_of(fn, repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def isolation_pipeline(frame: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import IsolationForest
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    categorical = [c for c in frame.columns if frame[c].dtype.kind in "bO"
                   and c not in ("transaction_id", "timestamp")]
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "if"]

    def clock(column: pd.DataFrame) -> np.ndarray:
        t = pd.to_datetime(column.iloc[:, 0], errors="coerce")
        return np.c_[t.dt.hour.fillna(-1), t.dt.weekday.fillna(-1)]

    prepare = ColumnTransformer([
        ("categories", make_pipeline(
            FunctionTransformer(lambda f: f.astype(str)),
            OneHotEncoder(handle_unknown="ignore")), categorical),
        ("clock", FunctionTransformer(clock), ["timestamp"]),
        ("numbers", SimpleImputer(strategy="median"), numeric),
    ])
    return make_pipeline(prepare, IsolationForest(n_estimators=100, random_state=0, n_jobs=1))


def flops_per_row(model, rows: np.ndarray) -> float:
    """Multiply-add FLOPs (2 per multiply-add) of the VAE's scoring per row."""
    net = scoring.scoring_copy(model.module_)
    total = [0]
    hooks = [m.register_forward_hook(
        lambda mod, inp, out: total.__setitem__(0, total[0] + 2 * inp[0].numel()
                                                * mod.weight.shape[0]))
        for m in net.modules() if isinstance(m, scoring.AlignedLinear)]
    try:
        model.score_encoded(rows)
    finally:
        for hook in hooks:
            hook.remove()
    return total[0] / len(rows)


def fp32_rate() -> float:
    """FLOP/s of fp32 2048 x 2048 matrix products on this thread."""
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    torch.mm(a, b)
    seconds = best_of(lambda: torch.mm(a, b), 5)
    return 2 * 2048**3 / seconds


def table_path(train_rows: int, rows: int) -> list[tuple[str, float]]:
    train, _ = make_transactions(train_rows, seed=0)
    test, _ = make_transactions(rows, seed=1)
    model = VAEDetector(max_epochs=3, random_state=0,
                        schema={"id_columns": ["transaction_id"]}).fit(train)
    model.anomaly_score(test.iloc[:1000])
    seconds = best_of(lambda: model.anomaly_score(test), 2)
    encode = best_of(lambda: model.codec_.encode(test), 2)
    packed = model.codec_.encode(test).good
    network = best_of(lambda: model.score_encoded(packed), 2)
    forest = isolation_pipeline(train).fit(train)
    peer = best_of(lambda: forest.score_samples(test), 2)
    return [("table VAE anomaly_score", rows / seconds), ("  of which encoding", rows / encode),
            ("  of which network", rows / network),
            ("IsolationForest one-hot pipeline", rows / peer)]


def numeric_path(train_rows: int, rows: int) -> tuple[list[tuple[str, float]], float, float]:
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(30, 30))
    X = rng.normal(size=(train_rows + rows, 30)) @ mix
    train, test = X[:train_rows], X[train_rows:]
    out = []
    vae = None
    for cls in (VAEDetector, AutoEncoderDetector):
        model = cls(max_epochs=3, random_state=0).fit(train)
        model.anomaly_score(test[:1000])
        out.append((f"numeric {cls.__name__}", rows / best_of(lambda m=model: m.anomaly_score(
            test), 2)))
        vae = model if cls is VAEDetector else vae
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=100, random_state=0, n_jobs=1).fit(train)
    out.append(("numeric IsolationForest", rows / best_of(lambda: forest.score_samples(test),
                                                          2)))
    flops = flops_per_row(vae, vae.codec_.encode(test[:4096]).good)
    return out, flops, fp32_rate()


def startup(folder: Path) -> list[tuple[str, float, float]]:
    frame, _ = make_transactions(2000, seed=0)
    model = VAEDetector(max_epochs=2, random_state=0,
                        schema={"id_columns": ["transaction_id"]}).fit(frame)
    model.save(folder / "m.lwm")
    frame.iloc[:10].to_csv(folder / "ten.csv", index=False)
    out = []
    for name, args in (("latentwatch --version", ["--version"]),
                       ("latentwatch score (10 rows)", ["score", str(folder / "m.lwm"),
                                                        str(folder / "ten.csv"), "-o",
                                                        str(folder / "s.csv"), "-q"])):
        wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                   "subprocess.run([sys.executable, '-m', 'latentwatch', *sys.argv[1:]], "
                   "check=True, capture_output=True); print(time.perf_counter() - t, "
                   "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
        result = subprocess.run([sys.executable, "-c", wrapper, *args], check=True,
                                capture_output=True, text=True)
        seconds, peak = (float(v) for v in result.stdout.split())
        out.append((name, seconds, peak))
    return out


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.speed.scoring_speed", __doc__)
    p.add_argument("--rows", type=int, default=100_000, help="rows scored")
    p.add_argument("--train-rows", type=int, default=20_000)
    p.add_argument("--float32", action="store_true",
                   help="score in float32 (engine.scoring.SCORING_DTYPE)")
    p.add_argument("--skip", nargs="*", default=[], choices=["table", "numeric", "startup"])
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    if args.float32:
        scoring.SCORING_DTYPE = torch.float32
    print(f"scoring in {scoring.SCORING_DTYPE}")
    with threadpool_limits(1):
        if "table" not in args.skip:
            results = table_path(args.train_rows, args.rows)
            peer = results[-1][1]
            print(f"\n| table path, {args.rows:,} transactions, 1 thread | rows/s | vs "
                  "IsolationForest |\n|---|---|---|")
            for name, rate in results:
                print(f"| {name} | {rate:,.0f} | {rate / peer:.2f}x |")
        if "numeric" not in args.skip:
            results, flops, rate = numeric_path(args.train_rows, args.rows)
            bound = rate / flops
            print(f"\n| 30-column matrix, {args.rows:,} rows, 1 thread | rows/s |\n|---|---|")
            for name, value in results:
                print(f"| {name} | {value:,.0f} |")
            print(f"| VAE fp32 FLOP bound ({flops / 1e3:,.1f} kFLOP/row at "
                  f"{rate / 1e9:.1f} GFLOP/s) | {bound:,.0f} |")
            print(f"\nVAE is {bound / results[0][1]:.1f}x off its fp32 FLOP bound")
    if "startup" not in args.skip:
        with tempfile.TemporaryDirectory() as folder:
            print("\n| command | wall s | peak RSS MiB |\n|---|---|---|")
            for name, seconds, peak in startup(Path(folder)):
                print(f"| {name} | {seconds:.2f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
