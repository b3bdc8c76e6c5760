"""Data handling and evaluation protocol: subsampling, splits, settings, metrics, cache keys.

Pure functions on numpy arrays (plus scikit-learn), so they can be unit-tested in seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

#: Bump when the protocol changes in a way that invalidates cached peer results.
PROTOCOL_VERSION = "1"
MAX_ROWS = 50_000
SUBSAMPLE_SEED = 0
TEST_SIZE = 0.4
SETTINGS = ("unsupervised", "novelty")


@dataclass(frozen=True)
class Dataset:
    """One benchmark dataset after the optional subsampling."""

    name: str
    X: np.ndarray
    y: np.ndarray
    n_original: int

    @property
    def fingerprint(self) -> str:
        """Cheap identity of the data, part of the cache key."""
        return f"{self.n_original}:{self.X.shape[0]}x{self.X.shape[1]}:{int(self.y.sum())}"


def list_datasets(data_dir: str | Path) -> list[str]:
    """Names (file stems) of all ``*.npz`` datasets in ``data_dir``, sorted case-insensitively."""
    return sorted((p.stem for p in Path(data_dir).glob("*.npz")), key=str.lower)


def resolve_dataset_names(requested: list[str], available: list[str]) -> list[str]:
    """Map requested names to available ones (case-insensitive); raise on unknown names."""
    by_lower = {name.lower(): name for name in available}
    missing = [name for name in requested if name.lower() not in by_lower]
    if missing:
        raise ValueError(f"unknown dataset(s): {', '.join(missing)}; available: {available}")
    return [by_lower[name.lower()] for name in requested]


def stratified_subsample(y: np.ndarray, n: int, seed: int = SUBSAMPLE_SEED) -> np.ndarray:
    """Sorted indices of a stratified subsample of ``n`` rows (all rows if ``len(y) <= n``)."""
    idx = np.arange(len(y))
    if len(y) <= n:
        return idx
    keep, _ = train_test_split(idx, train_size=n, stratify=y, random_state=seed)
    return np.sort(keep)


def load_dataset(data_dir: str | Path, name: str, max_rows: int = MAX_ROWS) -> Dataset:
    """Load ``NAME.npz`` in place and subsample it (stratified, seed 0) above ``max_rows``."""
    with np.load(Path(data_dir) / f"{name}.npz") as data:
        X = np.asarray(data["X"], dtype=np.float64)
        y = np.asarray(data["y"]).astype(np.int64).ravel()
    keep = stratified_subsample(y, max_rows)
    return Dataset(name=name, X=X[keep], y=y[keep], n_original=len(y))


def split_indices(
    y: np.ndarray, seed: int, test_size: float = TEST_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test split of row indices for one seed (sorted indices)."""
    train, test = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed
    )
    return np.sort(train), np.sort(test)


def training_rows(train_idx: np.ndarray, y: np.ndarray, setting: str) -> np.ndarray:
    """Rows a detector is fitted on: all training rows, or only the normal ones for novelty."""
    if setting == "unsupervised":
        return train_idx
    if setting == "novelty":
        return train_idx[y[train_idx] == 0]
    raise ValueError(f"unknown setting {setting!r}; expected one of {SETTINGS}")


def evaluate(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUC-ROC and AUC-PR (average precision) of anomaly scores (higher = more anomalous)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.shape != y_true.shape:
        raise ValueError(f"got {scores.shape[0]} scores for {y_true.shape[0]} test rows")
    n_bad = int((~np.isfinite(scores)).sum())
    if n_bad:
        raise ValueError(f"{n_bad} non-finite anomaly scores")
    return float(roc_auc_score(y_true, scores)), float(average_precision_score(y_true, scores))


def cache_key(
    dataset: str,
    seed: int,
    setting: str,
    method: str,
    versions: Mapping[str, str],
    threads: int,
    fingerprint: str = "",
) -> str:
    """Hex digest identifying one cached peer result.

    Covers the dataset (and its fingerprint), seed, setting, method, the versions of the
    libraries the method depends on, the thread count (timings depend on it) and the
    protocol version.
    """
    payload = {
        "protocol": PROTOCOL_VERSION,
        "dataset": dataset,
        "fingerprint": fingerprint,
        "seed": int(seed),
        "setting": setting,
        "method": method,
        "versions": dict(sorted(versions.items())),
        "threads": int(threads),
    }
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
