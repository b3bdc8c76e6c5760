"""AUC-ROC against L (latent samples per row) under the ADBench harness's protocol: one
default ``VAEDetector`` fit per set, seed and setting (the splits, subsampling and seeds of
``benchmarks.detection.adbench``), scored with each L of ``--samples`` and with float32
and float64 (``engine.scoring.SCORING_DTYPE``) on the same fit, so that the comparison is
paired: only the scoring differs.

    python -m benchmarks.speed.latent_samples_adbench --data /work/shared/data --seeds 0,1,2
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from benchmarks.harness import BenchmarkParser, new_parser


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.speed.latent_samples_adbench", __doc__,
                   data=Path("/work/shared/data"), seeds=[0, 1, 2], datasets=None,
                   helps={"data": "folder of ADBench NAME.npz files"})
    p.add_argument("--samples", default="4,8,16", help="values of L, comma-separated")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    import torch
    from threadpoolctl import threadpool_limits

    from benchmarks.detection import protocol
    from latentwatch import VAEDetector
    from latentwatch.engine import scoring

    torch.set_num_threads(1)
    samples = [int(v) for v in args.samples.split(",")]
    variants = [(n, "float32") for n in samples] + [(samples[-1], "float64")]
    names = args.datasets or protocol.list_datasets(args.data)
    aucs: dict[str, list[list[float]]] = {"unsupervised": [], "novelty": []}
    print("| set | seed | setting | " + " | ".join(f"L={n} {d}" for n, d in variants)
          + " |\n|---|---|---|" + "---|" * len(variants), flush=True)
    with threadpool_limits(1):
        for name in names:
            data = protocol.load_dataset(args.data, name)
            for seed in args.seeds:
                train, test = protocol.split_indices(data.y, seed)
                for setting in aucs:
                    rows = protocol.training_rows(train, data.y, setting)
                    model = VAEDetector(random_state=seed).fit(data.X[rows])
                    config = model.module_.config
                    row = []
                    for n, dtype in variants:
                        model.module_.config = dataclasses.replace(config, n_samples=n)
                        scoring.SCORING_DTYPE = getattr(torch, dtype)
                        row.append(protocol.evaluate(data.y[test],
                                                     model.anomaly_score(data.X[test]))[0])
                    scoring.SCORING_DTYPE = torch.float32
                    aucs[setting].append(row)
                    print(f"| {name} | {seed} | {setting} | "
                          + " | ".join(f"{a:.4f}" for a in row) + " |", flush=True)
    for setting, rows in aucs.items():
        mean = np.mean(rows, axis=0)
        print(f"| mean | | {setting} ({len(rows)} fits) | "
              + " | ".join(f"{a:.4f}" for a in mean) + " |")


if __name__ == "__main__":
    main()
