"""Quick screening of detection candidates (issue 13) on the ADBench suite.

One VAE fit per (dataset, seed, setting, variant) gives several scores of the test rows:
the VAE's score methods, the k-th neighbour distance in the latent space (posterior means of
at most ``--reference`` training rows) and standardised sums of the two; ``--refit`` refits
without the training rows the first fit scores as most anomalous; ``--bag`` averages the
standardised scores of several small models fitted on subsamples. Peers fitted on the same
rows (IsolationForest, KNN behind a StandardScaler) give the yardstick. Datasets can be capped
(``--max-rows``, stratified) so a screen takes minutes; the full protocol is
``benchmarks.detection.adbench``::

    python -m benchmarks.detection.screen --data ../shared/data --max-rows 10000 --variant defaults
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.detection.protocol import (
    Dataset,
    evaluate,
    list_datasets,
    load_dataset,
    resolve_dataset_names,
    split_indices,
    stratified_subsample,
    training_rows,
)
from benchmarks.detection.variants import parse_variant, variant_params
from benchmarks.harness import BenchmarkParser, new_parser, use_threads
from benchmarks.harness.cli import comma_list
from benchmarks.harness.tables import write_csv

VAE_SCORES = ("reconstruction_probability", "elbo", "importance_weighted")


def robust_z(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(s - median(r)) / IQR(r)`` (IQR floored at 1e-12)."""
    q1, med, q3 = np.percentile(reference, [25, 50, 75])
    return (scores - med) / max(q3 - q1, 1e-12)


def kth_distance(reference: np.ndarray, queries: np.ndarray, k: int, self_query: bool
                 ) -> np.ndarray:
    """Distance of every query to its ``k``-th nearest reference point (the point itself
    left out when the queries are the reference)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=min(k + int(self_query), len(reference))).fit(reference)
    return nn.kneighbors(queries)[0][:, -1]


def model_scores(model, X_ref: np.ndarray, X_test: np.ndarray, k: int) -> dict[str, tuple]:
    """``{name: (test scores, reference scores)}`` of one fitted VAE."""
    out = {}
    for method in VAE_SCORES:
        model.set_params(score_method=method)
        out[method] = (model.anomaly_score(X_test), model.anomaly_score(X_ref))
    z_ref, z_test = model.encode(X_ref), model.encode(X_test)
    out["latent_knn"] = (kth_distance(z_ref, z_test, k, False),
                         kth_distance(z_ref, z_ref, k, True))
    knn_test, knn_ref = out["latent_knn"]
    for base in ("reconstruction_probability", "importance_weighted"):
        test, ref = out[base]
        out[f"{base}+latent_knn"] = (robust_z(test, ref) + robust_z(knn_test, knn_ref),
                                     robust_z(ref, ref) + robust_z(knn_ref, knn_ref))
    model.set_params(score_method="reconstruction_probability")
    return out


def _reference(n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)


def fit_and_score(X_fit: np.ndarray, X_test: np.ndarray, seed: int, params: dict,
                  args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Test scores of every candidate for one variant on one split."""
    from latentwatch import VAEDetector

    ref = X_fit[_reference(len(X_fit), args.reference, seed)]
    if args.bag:
        total: dict[str, np.ndarray] = {}
        rng = np.random.default_rng(seed)
        for b in range(args.bag):
            pick = rng.choice(len(X_fit), min(args.bag_rows, len(X_fit)), replace=False)
            model = VAEDetector(random_state=seed * 100 + b, **params).fit(X_fit[pick])
            for name, (test, refs) in model_scores(model, ref, X_test, args.k).items():
                total[name] = total.get(name, 0.0) + robust_z(test, refs)
        return total
    model = VAEDetector(random_state=seed, **params).fit(X_fit)
    if args.refit:
        train_scores = model.anomaly_score(X_fit)
        keep = train_scores <= np.quantile(train_scores, 1 - args.refit)
        model = VAEDetector(random_state=seed, **params).fit(X_fit[keep])
        ref = X_fit[keep][_reference(int(keep.sum()), args.reference, seed)]
    return {name: test for name, (test, _) in model_scores(model, ref, X_test, args.k).items()}


def peer_scores(X_fit: np.ndarray, X_test: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """IsolationForest and StandardScaler + KNN on the same rows."""
    from pyod.models.knn import KNN
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    forest = IsolationForest(random_state=seed).fit(X_fit)
    knn = make_pipeline(StandardScaler(), KNN()).fit(X_fit)
    return {"peer:iforest": -forest.score_samples(X_test),
            "peer:knn-std": knn.decision_function(X_test)}


def capped(data: Dataset, max_rows: int) -> Dataset:
    keep = stratified_subsample(data.y, max_rows)
    return Dataset(data.name, data.X[keep], data.y[keep], data.n_original)


def save(rows: list[dict], args: argparse.Namespace) -> pd.DataFrame:
    """This variant's rows so far, with the other variants' rows of ``--out``, to ``--out``."""
    table = pd.DataFrame(rows)
    if args.out.exists():
        old = pd.read_csv(args.out)
        table = pd.concat([old[old["variant"] != (args.tag or args.variant)], table])
    write_csv(table, args.out)
    return table


def run(args: argparse.Namespace) -> pd.DataFrame:
    """Every candidate's AUC-ROC on every dataset, written to ``--out`` after each dataset."""
    from latentwatch import VAEDetector

    VAEDetector(max_epochs=1).fit(np.random.default_rng(0).normal(size=(64, 4)))
    parse_variant(args.variant)
    available = list_datasets(args.data)
    names = resolve_dataset_names(args.datasets, available) if args.datasets else available
    rows = []
    for name in names:
        data = capped(load_dataset(args.data, name), args.max_rows)
        n_inputs = data.X.shape[1] + int(np.isnan(data.X).any(axis=0).sum())
        params = variant_params(args.variant, n_inputs)
        for seed in args.seeds:
            train, test = split_indices(data.y, seed)
            for setting in args.settings:
                fit = training_rows(train, data.y, setting)
                start = time.perf_counter()
                scores = fit_and_score(data.X[fit], data.X[test], seed, params, args)
                fit_s = time.perf_counter() - start
                if args.peers:
                    scores.update(peer_scores(data.X[fit], data.X[test], seed))
                for method, s in scores.items():
                    rows.append({"variant": args.tag or args.variant, "dataset": name,
                                 "seed": seed, "setting": setting, "method": method,
                                 "auc_roc": evaluate(data.y[test], s)[0], "fit_s": fit_s})
        print(name, flush=True)
        table = save(rows, args)
    return table


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.screen", __doc__, data=Path("../shared/data"),
                   datasets=[], seeds=[0], out=Path("results/screen.csv"), threads=1,
                   helps={"datasets": "data set names (default: all)"})
    p.add_argument("--max-rows", type=int, default=10_000, help="stratified cap per data set")
    p.add_argument("--settings", type=comma_list, default=["unsupervised", "novelty"])
    p.add_argument("--variant", default="defaults", help="see benchmarks.detection.variants")
    p.add_argument("--tag", default="", help="the variant's name in --out (default: --variant)")
    p.add_argument("--k", type=int, default=5, help="neighbours of the latent distance")
    p.add_argument("--reference", type=int, default=2048,
                   help="training rows of the latent neighbour search")
    p.add_argument("--refit", type=float, default=0.0,
                   help="refit without this share of the highest-scored training rows")
    p.add_argument("--bag", type=int, default=0, help="models of the bagged ensemble")
    p.add_argument("--bag-rows", type=int, default=1024, help="rows per bagged model")
    p.add_argument("--peers", action="store_true", help="also IsolationForest and scaled KNN")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    use_threads(args.threads)
    summary(run(args))


def summary(table: pd.DataFrame) -> None:
    """Mean AUC-ROC per (variant, method) and setting, over the datasets every row has."""
    per = table.groupby(["setting", "variant", "method", "dataset"])["auc_roc"].mean()
    print(per.groupby(["setting", "variant", "method"]).agg(["mean", "size"]).round(4)
          .to_string())


if __name__ == "__main__":
    main()
