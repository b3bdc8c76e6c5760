"""Per-feature standardisation learned in ``fit``."""

from __future__ import annotations

import numpy as np

# Columns whose spread is below this (relative to their magnitude) count as constant.
_RELATIVE_FLOOR = 1e-12


def fit_standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales for ``(X - mean) / scale``.

    The scale is the standard deviation, replaced by 1 for constant (or numerically
    constant) columns so that they map to exactly 0 instead of dividing by zero.

    Returns
    -------
    mean, scale : np.ndarray of shape (n_features,)
    """
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = scale <= _RELATIVE_FLOOR * np.maximum(1.0, np.abs(mean))
    scale[constant] = 1.0
    return mean, scale

