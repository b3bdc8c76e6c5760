"""The quantile transform of a numeric column: data to normal scores and back, exactly.

A column's training values are summarised by ``K`` knots ``v_k``, their quantiles at
``k / (K - 1)`` (linear interpolation between order statistics). The column's distribution
function ``F`` is the piecewise-linear curve through ``(v_k, p_k)`` with
``p_k = e + (1 - 2e) k / (K - 1)`` and ``e = 1 / (2K)`` (so that no score is infinite);
the model sees ``u = Phi^-1(F(x))``, a standard normal score, and a model-space value
``u`` is written back as ``x = F^-1(Phi(u))``.

Ties make ``F`` jump: a value ``x`` that several knots share (a zero of a zero-heavy column,
a level of a discrete one) owns the interval ``[a, b]`` of probabilities of those knots,
and is read as its middle ``(a + b) / 2``; every score whose probability falls in
``[a, b]`` writes ``x`` back. So a discrete or zero-heavy column keeps its point masses
exactly when its normal scores are Gaussian, and ``from_normal_scores(to_normal_scores(x))
== x`` for every value in the training range (up to floating point). Scores stay within
``+-Phi^-1(1 - e)`` (about 3.3 for ``K = 1000``); values beyond the training range are
read as its ends, and scores beyond those bounds are written back as them.
"""

from __future__ import annotations

import numpy as np

# Knots per column: at most this many quantiles of the training values are kept.
MAX_KNOTS = 1000


def fit_knots(values: np.ndarray, max_knots: int = MAX_KNOTS) -> np.ndarray:
    """Quantiles ``v_k`` of the finite ``values`` at ``p_k = k / (K - 1)``, with
    ``K = min(n, max_knots)`` (at least 2).

    Examples
    --------
    >>> fit_knots(np.array([0.0, 0.0, 0.0, 1.0, 2.0]), max_knots=5).tolist()
    [0.0, 0.0, 0.0, 1.0, 2.0]
    """
    finite = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)])
    if finite.size == 0:
        return np.zeros(2)
    k = int(min(max(finite.size, 2), max_knots))
    return np.quantile(finite, np.linspace(0.0, 1.0, k))


def _probabilities(knots: np.ndarray) -> np.ndarray:
    """``p_k = e + (1 - 2e) k / (K - 1)`` with ``e = 1 / (2K)``."""
    eps = 0.5 / len(knots)
    return eps + (1.0 - 2.0 * eps) * np.linspace(0.0, 1.0, len(knots))


def cdf(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """``F(x)``: the piecewise-linear distribution function through ``(v_k, p_k)``; a
    value shared by several knots gets the middle of their probabilities, a value between
    distinct knots ``u_i < x < u_j`` the line from the last probability of ``u_i`` to the
    first of ``u_j``; NaN stays NaN."""
    knots = np.asarray(knots, dtype=np.float64)
    probs = _probabilities(knots)
    values, first = np.unique(knots, return_index=True)
    last = len(knots) - 1 - np.unique(knots[::-1], return_index=True)[1]
    low_p, high_p = probs[first], probs[last]
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    xs = np.clip(x[finite], values[0], values[-1])
    i = np.searchsorted(values, xs, side="right") - 1  # values[i] <= x < values[i + 1]
    i = np.clip(i, 0, len(values) - 1)
    on_knot = xs == values[i]
    result = np.empty(xs.shape)
    result[on_knot] = 0.5 * (low_p[i[on_knot]] + high_p[i[on_knot]])
    between = ~on_knot
    ib = i[between]
    span = values[ib + 1] - values[ib]
    result[between] = high_p[ib] + (xs[between] - values[ib]) / span * (low_p[ib + 1]
                                                                          - high_p[ib])
    out[finite] = result
    return out


def inverse_cdf(p: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """``F^-1(p)``: linear interpolation of the knots ``v_k`` at ``p`` between the
    ``p_k``; NaN stays NaN."""
    knots = np.asarray(knots, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    out = np.interp(np.nan_to_num(p, nan=0.0), _probabilities(knots), knots)
    return np.where(np.isnan(p), np.nan, out)


def to_normal_scores(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """``u = Phi^-1(F(x))`` (``x`` clipped to the training range); NaN stays NaN.

    Examples
    --------
    >>> knots = fit_knots(np.arange(101.0))
    >>> float(np.round(to_normal_scores(np.array([50.0]), knots)[0], 12))
    0.0
    """
    import torch  # imported here: reading a model's description needs no torch

    p = cdf(x, knots)
    return torch.special.ndtri(torch.from_numpy(np.ascontiguousarray(p))).numpy()


def from_normal_scores(u: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """``x = F^-1(Phi(u))``, the inverse of :func:`to_normal_scores` on the training range;
    NaN stays NaN.

    Examples
    --------
    >>> knots = fit_knots(np.array([0.0, 0.0, 0.0, 1.0, 5.0]))
    >>> from_normal_scores(to_normal_scores(np.array([0.0, 1.0, 5.0]), knots), knots).tolist()
    [0.0, 1.0, 5.0]
    """
    import torch

    u = np.asarray(u, dtype=np.float64)
    p = torch.special.ndtr(torch.from_numpy(np.ascontiguousarray(u))).numpy()
    return inverse_cdf(p, knots)
