"""AUC-ROC of float32 against float64 scoring, on the same fitted VAE (ADBench sets).

Fits ``VAEDetector`` (defaults, ``--max-epochs`` at most) on the normal rows of a seeded
half of each set (at most ``--max-rows`` rows), scores the other half with
``engine.scoring.SCORING_DTYPE`` float64 and float32, and prints both AUCs, their
difference and the largest relative score difference.

    python -m benchmarks.speed.float32_auc --data /work/shared/data --sets 8 --max-rows 4000
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from benchmarks.harness import BenchmarkParser, new_parser
from latentwatch import VAEDetector
from latentwatch.engine import scoring


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.speed.float32_auc", __doc__, data=Path("/work/shared/data"),
                   helps={"data": "folder of ADBench NAME.npz files"})
    p.add_argument("--sets", type=int, default=8, help="the first N sets, by name")
    p.add_argument("--max-rows", type=int, default=4000)
    p.add_argument("--max-epochs", type=int, default=20)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    print("| set | rows | AUC float64 | AUC float32 | difference | max relative score "
          "difference |\n|---|---|---|---|---|---|")
    differences = []
    for path in sorted(args.data.glob("*.npz"))[:args.sets]:
        data = np.load(path)
        X, y = data["X"].astype(np.float64), data["y"].astype(int)
        rng = np.random.default_rng(0)
        pick = rng.permutation(len(y))[:args.max_rows]
        X, y = X[pick], y[pick]
        half = len(y) // 2
        train = X[:half][y[:half] == 0]
        model = VAEDetector(max_epochs=args.max_epochs, random_state=0).fit(train)
        scoring.SCORING_DTYPE = torch.float64
        s64 = model.anomaly_score(X[half:])
        scoring.SCORING_DTYPE = torch.float32
        s32 = model.anomaly_score(X[half:])
        scoring.SCORING_DTYPE = torch.float64
        a64, a32 = roc_auc_score(y[half:], s64), roc_auc_score(y[half:], s32)
        differences.append(a32 - a64)
        relative = np.max(np.abs(s32 - s64) / np.maximum(np.abs(s64), 1e-12))
        print(f"| {path.stem} | {len(y):,} | {a64:.6f} | {a32:.6f} | {a32 - a64:+.2e} | "
              f"{relative:.1e} |", flush=True)
    print(f"\nlargest |AUC difference|: {np.max(np.abs(differences)):.2e}")


if __name__ == "__main__":
    main()
