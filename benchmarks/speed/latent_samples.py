"""AUC-ROC against L, the latent samples per row of the VAE's score, on the same fitted VAE.

Fits ``VAEDetector`` (defaults, ``--max-epochs`` at most) on the normal rows of a seeded
half of each ADBench set (at most ``--max-rows`` rows) and scores the other half with
L = 1, 2, 4, 8, 16 (the default) and 32 (``VAEConfig.n_samples``); prints the AUCs and the
scoring time of each L (the decoder runs L times per row).

    python -m benchmarks.speed.latent_samples --data /work/shared/data --sets 8 --max-rows 4000
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from benchmarks.harness import BenchmarkParser, new_parser
from latentwatch import VAEDetector

SAMPLES = (1, 2, 4, 8, 16, 32)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.speed.latent_samples", __doc__, data=Path("/work/shared/data"),
                   helps={"data": "folder of ADBench NAME.npz files"})
    p.add_argument("--sets", type=int, default=8, help="the first N sets, by name")
    p.add_argument("--max-rows", type=int, default=4000)
    p.add_argument("--max-epochs", type=int, default=20)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    print("| set | " + " | ".join(f"L={n}" for n in SAMPLES) + " |\n|---|"
          + "---|" * len(SAMPLES))
    aucs, seconds = [], []
    for path in sorted(args.data.glob("*.npz"))[:args.sets]:
        data = np.load(path)
        X, y = data["X"].astype(np.float64), data["y"].astype(int)
        pick = np.random.default_rng(0).permutation(len(y))[:args.max_rows]
        X, y = X[pick], y[pick]
        half = len(y) // 2
        model = VAEDetector(max_epochs=args.max_epochs, random_state=0).fit(
            X[:half][y[:half] == 0])
        config = model.module_.config
        row, times = [], []
        for n in SAMPLES:
            model.module_.config = dataclasses.replace(config, n_samples=n)
            start = time.perf_counter()
            row.append(roc_auc_score(y[half:], model.anomaly_score(X[half:])))
            times.append(time.perf_counter() - start)
        model.module_.config = config
        aucs.append(row)
        seconds.append(times)
        print(f"| {path.stem} | " + " | ".join(f"{a:.4f}" for a in row) + " |", flush=True)
    mean, time_ = np.mean(aucs, axis=0), np.sum(seconds, axis=0)
    print("| mean | " + " | ".join(f"{a:.4f}" for a in mean) + " |")
    print("| scoring s (all sets) | " + " | ".join(f"{t:.2f}" for t in time_) + " |")


if __name__ == "__main__":
    main()
