"""Per-kind detection on the synthetic transactions table (latentwatch.demos.datasets).

Fits each detector on a training table (anomalies included, labels unused) and reports
AUC-ROC of each planted kind against the normal rows of a separate test table::

    python -m benchmarks.detection.transactions --train-rows 5000 --test-rows 5000 --seeds 0 1 2
"""

from __future__ import annotations

import time

import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.tables import md_table
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.demos.datasets import ANOMALY_KINDS, make_transactions

SCHEMA = {"exclude": ["customer_id"], "id_columns": ["transaction_id"]}


def run(train_rows: int, test_rows: int, seeds: list[int]) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        train, _ = make_transactions(train_rows, seed=2 * seed)
        test, kind = make_transactions(test_rows, anomaly_fraction=0.08, seed=2 * seed + 1)
        normal = (kind == "normal").to_numpy()
        for cls in (VAEDetector, AutoEncoderDetector):
            started = time.perf_counter()
            model = cls(schema=SCHEMA, random_state=seed).fit(train)
            seconds = time.perf_counter() - started
            scores = model.anomaly_score(test)
            row = {"detector": cls.__name__, "seed": seed, "fit_s": seconds,
                   "all": roc_auc_score(~normal, scores)}
            for name in ANOMALY_KINDS:
                picked = normal | (kind == name).to_numpy()
                row[name] = roc_auc_score(kind[picked] == name, scores[picked])
            rows.append(row)
            print(row, flush=True)
    return pd.DataFrame(rows)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.transactions", __doc__, seeds=[0, 1, 2])
    p.add_argument("--train-rows", type=int, default=5000)
    p.add_argument("--test-rows", type=int, default=5000)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    results = run(args.train_rows, args.test_rows, args.seeds)
    columns = ["all", *ANOMALY_KINDS, "fit_s"]
    summary = results.groupby("detector")[columns].agg(["mean", "std"])
    table = pd.DataFrame({c: [f"{m:.3f} ± {s:.3f}" for m, s in summary[c].to_numpy()]
                          for c in columns}, index=summary.index)
    print(md_table(table))
    print(f"AUC-ROC, mean ± sd over seeds {args.seeds}; {args.train_rows} training rows, "
          f"{args.test_rows} test rows ({int(0.02 * args.test_rows)} of each kind)")


if __name__ == "__main__":
    main()
