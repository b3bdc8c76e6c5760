"""AUC-ROC of one process against 2-process DDP (``torchrun``) on the same streamed fit.

For each data set and seed: a random 70% of the rows (anomalies included, labels
unused) is written as 4 Parquet files of 8 row groups each; ``latentwatch fit FOLDER``
trains on it in one process and under ``torchrun --standalone --nproc-per-node 2`` (gloo,
CPU), both streamed, same seed and parameters; the held-out 30% is scored by both
models. The in-memory ``fit`` of the same rows is shown for reference::

    python -m benchmarks.scale.ddp --data /work/shared/data --sets cardio mammography pendigits \\
        --transactions 20000 --seeds 0 1 2 --out results/ddp
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.tables import md_table, write_csv

SCHEMA = {"id_columns": ["transaction_id"], "exclude": ["customer_id"]}


def load_set(name: str, data: Path, n_transactions: int) -> tuple[pd.DataFrame, np.ndarray, list]:
    """A table, its labels and the CLI options for its id/excluded columns."""
    if name == "transactions":
        from latentwatch.demos.datasets import make_transactions

        frame, kind = make_transactions(n_transactions, anomaly_fraction=0.05, seed=7)
        return frame, (kind != "normal").to_numpy(), ["-i", "transaction_id", "-x",
                                                      "customer_id"]
    arrays = np.load(data / f"{name}.npz")
    X = arrays["X"].astype(np.float64)
    return (pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]),
            arrays["y"].astype(int), [])


def write_parts(frame: pd.DataFrame, folder: Path, n_files: int = 4, groups: int = 8) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(frame) // n_files)
    for k in range(n_files):
        part = frame.iloc[k * size:(k + 1) * size]
        part.to_parquet(folder / f"part-{k}.parquet", index=False,
                        row_group_size=max(1, -(-len(part) // groups)))


def fit_cli(folder: Path, model: Path, options: list, seed: int, ranks: int) -> float:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc-per-node", str(ranks)] if ranks > 1 else [sys.executable])
    command = [*launcher, "-m", "latentwatch", "fit", str(folder), "-o", str(model),
               *options, "--seed", str(seed), "--device", "cpu", "-q"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return time.perf_counter() - started


def run(sets: list[str], data: Path, n_transactions: int, seeds: list[int], out: Path
        ) -> pd.DataFrame:
    from latentwatch import VAEDetector, load

    rows = []
    for name in sets:
        frame, y, options = load_set(name, data, n_transactions)
        for seed in seeds:
            order = np.random.default_rng(seed).permutation(len(frame))
            cut = int(0.7 * len(frame))
            train, test = frame.iloc[np.sort(order[:cut])], frame.iloc[np.sort(order[cut:])]
            y_test = y[np.sort(order[cut:])]
            folder = out / f"{name}-{seed}"
            write_parts(train.reset_index(drop=True), folder / "train")
            row = {"set": name, "seed": seed, "rows": len(train)}
            for ranks in (1, 2):
                model = folder / f"model-{ranks}.lwm"
                row[f"fit_s_{ranks}"] = fit_cli(folder / "train", model, options, seed, ranks)
                row[f"auc_{ranks}"] = roc_auc_score(y_test, load(model).anomaly_score(test))
            schema = SCHEMA if name == "transactions" else None
            memory = VAEDetector(schema=schema, random_state=seed).fit(train)
            row["auc_memory"] = roc_auc_score(y_test, memory.anomaly_score(test))
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.scale.ddp", __doc__, data=Path("/work/shared/data"),
                   seeds=[0, 1, 2], out=Path("results/ddp"),
                   helps={"data": "folder of ADBench NAME.npz files"})
    p.add_argument("--sets", nargs="+", default=["cardio", "mammography", "pendigits"],
                   help="ADBench sets")
    p.add_argument("--transactions", type=int, default=20_000,
                   help="rows of the transactions table (0: leave it out)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sets = list(args.sets) + (["transactions"] if args.transactions else [])
    results = run(sets, args.data, args.transactions, args.seeds, args.out)
    write_csv(results, args.out / "ddp.csv")
    summary = results.groupby("set", sort=False).agg(
        rows=("rows", "first"), auc_1=("auc_1", "mean"), auc_2=("auc_2", "mean"),
        auc_memory=("auc_memory", "mean"), fit_s_1=("fit_s_1", "mean"),
        fit_s_2=("fit_s_2", "mean"))
    summary["DDP - 1 process (points)"] = 100 * (summary["auc_2"] - summary["auc_1"])
    worst = results.assign(gap=100 * (results["auc_2"] - results["auc_1"]).abs())
    summary["max |gap| over seeds"] = worst.groupby("set", sort=False)["gap"].max()
    summary.columns = ["train rows", "AUC 1 process", "AUC DDP x2", "AUC in-memory fit",
                       "fit s (1)", "fit s (DDP x2)", "DDP - 1 (points)", "max |gap| (points)"]
    print(md_table(summary, digits={"train rows": 0, "fit s (1)": 1, "fit s (DDP x2)": 1,
                                    "DDP - 1 (points)": 2, "max |gap| (points)": 2}))
    print(f"VAEDetector defaults, streamed (4 Parquet files x 8 row groups); AUC-ROC on the "
          f"held-out 30%, mean over seeds {args.seeds}; gloo on the CPU, 1 thread a rank")


if __name__ == "__main__":
    main()
