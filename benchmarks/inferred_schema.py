"""ADBench tables read as tables: the VAE on the plain matrix against the VAE on the schema
that ``infer_schema`` finds (integer codes as categories, 0/1 as booleans, log scales).

Same splits as the main protocol (stratified 60/40, unsupervised: the training part with
its anomalies, labels unused)::

    python -m benchmarks.inferred_schema --data ../shared/data --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import pandas as pd

from benchmarks.protocol import evaluate, load_dataset, split_indices
from benchmarks.report import md_table
from latentwatch import VAEDetector, infer_schema

DATASETS = ("Hepatitis", "Lymphography", "breastw", "WBC", "Cardiotocography", "glass",
            "thyroid", "Wilt", "PageBlocks")


def run(data_dir: str, names: list[str], seeds: list[int]) -> pd.DataFrame:
    rows = []
    for name in names:
        data = load_dataset(data_dir, name)
        frame = pd.DataFrame(data.X, columns=[f"x{i}" for i in range(data.X.shape[1])])
        kinds = Counter(c.kind for c in infer_schema(frame).columns)
        logs = sum(c.log for c in infer_schema(frame).columns)
        for seed in seeds:
            train, test = split_indices(data.y, seed)
            matrix = VAEDetector(random_state=seed).fit(data.X[train])
            table = VAEDetector(random_state=seed, schema="infer").fit(frame.iloc[train])
            rows.append({
                "dataset": name, "seed": seed,
                "matrix": evaluate(data.y[test], matrix.anomaly_score(data.X[test]))[0],
                "inferred": evaluate(data.y[test], table.anomaly_score(frame.iloc[test]))[0],
                "schema": ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                          + (f" ({logs} log)" if logs else ""),
            })
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    results = run(args.data, args.datasets, args.seeds)
    table = results.groupby("dataset", sort=False).agg(
        schema=("schema", "first"), matrix=("matrix", "mean"), inferred=("inferred", "mean"))
    print(md_table(table))
    print(f"mean AUC-ROC: matrix {np.mean(table['matrix']):.3f}, "
          f"inferred schema {np.mean(table['inferred']):.3f}")


if __name__ == "__main__":
    main()
