"""Normal data with several modes: the standard-normal prior against a learnable mixture.

The normal rows lie around ``--modes`` far-apart centres in ``--dims`` dimensions (spread 0.5,
centres ``3 N(0, I)``); the anomalies lie halfway between two centres, where no normal row
is, yet along a path the decoder of a standard-normal VAE has to cover between the modes.
Prints the AUC-ROC of every VAE score for each prior, mean over seeds::

    python -m benchmarks.detection.multimodal --seeds 0,1,2
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.cli import comma_list

SCORES = ("reconstruction_probability", "elbo", "importance_weighted")


def modes(seed: int, n: int, dims: int = 8, n_modes: int = 4, n_anomalies: int = 60
          ) -> tuple[np.ndarray, np.ndarray]:
    """Normal rows around fixed centres, and anomalies halfway between two centres."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(n_modes, dims)) * 3
    normal = centres[rng.integers(n_modes, size=n)] + 0.5 * rng.normal(size=(n, dims))
    a, b = rng.integers(n_modes, size=n_anomalies), rng.integers(n_modes, size=n_anomalies)
    b = np.where(a == b, (b + 1) % n_modes, b)
    between = (centres[a] + centres[b]) / 2 + 0.5 * rng.normal(size=(n_anomalies, dims))
    return normal, between


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.multimodal", __doc__, seeds=[0, 1, 2])
    p.add_argument("--modes", type=int, default=4, help="modes of the normal rows")
    p.add_argument("--dims", type=int, default=8, help="columns")
    p.add_argument("--components", type=comma_list, default=["0", "4", "10"],
                   help="prior components to compare (0: the standard normal prior)")
    return p


def main(argv: list[str] | None = None) -> None:
    from latentwatch import VAEDetector

    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    for seed in args.seeds:
        train, _ = modes(2 * seed, 2000, args.dims, args.modes)
        normal, anomalies = modes(2 * seed + 1, 500, args.dims, args.modes)
        X = np.concatenate([normal, anomalies])
        y = np.r_[np.zeros(len(normal)), np.ones(len(anomalies))]
        for components in map(int, args.components):
            model = VAEDetector(prior_components=components, random_state=seed).fit(train)
            for score in SCORES:
                model.set_params(score_method=score)
                rows.append({"prior_components": components, "score": score, "seed": seed,
                             "auc_roc": roc_auc_score(y, model.anomaly_score(X))})
    table = pd.DataFrame(rows).pivot_table(index="prior_components", columns="score",
                                           values="auc_roc", aggfunc="mean")
    print(table[list(SCORES)].round(3).to_string())


if __name__ == "__main__":
    main()
