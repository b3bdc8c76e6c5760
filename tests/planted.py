"""A low-rank normal population with planted anomalies (shared by the tests)."""

import numpy as np


def planted_anomalies(
    n_normal: int = 1500, n_anomalies: int = 75, n_features: int = 12, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Normal rows on a noisy non-linear 3-D manifold; anomalies off it.

    Half of the anomalies are uniform noise over the data's range (global outliers);
    the other half are normal rows with two features swapped for values from other
    rows (local, "wrong combination" outliers whose marginals look normal).
    """
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(3, n_features))
    latent = rng.normal(size=(n_normal + n_anomalies, 3))
    X = np.tanh(latent @ weights) + 0.05 * rng.normal(size=(n_normal + n_anomalies, n_features))
    y = np.zeros(n_normal + n_anomalies, dtype=int)
    y[n_normal:] = 1
    half = n_anomalies // 2
    rows = np.arange(n_normal, n_normal + half)
    X[rows] = rng.uniform(X.min(0), X.max(0), size=(half, n_features))
    for row in range(n_normal + half, n_normal + n_anomalies):
        cols = rng.choice(n_features, size=2, replace=False)
        X[row, cols] = X[rng.integers(n_normal), cols] * -1
    return X, y
