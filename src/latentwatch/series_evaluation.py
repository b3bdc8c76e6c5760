"""Metrics of scores on a labelled time series, where anomalies are intervals.

Point-wise metrics treat every step alone; a fault is an interval of steps, and an
operator cares whether each interval raised an alarm and how many alarms were false.
Point-adjusted F1 (a whole interval counts as found when any of its steps is flagged) is
left out: it makes random scores look state of the art (Kim et al., AAAI 2022). Reported:

* ``auc_pr``: average precision of the step scores (threshold-free, point-wise);
* ``vus_pr``: the volume under the range-PR surface (Paparrizos et al., VLDB 2022): the
  mean over buffer lengths ``l = 0 .. max_buffer`` of the range-AUC-PR, where each
  labelled interval gets soft labels ``sqrt(1 - d / (l/2 + 1))`` on the ``l/2`` steps
  ``d`` away from it on each side, and at each threshold ``recall = existence * sum(pred
  * soft) / sum(soft)`` (``existence``: the share of intervals with an alarm) and
  ``precision = sum(pred * soft) / sum(pred)`` (see :func:`range_pr_auc`);
* at a threshold: ``event_recall`` (share of labelled intervals with at least one alarm
  inside), ``false_alarms_per_1000`` (flagged normal steps per 1,000 steps: the rate a
  ``false_alarm_rate`` threshold bounds, times 1,000), and point-wise precision, recall,
  F1, ``far`` (false alarm rate: flagged share of the normal steps) and ``mar`` (missing
  alarm rate: unflagged share of the anomalous steps), SKAB's measures;
* ``event_recall_at_1_per_1000``: event recall at the lowest threshold that gives at most
  1 false alarm per 1,000 steps (an oracle threshold: it reads the labels, as AUC-PR
  does; it compares rankings, not the model's own threshold).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

# Thresholds tried by the range-PR curves: this many score quantiles.
RANGE_THRESHOLDS = 250


def events(labels: np.ndarray) -> list[tuple[int, int]]:
    """The labelled intervals ``[start, end)`` (maximal runs of 1s), in order.

    Examples
    --------
    >>> events(np.array([0, 1, 1, 0, 1]))
    [(1, 3), (4, 5)]
    """
    y = np.concatenate([[0], np.asarray(labels, dtype=int) != 0, [0]]).astype(int)
    edges = np.flatnonzero(np.diff(y))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def event_recall(labels: np.ndarray, alarms: np.ndarray) -> float | None:
    """Share of labelled intervals with at least one alarm inside (None without any)."""
    found = [bool(np.any(alarms[a:b])) for a, b in events(labels)]
    return float(np.mean(found)) if found else None


def false_alarms_per_1000(labels: np.ndarray, alarms: np.ndarray) -> float:
    """``1000 * #(alarm and normal) / n_steps``."""
    labels, alarms = np.asarray(labels) != 0, np.asarray(alarms, dtype=bool)
    return 1000.0 * float(np.sum(alarms & ~labels)) / max(1, len(labels))


def soft_labels(labels: np.ndarray, buffer: int) -> np.ndarray:
    """1 inside each interval, ``sqrt(1 - d / (buffer//2 + 1))`` at distance ``d <=
    buffer//2`` outside it, 0 elsewhere (the largest value where buffers meet)."""
    y = (np.asarray(labels) != 0).astype(np.float64)
    half = buffer // 2
    if half == 0:
        return y
    out = y.copy()
    n = len(y)
    for a, b in events(labels):
        for d in range(1, half + 1):
            value = np.sqrt(1.0 - d / (half + 1))
            if a - d >= 0:
                out[a - d] = max(out[a - d], value)
            if b - 1 + d < n:
                out[b - 1 + d] = max(out[b - 1 + d], value)
    return out


def range_pr_auc(labels: np.ndarray, scores: np.ndarray, buffer: int) -> float:
    """Range-AUC-PR with a buffer of ``buffer`` steps (see the module docstring).

    The area under ``(recall, precision)`` by the trapezoid rule over ``RANGE_THRESHOLDS``
    score quantiles, with the point ``(0, 1)`` added.
    """
    soft = soft_labels(labels, buffer)
    intervals = events(labels)
    scores = np.asarray(scores, dtype=np.float64)
    cuts = np.unique(np.quantile(scores, np.linspace(0, 1, RANGE_THRESHOLDS)))
    recall, precision = [0.0], [1.0]
    starts = np.array([a for a, _ in intervals])
    ends = np.array([b for _, b in intervals])
    for cut in cuts[::-1]:
        pred = scores >= cut
        cumulative = np.concatenate([[0], np.cumsum(pred)])
        hits = cumulative[ends] - cumulative[starts]
        existence = float(np.mean(hits > 0)) if len(hits) else 0.0
        tp = float(np.sum(pred * soft))
        recall.append(existence * tp / max(soft.sum(), 1e-300))
        precision.append(tp / max(pred.sum(), 1))
    order = np.argsort(recall, kind="stable")
    r, p = np.asarray(recall)[order], np.asarray(precision)[order]
    return float(np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2))


def vus_pr(labels: np.ndarray, scores: np.ndarray, max_buffer: int) -> float:
    """Mean of :func:`range_pr_auc` over the buffers ``0, 2, 4, ..., max_buffer``."""
    buffers = range(0, max(0, int(max_buffer)) + 1, 2)
    return float(np.mean([range_pr_auc(labels, scores, b) for b in buffers]))


def threshold_at_false_alarms(labels: np.ndarray, scores: np.ndarray,
                              per_1000: float = 1.0) -> float:
    """The lowest threshold whose alarms (``score > threshold``) give at most
    ``per_1000`` false alarms per 1,000 steps (oracle: it reads the labels)."""
    labels = np.asarray(labels) != 0
    normal = np.sort(np.asarray(scores, dtype=np.float64)[~labels])[::-1]
    allowed = int(np.floor(per_1000 * len(labels) / 1000.0))
    if allowed >= len(normal):
        return -np.inf
    return float(normal[allowed])


@dataclass(frozen=True)
class SeriesEvaluation:
    """Metrics of step scores against labelled intervals (see the module docstring)."""

    n_steps: int
    n_anomalous_steps: int
    n_events: int
    auc_pr: float | None
    vus_pr: float | None
    max_buffer: int
    event_recall_at_1_per_1000: float | None
    event_recall: float | None
    false_alarms_per_1000: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    far: float | None
    mar: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def table(self) -> str:
        """The metrics as aligned ``label  value`` lines."""
        def number(value: Any) -> str:
            if value is None:
                return "-"
            return f"{value:.4g}" if isinstance(value, float) else f"{value:,}"

        labels = {
            "n_steps": "steps", "n_anomalous_steps": "anomalous steps",
            "n_events": "labelled intervals", "auc_pr": "AUC-PR (steps)",
            "vus_pr": "VUS-PR (range-aware)", "max_buffer": "VUS buffer up to (steps)",
            "event_recall_at_1_per_1000": "event recall at 1 false alarm / 1,000 steps",
            "event_recall": "event recall at the threshold",
            "false_alarms_per_1000": "false alarms / 1,000 steps at the threshold",
            "precision": "precision (steps)", "recall": "recall (steps)", "f1": "F1 (steps)",
            "far": "FAR (false alarm rate)", "mar": "MAR (missing alarm rate)",
        }
        width = max(len(v) for v in labels.values())
        return "\n".join(f"{labels[k]:<{width}}  {number(v)}" for k, v in self.to_dict().items())


def evaluate_series(labels: Any, scores: Any, alarms: Any = None,
                    max_buffer: int = 20) -> SeriesEvaluation:
    """Series metrics of ``scores`` (higher = more anomalous) against 0/1 ``labels``.

    Parameters
    ----------
    labels : array-like of shape (n_steps,)
    scores : array-like of shape (n_steps,)
    alarms : array-like of bool or None
        The alarms at the model's threshold; None leaves the threshold metrics out.
    max_buffer : int, default=20
        Largest buffer of the VUS-PR (e.g. the window length).

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 0, 0, 0, 0])
    >>> result = evaluate_series(y, y + 0.1 * np.arange(8) / 8, y == 1, max_buffer=2)
    >>> result.event_recall, result.false_alarms_per_1000, result.f1
    (1.0, 0.0, 1.0)
    """
    y = np.asarray(labels) != 0
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(y.sum())
    has_both = 0 < n_pos < len(y)
    cut = threshold_at_false_alarms(y, s) if has_both else None
    out: dict[str, Any] = {
        "n_steps": len(y), "n_anomalous_steps": n_pos, "n_events": len(events(y)),
        "auc_pr": float(average_precision_score(y, s)) if has_both else None,
        "vus_pr": vus_pr(y, s, max_buffer) if has_both else None,
        "max_buffer": int(max_buffer),
        "event_recall_at_1_per_1000": event_recall(y, s > cut) if has_both else None,
    }
    if alarms is None:
        out.update(event_recall=None, false_alarms_per_1000=None, precision=None,
                   recall=None, f1=None, far=None, mar=None)
        return SeriesEvaluation(**out)
    a = np.asarray(alarms, dtype=bool)
    tp, fp = int(np.sum(a & y)), int(np.sum(a & ~y))
    fn, tn = int(np.sum(~a & y)), int(np.sum(~a & ~y))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / n_pos if n_pos else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall > 0 else
          (0.0 if precision is not None and recall is not None else None))
    out.update(event_recall=event_recall(y, a), false_alarms_per_1000=false_alarms_per_1000(y, a),
               precision=precision, recall=recall, f1=f1,
               far=fp / (fp + tn) if fp + tn else None, mar=fn / n_pos if n_pos else None)
    return SeriesEvaluation(**out)
