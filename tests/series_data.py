"""Small synthetic series shared by the time-series tests."""

import numpy as np
import pandas as pd


def planted_series(n: int = 720, period: int = 24, fault: tuple[int, int] = (560, 580),
                   seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two coupled periodic channels, one minute apart, with a fault in ``fault``: the
    second channel leaves its relation to the first (its marginal stays in range)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    phase = 2 * np.pi * steps / period
    a = np.sin(phase) + 0.05 * rng.normal(size=n)
    b = np.cos(phase) + 0.05 * rng.normal(size=n)
    labels = np.zeros(n, dtype=int)
    start, end = fault
    b[start:end] = -b[start:end]
    labels[start:end] = 1
    times = pd.date_range("2024-03-01", periods=n, freq="min")
    return pd.DataFrame({"when": times.astype(str), "a": a, "b": b, "label": labels}), labels
