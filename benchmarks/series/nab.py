"""NAB (Numenta Anomaly Benchmark) series with labelled windows, one command:

    python -m benchmarks.series.nab --data ../shared/data/timeseries/nab --out results/nab

For each series with at least one anomaly window (``labels/combined_windows.json``) the
first 15% of the steps (NAB's probationary period) trains; every step is scored, and the
steps after the probationary period are evaluated against the windows (label 1 inside a
window): AUC-PR, VUS-PR (buffers up to the window length, see
:mod:`latentwatch.series_evaluation`) and event recall at 1 false alarm per 1,000 steps
(the lowest threshold with at most that many flagged normal steps: an oracle threshold,
so it compares rankings). Means over the series are printed as a markdown table with the
per-group means below; ``results.csv`` and ``summary.md`` go to ``--out``.

Methods: ``lw-vae`` (``VAEDetector(time_column="timestamp")`` with every default: auto
window, each row scored by the reconstruction error of its window's newest 5 steps),
``lw-vae-window`` (the same fitted model scoring each row on its whole window, latentwatch
0.2's score), and the windowed peers ``iforest`` and ``knn`` of
:mod:`benchmarks.series.common` on windows of the same length. Four series repeat a
timestamp once; every row is kept (latentwatch reads a repeated time in file order, one
step after the row before).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.tables import md_table, write_csv, write_lines
from benchmarks.series.common import (
    lw_scores,
    nab_series,
    peer_scores,
    whole_window_scores,
    window_steps,
)
from latentwatch.series_evaluation import evaluate_series

PROBATION = 0.15


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.series.nab", __doc__, data=Path("../shared/data/timeseries/nab"),
                   methods=["lw-vae", "lw-vae-window", "iforest", "knn"], seed=0,
                   out=Path("results/nab"),
                   helps={"methods": "lw-vae, lw-vae-window, iforest, knn",
                          "out": "folder for results.csv and summary.md"})
    p.add_argument("--window", type=window_steps, default="auto", help="steps, or auto")
    p.add_argument("--series", type=int, default=None, help="only the first N series")
    return p


def main(argv: list[str] | None = None) -> pd.DataFrame:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore")
    methods = args.methods
    window = args.window
    rows = []
    for name, frame, labels in nab_series(args.data)[:args.series]:
        n_train = int(PROBATION * len(frame))
        scores, fit_s, score_s, model = lw_scores(frame, "timestamp", [], n_train, window,
                                                  args.seed)
        found = {"lw-vae": (scores, fit_s, score_s)}
        if "lw-vae-window" in methods:
            started = time.perf_counter()
            found["lw-vae-window"] = (whole_window_scores(model, frame), fit_s,
                                      time.perf_counter() - started)
        values = frame[["value"]].to_numpy(dtype=np.float64)
        for peer in [m for m in methods if not m.startswith("lw-")]:
            started = time.perf_counter()
            peer_s, peer_fit = peer_scores(peer, values, n_train, model.window_, args.seed)
            found[peer] = (peer_s, peer_fit, time.perf_counter() - started - peer_fit)
        test = slice(n_train, None)
        for method in methods:
            s, fit_seconds, score_seconds = found[method]
            result = evaluate_series(labels[test], s[test], max_buffer=model.window_)
            rows.append({"series": name, "group": name.split("/")[0], "method": method,
                         "window": model.window_, "steps": len(s), "fit_s": fit_seconds,
                         "score_s": score_seconds, "auc_pr": result.auc_pr,
                         "vus_pr": result.vus_pr,
                         "event_recall_at_1_per_1000": result.event_recall_at_1_per_1000})
        line = ", ".join(f"{r['method']} {r['auc_pr']:.3f}" for r in rows[-len(methods):])
        print(f"{name}: W={model.window_}, AUC-PR {line}", flush=True)
    results = pd.DataFrame(rows)
    write_csv(results, args.out / "results.csv")
    summary = results.groupby("method", sort=False).agg(
        **{"mean AUC-PR": ("auc_pr", "mean"), "mean VUS-PR": ("vus_pr", "mean"),
           "event recall at 1 FA/1k": ("event_recall_at_1_per_1000", "mean"),
           "fit s / series": ("fit_s", "mean")})
    summary["scoring steps/s"] = (results.groupby("method", sort=False)["steps"].sum()
                                  / results.groupby("method", sort=False)["score_s"].sum())
    groups = results.pivot_table(index="group", columns="method", values="auc_pr",
                                 aggfunc="mean")[methods]
    text = [f"NAB, {results['series'].nunique()} series with labelled windows, seed "
            f"{args.seed}, window {args.window} (chosen: {sorted(set(results['window']))}); "
            "first 15% trains, the rest is evaluated", "", md_table(summary), "",
            "Mean AUC-PR per group:", "", md_table(groups)]
    write_lines(args.out / "summary.md", text)
    print("\n".join(text))
    return summary


if __name__ == "__main__":
    main()
