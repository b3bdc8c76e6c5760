"""Tuning experiments of issue 3: latentwatch variants on the ADBench suite.

One VAE fit per (dataset, seed, setting, variant); the reconstruction probability (RP), the
capped RP and the ELBO of the test rows are computed from it, and the mean AUC-ROC over the
datasets is printed per setting with the summed fit seconds. Peers are not run: compare with
the defaults (variant ``defaults``) fitted in the same way. A variant is ``+``-joined parts,
applied left to right. A part sets detector parameters: estimator parameters (``beta``,
``learning_rate``...), tuning constants of :class:`latentwatch.engine.TrainingConfig` through
the estimators' ``training=`` parameter (merged across parts), and/or a change of the hidden
layer widths (applied to the widths so far, starting from the package's default rule for the
dataset's input width, and passed as ``hidden_dims``). Nothing is patched, so one process can
run several variants; each invocation adds its variant's rows to ``--out`` and the summary
covers every variant in that file::

    python -m benchmarks.detection.variants --data ../shared/data --seeds 0,1,2 --variant defaults
    python -m benchmarks.detection.variants --data ../shared/data --seeds 0,1,2 \\
        --variant previous-defaults+half-width
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.detection.protocol import (
    evaluate,
    list_datasets,
    load_dataset,
    resolve_dataset_names,
    split_indices,
    training_rows,
)
from benchmarks.harness import BenchmarkParser, new_parser, use_threads
from benchmarks.harness.tables import write_csv


@dataclass(frozen=True)
class Part:
    """One part of a variant.

    Attributes
    ----------
    params : dict
        Estimator parameters.
    training : dict
        Fields of ``TrainingConfig`` (passed as ``training=``; later parts override
        earlier ones key by key).
    hidden : callable or None
        Maps the hidden widths so far to new ones.
    latent : callable or None
        Maps the latent size so far (from the package's default rule at first) to a new one.
    """

    params: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    hidden: Callable[[list[int]], list[int]] | None = None
    latent: Callable[[int], int] | None = None


def _batch_rule(steps_per_epoch: int, low: int, high: int) -> dict[str, Any]:
    """The ``batch_size="auto"`` rule: about ``steps_per_epoch`` steps an epoch, batches of
    ``low`` to ``high`` rows."""
    return {"auto_steps_per_epoch": steps_per_epoch, "auto_batch_range": (low, high)}


PARTS: dict[str, Part] = {
    "defaults": Part(),
    # architecture (the default rule: two layers, see latentwatch.models.layers)
    "half-width": Part(hidden=lambda dims: [max(16, h // 2) for h in dims]),
    "double-width": Part(hidden=lambda dims: [2 * h for h in dims]),
    "half-latent": Part(latent=lambda k: max(1, k // 2)),
    "double-latent": Part(latent=lambda k: 2 * k),
    "lr2e-3": Part({"learning_rate": 2e-3}),
    "lr8e-3": Part({"learning_rate": 8e-3}),
    "mog5": Part({"prior_components": 5}),
    "mog10": Part({"prior_components": 10}),
    "one-hidden-layer": Part(hidden=lambda dims: dims[:1]),
    "three-hidden-layers": Part(hidden=lambda dims: [*dims, max(8, dims[-1] // 2)]),
    # training budget and batch rules (TrainingConfig fields). The default since round four
    # is 16 steps, 128-4096 rows; rounds one to three used 32 steps, 64-2048 rows, learning
    # rate 3e-3 and patience 10 ("previous-defaults").
    "short-training": Part(training={"auto_epoch_range": (5, 15), "auto_row_budget": 150_000}),
    "bigger-batch": Part(training=_batch_rule(16, 128, 4096)),
    "quadruple-batch": Part(training=_batch_rule(8, 256, 8192)),
    "previous-defaults": Part(params={"learning_rate": 3e-3, "patience": 10},
                              training=_batch_rule(32, 64, 2048)),
    # estimator parameters
    "beta2": Part({"beta": 2.0}),
    "beta0.5": Part({"beta": 0.5}),
    "lr1e-3": Part({"learning_rate": 1e-3}),
    "lr4e-3": Part({"learning_rate": 4e-3}),
    "lr5e-3": Part({"learning_rate": 5e-3}),
    "lr6e-3": Part({"learning_rate": 6e-3}),
    "wd1e-4": Part({"weight_decay": 1e-4}),
    "samples64": Part({"n_samples": 64}),
    "trim0.02": Part({"trim_fraction": 0.02}),
    "trim0.05": Part({"trim_fraction": 0.05}),
    "warmup5": Part({"kl_warmup_epochs": 5}),
    "warmup10": Part({"kl_warmup_epochs": 10}),
    "patience5": Part({"patience": 5}),
    "patience4": Part({"patience": 4}),
    "patience3": Part({"patience": 3}),
}

SCORES = ("reconstruction_probability", "capped_reconstruction_probability", "elbo")


def parse_variant(variant: str) -> list[Part]:
    """The parts of ``variant`` (``+``-joined names of :data:`PARTS`), in order.

    Raises
    ------
    SystemExit
        If a part is unknown (the message lists the known parts).
    """
    names = variant.split("+")
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        raise SystemExit(f"unknown variant part {unknown[0]!r}: use {sorted(PARTS)}")
    return [PARTS[name] for name in names]


def variant_params(variant: str, n_inputs: int) -> dict[str, Any]:
    """``VAEDetector`` keyword arguments of ``variant`` for data of ``n_inputs`` network
    inputs (columns, plus one per column with gaps)."""
    from latentwatch.models.layers import default_hidden_dims, default_latent_dim

    params: dict[str, Any] = {}
    training: dict[str, Any] = {}
    dims: list[int] | None = None
    latent: int | None = None
    for part in parse_variant(variant):
        params.update(part.params)
        training.update(part.training)
        if part.hidden is not None:
            dims = part.hidden(list(dims if dims is not None else default_hidden_dims(n_inputs)))
        if part.latent is not None:
            latent = part.latent(latent if latent is not None else default_latent_dim(n_inputs))
    if training:
        params["training"] = training
    if dims is not None:
        params["hidden_dims"] = dims
    if latent is not None:
        params["latent_dim"] = latent
    return params


def run_variant(
    variant: str, data_dir: str | Path, seeds: list[int], names: list[str] | None = None
) -> pd.DataFrame:
    """AUC-ROC of RP, capped RP and ELBO for one variant (``+``-joined parts) on every dataset.

    Each row also records the fit seconds, the epochs trained and the hidden widths used.
    """
    parse_variant(variant)  # refuse an unknown part before loading anything
    from latentwatch import VAEDetector

    # The first fit in a process pays for torch's lazy imports: keep it out of the timings.
    VAEDetector(max_epochs=1).fit(np.random.default_rng(0).normal(size=(64, 4)))
    rows = []
    for name in names or list_datasets(data_dir):
        data = load_dataset(data_dir, name)
        n_inputs = data.X.shape[1] + int(np.isnan(data.X).any(axis=0).sum())
        params = variant_params(variant, n_inputs)
        for seed in seeds:
            train, test = split_indices(data.y, seed)
            for setting in ("unsupervised", "novelty"):
                start = time.perf_counter()
                model = VAEDetector(random_state=seed, **params).fit(
                    data.X[training_rows(train, data.y, setting)])
                row = {"variant": variant, "dataset": name, "seed": seed, "setting": setting,
                       "fit_s": time.perf_counter() - start, "epochs": model.n_epochs_,
                       "hidden_dims": "-".join(map(str, model.hidden_dims_))}
                for score in SCORES:
                    model.set_params(score_method=score)
                    row[score] = evaluate(data.y[test], model.anomaly_score(data.X[test]))[0]
                rows.append(row)
    return pd.DataFrame(rows)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.variants", __doc__, data=Path("../shared/data"),
                   seeds=[0], datasets=[], out=Path("results/variants.csv"), threads=1,
                   helps={"datasets": "data set names (default: all)"})
    p.add_argument("--variant", default="defaults", help="parts joined by '+'")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    use_threads(args.threads)
    available = list_datasets(args.data)
    names = resolve_dataset_names(args.datasets, available) if args.datasets else None
    table = run_variant(args.variant, args.data, args.seeds, names)
    if args.out.exists():
        old = pd.read_csv(args.out)
        table = pd.concat([old[old["variant"] != args.variant], table])
    write_csv(table, args.out)
    per_dataset = table.groupby(["variant", "setting", "dataset"]).mean(numeric_only=True)
    summary = per_dataset.groupby(["variant", "setting"]).agg(
        rp=("reconstruction_probability", "mean"),
        capped=("capped_reconstruction_probability", "mean"),
        elbo=("elbo", "mean"), fit_s=("fit_s", "sum"),
        datasets=("fit_s", "size"))
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
