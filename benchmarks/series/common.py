"""What the time-series benchmarks (``benchmarks.series.skab``, ``benchmarks.series.nab``)
share: the readers of the data in place, the windowed peers and the latentwatch method.

Peers see the same windows as latentwatch: for each step the last ``W`` steps of every
channel, standardised with the training part's mean and scale, flattened; the ``W - 1``
steps before the start repeat the first row (peers take no masks). ``iforest`` is
``sklearn.ensemble.IsolationForest(random_state=seed)`` scored by ``-score_samples``;
``knn`` is the distance to the 5th nearest training window
(``sklearn.neighbors.NearestNeighbors``: what ``pyod.models.knn.KNN().decision_function``
computes, without needing PyOD). ``lw-vae`` is ``latentwatch.VAEDetector(time_column=...,
window=W, random_state=seed)`` with its defaults (a row scored by the reconstruction error
of its window's newest 5 steps), fitted on the training part and scoring the whole series
in one pass (the test part's first windows reach into the training part, as the peers'
do); ``lw-vae-window`` is the same fitted model scoring each row on its whole window.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Neighbours of the KNN peer (PyOD's default).
KNN_NEIGHBOURS = 5
SKAB_CHANNELS = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure",
                 "Temperature", "Thermocouple", "Voltage", "Volume Flow RateRMS"]


def window_steps(text: str) -> int | str:
    """The ``--window`` option: a number of steps, or ``auto`` (latentwatch's rule).

    Examples
    --------
    >>> window_steps("auto"), window_steps("32")
    ('auto', 32)
    """
    return text if text == "auto" else int(text)


def skab_files(root: Path) -> list[Path]:
    """The 34 labelled SKAB experiments, in a fixed order."""
    return sorted((p for folder in ("valve1", "valve2", "other")
                   for p in (root / folder).glob("*.csv")),
                  key=lambda p: (p.parent.name, int(p.stem)))


def read_skab(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";")


def nab_series(root: Path) -> list[tuple[str, pd.DataFrame, np.ndarray]]:
    """NAB series with at least one labelled window: ``(group/name.csv, frame, labels)``,
    labels 1 inside ``labels/combined_windows.json``'s windows. Every row is kept: four
    series repeat one timestamp once (a daylight-saving change), which latentwatch reads
    in file order, one step after the row before, with a warning."""
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    out = []
    for name, spans in sorted(windows.items()):
        path = root / "data" / name
        if not spans or not path.exists():
            continue
        frame = pd.read_csv(path)
        stamps = pd.to_datetime(frame["timestamp"])
        labels = np.zeros(len(frame), dtype=int)
        for start, end in spans:
            labels[((stamps >= pd.Timestamp(start)) & (stamps <= pd.Timestamp(end))).to_numpy()] = 1
        out.append((name, frame, labels))
    return out


def sliding_windows(values: np.ndarray, window: int, mean: np.ndarray, scale: np.ndarray
                    ) -> np.ndarray:
    """``(n, W * C)``: each step's last ``W`` standardised rows, oldest first, the start
    padded with the first row."""
    x = (values - mean) / scale
    padded = np.concatenate([np.repeat(x[:1], window - 1, axis=0), x])
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    return view.transpose(0, 2, 1).reshape(len(values), -1)


def standardizer(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.nanmean(values, axis=0)
    scale = np.nanstd(values, axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def peer_scores(method: str, values: np.ndarray, n_train: int, window: int, seed: int
                ) -> tuple[np.ndarray, float]:
    """Scores of every step by a windowed peer fitted on the first ``n_train`` steps, and
    its fit seconds."""
    values = np.where(np.isfinite(values), values, np.nan)
    values = pd.DataFrame(values).ffill().bfill().to_numpy()
    mean, scale = standardizer(values[:n_train])
    windows = sliding_windows(values, window, mean, scale)
    started = time.perf_counter()
    if method == "iforest":
        from sklearn.ensemble import IsolationForest

        model = IsolationForest(random_state=seed).fit(windows[:n_train])
        seconds = time.perf_counter() - started
        return -model.score_samples(windows), seconds
    if method == "knn":
        from sklearn.neighbors import NearestNeighbors

        model = NearestNeighbors(n_neighbors=KNN_NEIGHBOURS).fit(windows[:n_train])
        seconds = time.perf_counter() - started
        return model.kneighbors(windows)[0][:, -1], seconds
    raise ValueError(f"unknown peer {method!r}")


def lw_scores(frame: pd.DataFrame, time_column: str, exclude: list[str], n_train: int,
              window: int | str, seed: int, **params) -> tuple[np.ndarray, float, float, object]:
    """latentwatch's scores of every step, fit seconds, scoring seconds and the model (its
    own threshold: ``scores > -model.offset_``)."""
    from latentwatch import VAEDetector

    started = time.perf_counter()
    model = VAEDetector(time_column=time_column, window=window, random_state=seed,
                        schema={"exclude": exclude}, **params).fit(frame.iloc[:n_train])
    fitted = time.perf_counter()
    scores = model.anomaly_score(frame)
    return scores, fitted - started, time.perf_counter() - fitted, model


def whole_window_scores(model, frame: pd.DataFrame) -> np.ndarray:
    """The same fitted model's scores of every step on its whole window (``score_steps =
    W``: the score of latentwatch 0.2, before the newest-steps score)."""
    steps = model.codec_.score_steps
    model.codec_.score_steps = model.window_
    try:
        return model.anomaly_score(frame)
    finally:
        model.codec_.score_steps = steps
