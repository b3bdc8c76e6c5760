"""The breast-cancer demo: find malignant tumours among benign ones, labels unseen."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import average_precision_score, roc_auc_score

from latentwatch.detector import AutoEncoderDetector, VAEDetector


def breast_cancer_anomalies(
    n_anomalies: int = 20, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """All 357 benign rows of scikit-learn's breast-cancer table plus ``n_anomalies``
    malignant rows drawn at random; ``y`` is 1 for the malignant rows."""
    data = load_breast_cancer(as_frame=True)
    frame, target = data.data, data.target.to_numpy()  # target 1 = benign
    rng = np.random.default_rng(seed)
    malignant = rng.choice(np.flatnonzero(target == 0), size=n_anomalies, replace=False)
    rows = np.sort(np.r_[np.flatnonzero(target == 1), malignant])
    return frame.iloc[rows].reset_index(drop=True), (target[rows] == 0).astype(int)


def top_features(model, X: pd.DataFrame, rows: np.ndarray, k: int = 3) -> list[str]:
    """``"name: observed (expected about reconstructed)"`` for the ``k`` largest
    contributions to the score of each row of ``X.iloc[rows]`` (see ``model.explain``)."""
    return [str(explanation) for explanation in model.explain(X.iloc[rows], top_k=k)]


def run_demo(seed: int = 0, console: Console | None = None) -> dict[str, dict[str, float]]:
    """Fit both detectors on the table (labels unused), print metrics and the top rows.

    Returns
    -------
    dict
        ``{detector name: {"auc_roc", "auc_pr", "fit_seconds"}}``.
    """
    console = console or Console()
    X, y = breast_cancer_anomalies(seed=seed)
    console.print(
        f"Breast cancer (scikit-learn): {len(X)} rows x {X.shape[1]} features, "
        f"{y.sum()} malignant rows hidden among {len(y) - y.sum()} benign ones; labels unused."
    )
    results: dict[str, dict[str, float]] = {}
    for name, model in [("AutoEncoderDetector", AutoEncoderDetector(random_state=seed)),
                        ("VAEDetector", VAEDetector(random_state=seed))]:
        start = time.perf_counter()
        model.fit(X)
        fit_seconds = time.perf_counter() - start
        scores = model.anomaly_score(X)
        results[name] = {
            "auc_roc": roc_auc_score(y, scores),
            "auc_pr": average_precision_score(y, scores),
            "fit_seconds": fit_seconds,
        }
        top = np.argsort(scores)[::-1][:5]
        table = Table(title=f"{name}: AUC-ROC {results[name]['auc_roc']:.3f}, "
                            f"AUC-PR {results[name]['auc_pr']:.3f}, "
                            f"fit {fit_seconds:.1f} s ({model.n_epochs_} epochs)")
        for column in ("row", "score", "malignant", "top contributing features"):
            table.add_column(column)
        for row, why in zip(top, top_features(model, X, top), strict=True):
            table.add_row(str(row), f"{scores[row]:.1f}", "yes" if y[row] else "no", why)
        console.print(table)
    return results
