"""SKAB (Skoltech Anomaly Benchmark) with its published protocol, one command:

    python -m benchmarks.series.skab --data ../shared/data/timeseries/skab --out results/skab

For each of the 34 labelled experiments the first 400 rows train (taken as normal) and
the rest is the test part. Every method scores every step. ``lw-vae`` is latentwatch with
**every default** (``VAEDetector(time_column="datetime")``: auto window, each row scored by
the reconstruction error of its window's newest 5 steps, the ``ControlLimit`` threshold
that ``fit`` sets on its own validation windows): its alarms are its own ``is_anomaly``.
The other methods have no threshold of their own on this protocol; their alarms are the
test steps whose score exceeds ``UCL = 4/3 * q99(training-part scores)`` (the rule of
SKAB's Conv-AE with the 99th instead of the 99.9th percentile: 400 training steps have no
stable 99.9th). ``lw-vae-window`` is the same fitted model scoring each row on its whole
window (latentwatch 0.2's score), on the UCL rule. F1, FAR and MAR are computed over all
test steps of all files together (SKAB's ``core/utils``), and the mean per-file AUC-PR of
the test scores is added (threshold-free). The windows are latentwatch's auto window of
each file's training part, the same for the peers (see :mod:`benchmarks.series.common`).
Prints a markdown table with SKAB's leaderboard below it, and writes ``results.csv`` (per
file and method) and ``summary.md`` to ``--out``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.tables import md_table, write_csv, write_lines
from benchmarks.series.common import (
    lw_scores,
    peer_scores,
    read_skab,
    skab_files,
    whole_window_scores,
    window_steps,
)

TRAIN_ROWS = 400
LABELS = ["anomaly", "changepoint"]
# SKAB's README, outlier detection (F1, FAR %, MAR %)
LEADERBOARD = [("Conv-AE", 0.78, 13.55, 28.02), ("MSET", 0.78, 39.73, 14.13),
               ("T-squared+Q (PCA)", 0.76, 26.62, 24.92), ("LSTM-AE", 0.74, 29.96, 25.92),
               ("T-squared", 0.66, 19.21, 42.60), ("LSTM-VAE", 0.56, 9.13, 55.03),
               ("Vanilla LSTM", 0.54, 12.54, 59.53), ("Vanilla AE", 0.39, 2.59, 75.15),
               ("MSCRED", 0.36, 49.94, 69.88), ("Isolation forest", 0.29, 2.56, 82.89)]


def threshold_rule(train_scores: np.ndarray) -> float:
    """``4/3 * q99`` of the training part's scores."""
    return 4.0 / 3.0 * float(np.quantile(train_scores, 0.99))


def binary_metrics(y: np.ndarray, alarms: np.ndarray) -> dict[str, float]:
    tp, fp = int(np.sum(alarms & y)), int(np.sum(alarms & ~y))
    fn, tn = int(np.sum(~alarms & y)), int(np.sum(~alarms & ~y))
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"F1": f1, "FAR, %": 100 * fp / max(fp + tn, 1), "MAR, %": 100 * fn / max(fn + tp, 1)}


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.series.skab", __doc__, data=Path("../shared/data/timeseries/skab"),
                   methods=["lw-vae", "lw-vae-window", "iforest", "knn"], seed=0,
                   out=Path("results/skab"),
                   helps={"methods": "lw-vae, lw-vae-window, iforest, knn",
                          "out": "folder for results.csv and summary.md"})
    p.add_argument("--window", type=window_steps, default="auto", help="steps, or auto")
    p.add_argument("--score-method", default="auto", help="lw-vae's score (auto: the default)")
    p.add_argument("--files", type=int, default=None, help="only the first N files")
    return p


def main(argv: list[str] | None = None) -> pd.DataFrame:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore")
    methods = args.methods
    window = args.window
    rows = []
    for path in skab_files(args.data)[:args.files]:
        frame = read_skab(path)
        y = frame["anomaly"].to_numpy() == 1
        name = f"{path.parent.name}/{path.stem}"
        scores, fit_s, score_s, model = lw_scores(frame, "datetime", LABELS, TRAIN_ROWS,
                                                  window, args.seed,
                                                  score_method=args.score_method)
        found = {"lw-vae": (scores, fit_s, score_s, scores > -model.offset_)}
        if "lw-vae-window" in methods:
            started = time.perf_counter()
            found["lw-vae-window"] = (whole_window_scores(model, frame), fit_s,
                                      time.perf_counter() - started, None)
        values = frame[model.codec_.channels].to_numpy(dtype=np.float64)
        for peer in [m for m in methods if not m.startswith("lw-")]:
            started = time.perf_counter()
            peer_s, peer_fit = peer_scores(peer, values, TRAIN_ROWS, model.window_, args.seed)
            found[peer] = (peer_s, peer_fit, time.perf_counter() - started - peer_fit, None)
        for method in methods:
            s, fit_seconds, score_seconds, alarms = found[method]
            if alarms is None:
                alarms = s > threshold_rule(s[:TRAIN_ROWS])
            rows.append({"file": name, "method": method, "window": model.window_,
                         "fit_s": fit_seconds, "score_s": score_seconds, "steps": len(s),
                         "auc_pr": average_precision_score(y[TRAIN_ROWS:], s[TRAIN_ROWS:])
                         if y[TRAIN_ROWS:].any() else np.nan,
                         "alarms": alarms[TRAIN_ROWS:].astype(int).tolist(),
                         "labels": y[TRAIN_ROWS:].astype(int).tolist()})
        print(f"{name}: W={model.window_}, lw fit {fit_s:.1f} s", flush=True)
    results = pd.DataFrame(rows)
    write_csv(results.drop(columns=["alarms", "labels"]), args.out / "results.csv")
    table = []
    for method in methods:
        part = results[results["method"] == method]
        alarms = np.concatenate([np.asarray(a, bool) for a in part["alarms"]])
        labels = np.concatenate([np.asarray(a, bool) for a in part["labels"]])
        table.append({"method": method, **binary_metrics(labels, alarms),
                      "mean AUC-PR": part["auc_pr"].mean(),
                      "fit s / file": part["fit_s"].mean(),
                      "scoring steps/s": part["steps"].sum() / part["score_s"].sum()})
    summary = pd.DataFrame(table)
    text = [f"SKAB, {results['file'].nunique()} files, seed {args.seed}, window "
            f"{args.window} (chosen: {sorted(set(results['window']))}), lw score "
            f"{args.score_method}; lw-vae: its own threshold, the others: 4/3 * q99 of the "
            "training part", "",
            md_table(summary.set_index("method")), "",
            "SKAB leaderboard (published, outlier detection):", "",
            md_table(pd.DataFrame(LEADERBOARD, columns=["method", "F1", "FAR, %", "MAR, %"]
                                  ).set_index("method"))]
    write_lines(args.out / "summary.md", text)
    print("\n".join(text))
    return summary


if __name__ == "__main__":
    main()
