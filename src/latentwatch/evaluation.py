"""Evaluate a detector against labels: ranking quality and the quality of its threshold.

:func:`evaluate` scores labelled rows with a fitted detector; :func:`evaluate_scores`
does the arithmetic on plain arrays. Both return an :class:`Evaluation`, which prints
as a readable table and converts to JSON.

Labels follow the benchmark convention: ``1`` (or ``True``) marks an anomaly, ``0`` a
normal row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from latentwatch.thresholds import describe_threshold

# Alert rates of the operating-point table: alerts per 10,000 rows.
ALERTS_PER_10000 = (10, 25, 50, 100, 200, 500, 1000)


@dataclass(frozen=True)
class OperatingPoint:
    """The detection quality at one threshold: rows with ``score > threshold`` are flagged.

    Attributes
    ----------
    threshold : float
        The score above which a row is flagged.
    alerts_per_10000 : float
        Flagged rows per 10,000 rows of the evaluated data.
    precision, recall, false_alarm_rate : float or None
        As in :class:`Evaluation`, at this threshold.
    flagged : int
        Rows flagged.
    source : str
        ``"model"`` for the model's own threshold, else ``"alert rate"``.
    """

    threshold: float
    alerts_per_10000: float
    precision: float | None
    recall: float | None
    false_alarm_rate: float | None
    flagged: int
    source: str = "alert rate"


def operating_points(y_true: Any, scores: Any, model_threshold: float | None = None,
                     alerts: tuple[float, ...] = ALERTS_PER_10000) -> list[OperatingPoint]:
    """Precision, recall and false-alarm rate at thresholds that flag about ``a`` rows per
    10,000 for each ``a`` in ``alerts`` (the threshold is the ``(m + 1)``-th highest score,
    ``m = max(1, round(n * a / 10000))``; ties flag fewer), and at ``model_threshold``.

    Sorted by threshold, highest first; a threshold reached twice is listed once.

    Examples
    --------
    >>> points = operating_points([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9], alerts=(2500,))
    >>> points[0].threshold, points[0].recall, points[0].false_alarm_rate
    (0.3, 1.0, 0.0)
    """
    y = binary_labels(y_true)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    ranked = np.sort(scores)[::-1]
    n = len(scores)
    cuts: dict[float, str] = {}
    for rate in alerts:
        m = max(1, round(n * rate / 10_000))
        cuts.setdefault(float(ranked[m]) if m < n else float(ranked[-1]) - 1.0, "alert rate")
    if model_threshold is not None:
        cuts[float(model_threshold)] = "model"
    points = []
    for cut in sorted(cuts, reverse=True):
        flagged = scores > cut
        tp = int(np.sum(flagged & (y == 1)))
        fp = int(np.sum(flagged & (y == 0)))
        points.append(OperatingPoint(
            threshold=cut, alerts_per_10000=10_000 * float(flagged.mean()),
            precision=_ratio(tp, tp + fp), recall=_ratio(tp, int(y.sum())),
            false_alarm_rate=_ratio(fp, int((y == 0).sum())), flagged=int(flagged.sum()),
            source=cuts[cut]))
    return points


def operating_table(points: list[OperatingPoint]) -> str:
    """The operating points as a plain-text table."""
    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    header = ("threshold", "alerts/10k", "flagged", "precision", "recall", "false-alarm rate",
              "")
    rows = [header] + [(f"{p.threshold:.6g}", f"{p.alerts_per_10000:.1f}", f"{p.flagged}",
                        number(p.precision), number(p.recall), number(p.false_alarm_rate),
                        "<- the model's threshold" if p.source == "model" else "")
                       for p in points]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i < 6 else cell
                                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
                                ).rstrip() for r in rows)


@dataclass(frozen=True)
class Evaluation:
    """Detection metrics of scored, labelled rows.

    Attributes
    ----------
    n_rows, n_anomalies, n_flagged : int
        Rows, labelled anomalies, rows flagged by the threshold.
    auc_roc : float or None
        Area under the ROC curve of the scores; None with a single class.
    auc_pr : float or None
        Area under the precision-recall curve (average precision); None without
        anomalies.
    precision, recall, f1 : float or None
        Of the flagged rows, at the model's threshold; None where undefined (nothing
        flagged, no anomalies).
    false_alarm_rate : float or None
        Share of the normal rows that were flagged: what a ``false_alarm_rate``
        threshold promises to bound.
    k : int
        Rank cut-off for ``precision_at_k`` (by default the number of anomalies).
    precision_at_k : float or None
        Share of anomalies among the ``k`` highest-scored rows (ties by row order).
    true_positives, false_positives, true_negatives, false_negatives : int
        The confusion counts at the threshold (positive = anomaly).
    threshold : str
        What the threshold means.
    """

    n_rows: int
    n_anomalies: int
    n_flagged: int
    auc_roc: float | None
    auc_pr: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    false_alarm_rate: float | None
    k: int
    precision_at_k: float | None
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    threshold: str = ""
    operating_points: tuple[OperatingPoint, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The metrics as a JSON-able dict (undefined metrics are None)."""
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The metrics as a JSON document."""
        return json.dumps(self.to_dict(), indent=indent)

    def rows(self) -> list[tuple[str, str]]:
        """``(label, formatted value)`` pairs, in the order of the table."""
        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.4f}"

        return [
            ("rows", f"{self.n_rows}"),
            ("labelled anomalies", f"{self.n_anomalies}"),
            ("AUC-ROC", number(self.auc_roc)),
            ("AUC-PR (average precision)", number(self.auc_pr)),
            ("threshold", self.threshold or "n/a"),
            ("flagged", f"{self.n_flagged}"),
            ("precision at threshold", number(self.precision)),
            ("recall at threshold", number(self.recall)),
            ("F1 at threshold", number(self.f1)),
            ("false-alarm rate (normal rows flagged)", number(self.false_alarm_rate)),
            (f"precision at k={self.k}", number(self.precision_at_k)),
            ("true positives (anomalies flagged)", f"{self.true_positives}"),
            ("false positives (normal rows flagged)", f"{self.false_positives}"),
            ("true negatives (normal rows passed)", f"{self.true_negatives}"),
            ("false negatives (anomalies missed)", f"{self.false_negatives}"),
        ]

    def table(self) -> str:
        """A readable two-column plain-text table, then the operating points (if any)."""
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        text = "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
        if self.operating_points:
            text += ("\n\noperating points (rows with score > threshold flagged; fit "
                     "--threshold alerts:N/10000 sets the threshold from a budget of N alerts "
                     "per 10,000 normal rows):\n" + operating_table(
                         list(self.operating_points)))
        return text

    def __str__(self) -> str:
        return self.table()


def binary_labels(y: Any, name: str = "labels") -> np.ndarray:
    """``y`` as a 0/1 integer array (1 = anomaly).

    Raises
    ------
    ValueError
        When ``y`` holds missing values or anything other than 0/1 or booleans.
    """
    values = pd.Series(np.asarray(y).ravel())
    if values.isna().any():
        raise ValueError(f"{name} has {int(values.isna().sum())} missing values")
    if values.dtype == bool:
        return values.to_numpy(dtype=np.int64)
    numeric = pd.to_numeric(values, errors="coerce")
    found = set(np.unique(values.astype(str)))
    if numeric.isna().any() or not set(np.unique(numeric)) <= {0, 1}:
        shown = ", ".join(sorted(found)[:5]) + (", ..." if len(found) > 5 else "")
        raise ValueError(f"{name} must hold 0/1 or true/false (1 = anomaly), found: {shown}")
    return numeric.to_numpy(dtype=np.int64)


def evaluate_scores(
    y_true: Any,
    scores: Any,
    flagged: Any,
    k: int | None = None,
    threshold: str = "",
    model_threshold: float | None = None,
) -> Evaluation:
    """Metrics of anomaly scores and threshold decisions against labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 (or True) for anomalies, 0 for normal rows.
    scores : array-like of shape (n_samples,)
        Anomaly scores, higher = more anomalous.
    flagged : array-like of bool of shape (n_samples,)
        The threshold's decisions (True = flagged as anomaly).
    k : int or None, default=None
        Cut-off for precision at k; None uses the number of anomalies (at least 1).
    threshold : str, default=""
        A description of the threshold, carried into the result.
    model_threshold : float or None
        The model's threshold score, marked in the operating points.

    Returns
    -------
    Evaluation
    """
    y = binary_labels(y_true)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    flagged = np.asarray(flagged, dtype=bool).ravel()
    if not len(y) == len(scores) == len(flagged):
        raise ValueError(f"labels ({len(y)}), scores ({len(scores)}) and decisions "
                         f"({len(flagged)}) differ in length")
    if len(y) == 0:
        raise ValueError("no rows to evaluate")
    n_anomalies = int(y.sum())
    both_classes = 0 < n_anomalies < len(y)
    k = max(1, n_anomalies) if k is None else int(k)
    if not 1 <= k <= len(y):
        raise ValueError(f"k must be between 1 and the number of rows ({len(y)}), got {k}")
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    tn = int(np.sum(~flagged & (y == 0)))
    fn = int(np.sum(~flagged & (y == 1)))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = (None if precision is None or recall is None
          else 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    top = np.argsort(-scores, kind="stable")[:k]
    return Evaluation(
        n_rows=len(y),
        n_anomalies=n_anomalies,
        n_flagged=int(flagged.sum()),
        auc_roc=float(roc_auc_score(y, scores)) if both_classes else None,
        auc_pr=float(average_precision_score(y, scores)) if n_anomalies else None,
        precision=precision,
        recall=recall,
        f1=f1,
        false_alarm_rate=_ratio(fp, fp + tn),
        k=k,
        precision_at_k=float(y[top].mean()) if n_anomalies else None,
        true_positives=tp,
        false_positives=fp,
        true_negatives=tn,
        false_negatives=fn,
        threshold=threshold,
        operating_points=tuple(operating_points(y, scores, model_threshold)),
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def evaluate(model: Any, X: Any, y: Any, k: int | None = None) -> Evaluation:
    """Score labelled rows with a fitted detector and measure how well it finds anomalies.

    Works for every model kind (autoencoder or VAE; fitted on an array, a numeric
    DataFrame or a mixed-type table): the scores are ``model.anomaly_score(X)`` and the
    decisions ``model.predict(X)``, the public API.

    Parameters
    ----------
    model : AutoEncoderDetector or VAEDetector
        A fitted detector; its ``predict`` (its threshold strategy) gives the decisions.
    X : pandas.DataFrame or array-like of shape (n_samples, n_columns)
        Rows to score, as the model reads them (a DataFrame with its columns, or an array
        with one column per column).
    y : array-like of shape (n_samples,)
        1 (or True) for anomalies, 0 for normal rows.
    k : int or None, default=None
        Cut-off for precision at k; None uses the number of anomalies.

    Returns
    -------
    Evaluation

    Raises
    ------
    latentwatch.DataError
        When a row cannot be scored (the message names it); the HTML report instead
        lists such rows and evaluates the others.
    sklearn.exceptions.NotFittedError
        When the threshold needs ``calibrate`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
    >>> y = np.r_[np.zeros(45, int), np.ones(5, int)]
    >>> evaluate(model, np.r_[X[:45], X[:5] + 8], y).auc_roc > 0.9
    True
    """
    scores = model.anomaly_score(X)
    flagged = model.predict(X) == -1
    offset = getattr(model, "offset_", None)
    return evaluate_scores(y, scores, flagged, k=k, threshold=describe_threshold(model),
                           model_threshold=None if offset is None else -offset)
