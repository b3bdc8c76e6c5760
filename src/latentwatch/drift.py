"""Drift tests: is a batch of rows from the distribution a model was calibrated on, and
which columns moved?

A fitted detector keeps, from its held-out calibration rows (never its training rows),
their anomaly scores and each score's split over the columns (:class:`DriftReference`,
saved in the model file). A batch is then compared with them in two ways:

* **the score test**: the batch's conformal p-values are uniform when the batch comes
  from the calibration distribution. Their mean is a linear function of the Mann-Whitney
  statistic ``U`` of the batch's scores against the calibration scores, whose exact
  two-sample variance accounts for the calibration scores the p-values share; the
  one-sided test asks whether the batch scores higher (is less normal) than uniform
  p-values allow (:func:`score_p_value`);
* **the column tests**: for every column, a two-sample Kolmogorov-Smirnov test of its
  share of the score (its per-column contribution) in the batch against the calibration
  rows (:func:`column_shifts`). The signed distance is the column's ``shift``: positive
  when the column explains more of the batch's scores than of the calibration rows'.

A categorical column is also tested on its category frequencies
(:func:`frequency_test`). The batch's p-value is the Bonferroni combination of all the
tests, each counted once: ``K = 1 + n_columns + n_categorical`` of them
(:func:`combine`), valid whatever their dependence; ``drift`` is ``p_value <= level``.
The score test sees changes the columns alone cannot (a correlation broken), the column
tests a change confined to one column. :func:`periods` cuts rows by a pandas offset for
the test over time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

#: Fewer rows than this give no test (the asymptotic p-values would be meaningless).
MIN_ROWS = 20
#: The significance level ``drift`` is decided at unless told.
DEFAULT_LEVEL = 0.05
#: At most this many calibration rows are kept in a model file for the test.
MAX_REFERENCE_ROWS = 10_000


@dataclass(frozen=True)
class DriftReference:
    """What the drift test needs from the calibration rows.

    Attributes
    ----------
    method : str
        The score method the scores and parts are of.
    scores : np.ndarray of shape (n,)
        Anomaly scores of the calibration rows.
    parts : np.ndarray of shape (n, n_columns)
        Their per-column contributions (each row sums to its score).
    source : str or None
        Where the rows come from: ``"calibration_split"``, ``"validation"`` (the early-
        stopping rows) or ``"calibrate"``.
    counts : tuple or None
        Per column, a categorical column's counts of each category (the rare bucket
        last) and of gaps among the rows (None for other columns): frequencies, not rows.
    """

    method: str
    scores: np.ndarray
    parts: np.ndarray
    source: str | None = None
    counts: tuple[np.ndarray | None, ...] | None = None

    @property
    def n_rows(self) -> int:
        return int(self.scores.shape[0])


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: its shift (signed KS distance of its score share, in
    ``[-1, 1]``) and the p-value of no change."""

    column: str
    p_value: float
    shift: float


@dataclass
class DriftResult:
    """The drift test of one batch.

    Attributes
    ----------
    drift : bool
        ``p_value <= level``.
    p_value : float or None
        The batch's p-value (None with fewer than :data:`MIN_ROWS` rows).
    n_rows : int
        Rows tested.
    level : float
    score_p_value : float or None
        The score test's own p-value.
    columns : list of ColumnDrift
        Sorted by the size of the shift, largest first.
    n_skipped : int
        Rows that could not be read (and were left out).
    """

    drift: bool
    p_value: float | None
    n_rows: int
    level: float
    score_p_value: float | None
    columns: list[ColumnDrift] = field(default_factory=list)
    n_skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``drift``, ``p_value``, ``n_rows``, ``level``,
        ``score_p_value``, ``n_skipped`` and ``columns`` (``column``, ``p_value``,
        ``shift``)."""
        return {"drift": bool(self.drift), "p_value": self.p_value, "n_rows": self.n_rows,
                "level": self.level, "score_p_value": self.score_p_value,
                "n_skipped": self.n_skipped,
                "columns": [{"column": c.column, "p_value": c.p_value, "shift": c.shift}
                            for c in self.columns]}


def score_p_value(reference: np.ndarray, batch: np.ndarray) -> float:
    """One-sided p-value that the batch's conformal p-values are uniform, against their
    being too small (the batch scores higher than the calibration rows).

    With ``n`` calibration scores ``c`` and ``m`` batch scores ``s``,
    ``U = sum_ij [s_i > c_j] + [s_i = c_j] / 2`` and the batch's mean conformal p-value
    is ``(1 + n - U / m) / (n + 1)``. Under exchangeability ``E U = nm / 2`` and
    ``Var U = nm / 12 (n + m + 1 - sum_t (t^3 - t) / ((n + m)(n + m - 1)))`` (``t`` the
    sizes of tied groups); ``p = 1 - Phi((U - nm/2 - 1/2) / sd U)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(size=500)
    >>> score_p_value(reference, rng.normal(size=200)) > 0.05
    True
    >>> score_p_value(reference, rng.normal(0.5, size=200)) < 1e-6
    True
    """
    reference = np.asarray(reference, dtype=np.float64)
    batch = np.asarray(batch, dtype=np.float64)
    return float(stats.mannwhitneyu(batch, reference, alternative="greater",
                                    method="asymptotic").pvalue)


def ks_p_value(distance: np.ndarray, n: int, m: int) -> np.ndarray:
    """Asymptotic two-sided p-value of a two-sample Kolmogorov-Smirnov distance ``D``.

    ``p = Q((e + 0.12 + 0.11 / e) D)`` with ``e = sqrt(nm / (n + m))`` and
    ``Q(x) = 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2)`` (Stephens' small-sample correction).
    Conservative when the values have ties.

    >>> float(ks_p_value(np.array([0.0]), 100, 100)[0])
    1.0
    >>> bool(ks_p_value(np.array([0.3]), 100, 100)[0] < 0.001)
    True
    """
    e = np.sqrt(n * m / (n + m))
    return np.clip(special.kolmogorov((e + 0.12 + 0.11 / e) * np.asarray(distance)), 0, 1)


def signed_ks(reference: np.ndarray, batch: np.ndarray) -> float:
    """The signed two-sample KS distance of one column: ``D+ = max_x F_ref(x) -
    F_batch(x)`` (the batch larger) when ``D+ >= D-``, else ``-D-``.

    >>> signed_ks(np.arange(10.0), np.arange(10.0) + 5)
    0.5
    """
    reference = np.sort(np.asarray(reference, dtype=np.float64))
    batch = np.sort(np.asarray(batch, dtype=np.float64))
    points = np.concatenate([reference, batch])
    gap = (np.searchsorted(reference, points, side="right") / reference.size
           - np.searchsorted(batch, points, side="right") / batch.size)
    d_plus, d_minus = max(float(gap.max()), 0.0), max(float(-gap.min()), 0.0)
    return d_plus if d_plus >= d_minus else -d_minus


def column_shifts(reference_parts: np.ndarray, batch_parts: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the signed KS distance (:func:`signed_ks`) of its contributions in the
    batch against the calibration rows, and the p-value of ``|D|`` (:func:`ks_p_value`).

    Returns
    -------
    shift, p_value : np.ndarray of shape (n_columns,)
    """
    reference_parts = np.asarray(reference_parts, dtype=np.float64)
    batch_parts = np.asarray(batch_parts, dtype=np.float64)
    shift = np.array([signed_ks(reference_parts[:, j], batch_parts[:, j])
                      for j in range(reference_parts.shape[1])])
    return shift, ks_p_value(np.abs(shift), len(reference_parts), len(batch_parts))


def frequency_test(reference: np.ndarray, batch: np.ndarray, min_count: int = 10
                   ) -> tuple[float, float]:
    """Total variation distance and chi-square p-value between two count vectors of the
    same categories.

    ``TV = 1/2 sum_k |r_k / n - b_k / m|``; the chi-square test of homogeneity of the
    2 x K table, with the categories of fewer than ``min_count`` rows in both together
    pooled into one (so that no expected count is tiny), on ``K' - 1`` degrees of freedom.

    >>> tv, p = frequency_test(np.array([500, 300, 200]), np.array([50, 30, 20]))
    >>> round(tv, 3), p > 0.99
    (0.0, True)
    >>> frequency_test(np.array([500, 300, 200]), np.array([80, 10, 10]))[1] < 1e-6
    True
    """
    reference = np.asarray(reference, dtype=np.float64)
    batch = np.asarray(batch, dtype=np.float64)
    n, m = reference.sum(), batch.sum()
    if n == 0 or m == 0:
        return 0.0, 1.0
    tv = 0.5 * float(np.abs(reference / n - batch / m).sum())
    small = reference + batch < min_count
    table = np.vstack([reference[~small], batch[~small]])
    if small.any():
        table = np.hstack([table, [[reference[small].sum()], [batch[small].sum()]]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return tv, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return tv, float(stats.chi2.sf(chi2, table.shape[1] - 1))


def combine(p_values: Sequence[float] | np.ndarray,
            weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Weighted Bonferroni combination of ``k`` p-values: ``min(1, min_i p_i / w_i)`` with
    weights ``w_i >= 0``, ``sum_i w_i <= 1`` (equal weights ``1 / k`` unless told, i.e.
    ``min(1, k min_i p_i)``): a valid p-value of "no test rejects" whatever their
    dependence.

    Under the null each ``p_i`` is super-uniform, so by the union bound
    ``P(min_i p_i / w_i <= a) <= sum_i P(p_i <= w_i a) <= a sum_i w_i <= a``.

    Examples
    --------
    >>> combine([0.01, 0.5, 0.9])
    0.03
    >>> combine([0.01, 0.5], weights=[0.5, 0.25])
    0.02
    """
    p = np.asarray(p_values, dtype=np.float64)
    if weights is None:
        return float(min(1.0, p.size * p.min()))
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != p.shape or (w < 0).any() or w.sum() > 1 + 1e-12:
        raise ValueError(f"weights {w.tolist()}: expected one non-negative weight per "
                         "p-value, summing to at most 1")
    with np.errstate(divide="ignore"):
        ratios = np.where(w > 0, p / np.where(w > 0, w, 1.0), np.inf)
    return float(min(1.0, ratios.min()))


def check_level(level: float) -> float:
    """``level`` as a float in ``(0, 1)``, or a ValueError."""
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level {level!r}: expected a significance level in (0, 1), e.g. "
                         "0.05")
    return float(level)


def drift_test(reference: DriftReference, scores: np.ndarray, parts: np.ndarray,
               names: Sequence[str], level: float = DEFAULT_LEVEL, n_skipped: int = 0,
               counts: Sequence[np.ndarray | None] | None = None) -> DriftResult:
    """Test a batch's scores and per-column parts against the calibration rows'.

    Parameters
    ----------
    reference : DriftReference
    scores : np.ndarray of shape (m,)
    parts : np.ndarray of shape (m, n_columns)
    names : sequence of str
        The columns' names (``codec_.names``).
    level : float, default=0.05
    n_skipped : int
        Rows left out before the test (reported).
    counts : sequence or None
        The batch's category counts per column (as ``reference.counts``). A categorical
        column with counts on both sides is also tested on its frequencies
        (:func:`frequency_test`); its shift is the larger of the share's KS distance and
        the frequencies' total variation distance (positive), and its own p-value (the
        column's test alone) ``min(1, 2 min(p_share, p_frequency))``.

    Notes
    -----
    The batch's p-value counts every test once: with ``c`` categorical columns tested on
    their frequencies, ``K = 1 + n_columns + c`` tests and
    ``p = min(1, K min(p_score, p_share_1 .. p_share_n, p_frequency_1 .. p_frequency_c))``
    (:func:`combine`, equal weights ``1 / K``), so its level is at most ``level`` whatever
    the tests' dependence. A frequency test is thus paid for once, ``K`` times, not twice
    (``2`` within its column, then ``1 + n_columns`` over the columns).

    Returns
    -------
    DriftResult
        With fewer than :data:`MIN_ROWS` rows: no p-values and ``drift`` False.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> parts = rng.gamma(2.0, size=(1000, 3))
    >>> reference = DriftReference("elbo", parts.sum(axis=1), parts)
    >>> moved = rng.gamma(2.0, size=(300, 3)) * [1.0, 1.6, 1.0]
    >>> result = drift_test(reference, moved.sum(axis=1), moved, ["a", "b", "c"])
    >>> result.drift, result.columns[0].column
    (True, 'b')
    """
    level = check_level(level)
    n_rows = len(scores)
    if n_rows < MIN_ROWS:
        return DriftResult(False, None, n_rows, level, None, [], n_skipped)
    p_score = score_p_value(reference.scores, scores)
    shift, p_columns = column_shifts(reference.parts, parts)
    tests = [p_score, *p_columns]
    if counts is not None and reference.counts is not None:
        for j, (ref_counts, batch_counts) in enumerate(zip(reference.counts, counts,
                                                           strict=True)):
            if ref_counts is None or batch_counts is None:
                continue
            tv, p_frequency = frequency_test(ref_counts, batch_counts)
            tests.append(p_frequency)
            p_columns[j] = min(1.0, 2 * min(p_columns[j], p_frequency))
            if tv > abs(shift[j]):
                shift[j] = tv
    p_value = combine(tests)
    order = np.argsort(-np.abs(shift), kind="stable")
    columns = [ColumnDrift(str(names[j]), float(p_columns[j]), float(shift[j])) for j in order]
    return DriftResult(bool(p_value <= level), p_value, n_rows, level, p_score, columns,
                       n_skipped)


def reference_rows(n_rows: int, rng: np.random.Generator,
                   max_rows: int = MAX_REFERENCE_ROWS) -> np.ndarray:
    """The calibration rows kept for the test: all of them, or a sorted uniform sample of
    ``max_rows``."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def periods(times: pd.Series, every: str) -> list[tuple[pd.Timestamp, np.ndarray]]:
    """The rows of each period of ``every`` (any pandas offset: ``"1d"``, ``"6h"``,
    ``"W"``, ``"MS"``), in time order, as ``(period start, row positions)``; rows without
    a time are in none. Empty periods are kept (with no rows).

    Examples
    --------
    >>> times = pd.Series(pd.to_datetime(["2024-01-01 05:00", "2024-01-03 00:00",
    ...                                   "2024-01-01 00:00"]))
    >>> [(str(start.date()), rows.tolist()) for start, rows in periods(times, "1d")]
    [('2024-01-01', [0, 2]), ('2024-01-02', []), ('2024-01-03', [1])]
    """
    if isinstance(every, str) and re.fullmatch(r"\d*d", every):
        every = every[:-1] + "D"  # pandas spells a day "D"; "1d" is what people type
    try:
        offset = pd.tseries.frequencies.to_offset(every)
    except ValueError:
        raise ValueError(f"every {every!r}: not a pandas offset; use e.g. 1d, 6h, W or MS"
                         ) from None
    stamps = pd.Series(pd.DatetimeIndex(times), index=np.arange(len(times)))
    known = stamps.dropna()
    if known.empty:
        return []
    groups = pd.Series(known.index.to_numpy(), index=pd.DatetimeIndex(known.to_numpy()))
    return [(start, np.sort(rows.to_numpy()))
            for start, rows in groups.groupby(pd.Grouper(freq=offset))]
