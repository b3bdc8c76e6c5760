"""Tuning experiments of issue 3: latentwatch variants on the ADBench suite.

One VAE fit per (dataset, seed, setting, variant); the reconstruction probability (RP), the
capped RP and the ELBO of the test rows are computed from it, and the mean AUC-ROC over the
datasets is printed per setting with the summed fit seconds. Peers are not run: compare with
the defaults (variant ``defaults``) fitted in the same way. A variant is ``+``-joined parts,
applied left to right; a part patches a module attribute (a rule), sets detector parameters,
or both (``previous-defaults``: the training defaults of rounds one to three). Patches last
for the process, so each invocation runs one variant and adds its rows to ``--out``; the
summary covers every variant in that file::

    python -m benchmarks.variants --data ../shared/data --seeds 0,1,2 --variant defaults
    python -m benchmarks.variants --data ../shared/data --seeds 0,1,2 \\
        --variant previous-defaults+half-width
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.protocol import (
    evaluate,
    list_datasets,
    load_dataset,
    resolve_dataset_names,
    split_indices,
    training_rows,
)
from benchmarks.runner import configure_threads


def _half_width() -> None:
    from latentwatch import detectors, networks

    rule = networks.default_hidden_dims
    detectors.default_hidden_dims = lambda d: [max(16, h // 2) for h in rule(d)]


def _one_hidden_layer() -> None:
    from latentwatch import detectors, networks

    rule = networks.default_hidden_dims
    detectors.default_hidden_dims = lambda d: rule(d)[:1]


def _three_hidden_layers() -> None:
    from latentwatch import detectors, networks

    rule = networks.default_hidden_dims
    detectors.default_hidden_dims = lambda d: [*rule(d), max(8, rule(d)[-1] // 2)]


def _short_training() -> None:
    from latentwatch import training

    training.AUTO_EPOCH_RANGE, training.AUTO_ROW_BUDGET = (5, 15), 150_000


def _batch_rule(steps_per_epoch: int, low: int, high: int) -> Callable[[], None]:
    """A patch of the ``batch_size="auto"`` rule: about ``steps_per_epoch`` steps an epoch,
    batches of ``low`` to ``high`` rows."""

    def patch() -> None:
        from latentwatch import training

        training.AUTO_STEPS_PER_EPOCH, training.AUTO_BATCH_RANGE = steps_per_epoch, (low, high)

    return patch


PATCHES: dict[str, Callable[[], None]] = {
    "half-width": _half_width,
    "one-hidden-layer": _one_hidden_layer,
    "three-hidden-layers": _three_hidden_layers,
    "short-training": _short_training,
    # Absolute rules. The default since round four is 16 steps, 128-4096 rows; rounds one
    # to three used 32 steps, 64-2048 rows ("previous-defaults").
    "bigger-batch": _batch_rule(16, 128, 4096),
    "quadruple-batch": _batch_rule(8, 256, 8192),
    "previous-defaults": _batch_rule(32, 64, 2048),
}
PARAMS: dict[str, dict] = {
    "beta2": {"beta": 2.0},
    "beta0.5": {"beta": 0.5},
    "lr1e-3": {"learning_rate": 1e-3},
    "lr4e-3": {"learning_rate": 4e-3},
    "lr5e-3": {"learning_rate": 5e-3},
    "lr6e-3": {"learning_rate": 6e-3},
    "wd1e-4": {"weight_decay": 1e-4},
    "samples64": {"n_samples": 64},
    "trim0.02": {"trim_fraction": 0.02},
    "trim0.05": {"trim_fraction": 0.05},
    "previous-defaults": {"learning_rate": 3e-3, "patience": 10},
    "warmup5": {"kl_warmup_epochs": 5},
    "warmup10": {"kl_warmup_epochs": 10},
    "patience5": {"patience": 5},
    "patience4": {"patience": 4},
    "patience3": {"patience": 3},
}


SCORES = ("reconstruction_probability", "capped_reconstruction_probability", "elbo")


def run_variant(
    variant: str, data_dir: str, seeds: list[int], names: list[str] | None = None
) -> pd.DataFrame:
    """AUC-ROC of RP, capped RP and ELBO for one variant (``+``-joined parts) on every dataset."""
    params: dict = {}
    for part in variant.split("+"):
        if part in PATCHES:
            PATCHES[part]()
        if part in PARAMS:
            params.update(PARAMS[part])
        if part not in {**PATCHES, **PARAMS, "defaults": None}:
            raise SystemExit(f"unknown variant part {part!r}: use {sorted({**PATCHES, **PARAMS})}")
    from latentwatch import VAEDetector

    # The first fit in a process pays for torch's lazy imports: keep it out of the timings.
    VAEDetector(max_epochs=1).fit(np.random.default_rng(0).normal(size=(64, 4)))
    rows = []
    for name in names or list_datasets(data_dir):
        data = load_dataset(data_dir, name)
        for seed in seeds:
            train, test = split_indices(data.y, seed)
            for setting in ("unsupervised", "novelty"):
                start = time.perf_counter()
                model = VAEDetector(random_state=seed, **params).fit(
                    data.X[training_rows(train, data.y, setting)])
                row = {"variant": variant, "dataset": name, "seed": seed, "setting": setting,
                       "fit_s": time.perf_counter() - start}
                for score in SCORES:
                    model.set_params(score_method=score)
                    row[score] = evaluate(data.y[test], model.anomaly_score(data.X[test]))[0]
                rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--variant", default="defaults")
    parser.add_argument("--datasets", default="", help="comma list (default: all)")
    parser.add_argument("--out", default="results/variants.csv")
    args = parser.parse_args()
    configure_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    requested = [n for n in args.datasets.split(",") if n]
    names = resolve_dataset_names(requested, list_datasets(args.data)) if requested else None
    table = run_variant(args.variant, args.data, seeds, names)
    out = Path(args.out)
    if out.exists():
        old = pd.read_csv(out)
        table = pd.concat([old[old["variant"] != args.variant], table])
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    per_dataset = table.groupby(["variant", "setting", "dataset"]).mean(numeric_only=True)
    summary = per_dataset.groupby(["variant", "setting"]).agg(
        rp=("reconstruction_probability", "mean"),
        capped=("capped_reconstruction_probability", "mean"),
        elbo=("elbo", "mean"), fit_s=("fit_s", "sum"),
        datasets=("fit_s", "size"))
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
