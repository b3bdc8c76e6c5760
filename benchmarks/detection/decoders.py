"""Screening the VAE's numeric likelihood (issue 25) on a subset of the ADBench suite.

One VAE fit per (dataset, seed, setting, variant), scored by the importance-weighted
default, the reconstruction probability and the reconstruction error, and by two sums of
the default and the reconstruction error standardised on (at most 2,000 of) the training
rows: ``combo`` by median and IQR, ``combo_sd`` by mean and standard deviation. A variant
sets fields of :class:`latentwatch.models.VAEConfig` that the estimator does not expose
(``--config``: the decoder's log-variance floor, a Student-t decoder, one variance per
column) through a subclass of ``VAEDetector``, estimator parameters (``--params``, e.g.
``'{"training": {"dequantise": false}}'``) and parts of :mod:`benchmarks.detection.variants`
(``--variant half-latent``: the sensitivity check). Data sets are capped at ``--max-rows``
(stratified). The default subset holds the sets with the largest gaps to KNN and a few
where the VAE leads::

    python -m benchmarks.detection.decoders --tag t4 --config '{"decoder_df": 4.0}'
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.detection.protocol import evaluate, load_dataset, split_indices, training_rows
from benchmarks.detection.variants import parse_variant, variant_params
from benchmarks.harness import BenchmarkParser, new_parser, use_threads
from benchmarks.harness.cli import comma_list, json_object
from benchmarks.harness.tables import write_csv

SUBSET = ("cardio", "Cardiotocography", "glass", "fault", "satellite", "optdigits",
          "Ionosphere", "wine", "vertebral", "Hepatitis", "WBC", "thyroid", "pendigits",
          "musk", "SpamBase", "yeast")
SCORES = ("importance_weighted", "reconstruction_probability", "reconstruction_error")


def robust_z(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(s - median(r)) / IQR(r)`` (IQR floored at 1e-12)."""
    q1, med, q3 = np.percentile(reference, [25, 50, 75])
    return (scores - med) / max(q3 - q1, 1e-12)


def standard_z(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(s - mean(r)) / sd(r)`` (sd floored at 1e-12)."""
    return (scores - reference.mean()) / max(reference.std(), 1e-12)


def detector(config: dict):
    """``VAEDetector`` whose model config has the fields ``config`` replaced."""
    from latentwatch import VAEDetector

    if not config:
        return VAEDetector

    class Variant(VAEDetector):
        def _model_config(self):
            return dataclasses.replace(super()._model_config(), **config)

    return Variant


def run(args) -> pd.DataFrame:
    """AUC-ROC of every score of one variant on every (dataset, seed, setting)."""
    parse_variant(args.variant)
    cls = detector(args.config)
    cls(max_epochs=1).fit(np.random.default_rng(0).normal(size=(64, 4)))
    rows = []
    for name in args.datasets:
        data = load_dataset(args.data, name, args.max_rows)
        n_inputs = data.X.shape[1] + int(np.isnan(data.X).any(axis=0).sum())
        params = {**variant_params(args.variant, n_inputs), **args.params}
        for seed in args.seeds:
            train, test = split_indices(data.y, seed)
            for setting in args.settings:
                X_fit = data.X[training_rows(train, data.y, setting)]
                start = time.perf_counter()
                model = cls(random_state=seed, **params).fit(X_fit)
                row = {"tag": args.tag, "dataset": name, "seed": seed, "setting": setting,
                       "fit_s": time.perf_counter() - start}
                ref = X_fit[np.random.default_rng(seed).permutation(len(X_fit))[:2000]]
                scores = {}
                for method in SCORES:
                    model.set_params(score_method=method)
                    scores[method] = (model.anomaly_score(data.X[test]), model.anomaly_score(ref))
                    row[method] = evaluate(data.y[test], scores[method][0])[0]
                for tag, z in (("combo", robust_z), ("combo_sd", standard_z)):
                    combined = z(*scores[SCORES[0]]) + z(*scores[SCORES[2]])
                    row[tag] = evaluate(data.y[test], combined)[0]
                rows.append(row)
        print(name, flush=True)
    return pd.DataFrame(rows)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.decoders", __doc__, data=Path("../shared/data"),
                   seeds=[0], datasets=list(SUBSET), out=Path("results/decoders.csv"),
                   threads=1)
    p.add_argument("--tag", default="defaults", help="the variant's name in --out")
    p.add_argument("--config", type=json_object, default={},
                   help="VAEConfig fields, e.g. '{\"decoder_variance\": \"column\"}'")
    p.add_argument("--params", type=json_object, default={}, help="VAEDetector kwargs")
    p.add_argument("--variant", default="defaults",
                   help="parts of benchmarks.detection.variants joined by '+' (half-latent...)")
    p.add_argument("--settings", type=comma_list, default=["unsupervised", "novelty"])
    p.add_argument("--max-rows", type=int, default=10_000, help="stratified cap per data set")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    use_threads(args.threads)
    table = run(args)
    if args.out.exists():
        old = pd.read_csv(args.out)
        table = pd.concat([old[old["tag"] != args.tag], table])
    write_csv(table, args.out)
    means = table.groupby(["tag", "setting"])[[*SCORES, "combo", "combo_sd", "fit_s"]].mean()
    print(means.round(4).to_string())


if __name__ == "__main__":
    main()
