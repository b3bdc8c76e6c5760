"""Threshold strategies: where a detector draws the line between normal and anomalous.

A detector's ``threshold`` parameter takes one of three strategies; each says what its
threshold *means*:

``Contamination(share)``
    Flag that share of the training rows: the ``share`` quantile of the training
    scores, as IsolationForest and PyOD do. It assumes you know how polluted the
    training data are.
``FalseAlarmRate(rate)``
    Flag at most ``rate`` of *normal* rows, with the finite-sample guarantee of split
    conformal prediction. The threshold is calibrated on normal rows the network never
    trained on: a calibration split taken in ``fit`` (``calibration_fraction``), or
    rows passed to ``calibrate(X_normal)``.
``LogLikelihood(min_log_likelihood)``
    :class:`~latentwatch.VAEDetector` only: flag rows whose reconstruction
    log-probability ``log p(x)`` (in nats, of the standardised row) is below a fixed
    value.

Split conformal p-values
------------------------
Given ``n`` calibration scores ``c_1..c_n`` of normal rows (higher = more anomalous),
the conformal p-value of a new row with score ``s`` is

``p(s) = (1 + #{i : c_i >= s}) / (n + 1)``.

If the new row is normal, i.e. exchangeable with the calibration rows (drawn from the
same distribution, and neither influenced the fitted model), then
``P(p(s) <= alpha) <= alpha`` for every ``alpha``, whatever the score distribution and
however small ``n``: the rank of ``s`` among the ``n + 1`` scores is uniform.
Flagging the rows with ``p(s) <= alpha`` is the same as flagging ``s > t`` with
``t`` the ``k``-th largest calibration score, ``k = floor(alpha * (n + 1))``; normal
rows are then flagged with probability exactly ``k / (n + 1) <= alpha`` (less with
ties). The guarantee is on average over calibration sets: for one fixed calibration
set the false-alarm rate is ``Beta(k, n + 1 - k)`` distributed around ``k / (n + 1)``,
so larger calibration sets make it tighter. With ``n + 1 < 1 / alpha`` no threshold
can keep the promise; calibration then fails with an error instead of flagging nothing.

Every strategy is a small frozen dataclass, JSON-able with :func:`threshold_to_dict`
and :func:`threshold_from_dict`; :func:`make_threshold` also reads the compact text
form used on the command line (``"false_alarm_rate:0.01"``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class ThresholdStrategy:
    """Base class of the threshold strategies (see the module docstring)."""

    kind: ClassVar[str] = ""

    def describe(self) -> str:
        """A one-line, human-readable statement of what the threshold means."""
        raise NotImplementedError


@dataclass(frozen=True)
class Contamination(ThresholdStrategy):
    """Flag the ``share`` of the training rows with the highest scores.

    Parameters
    ----------
    share : float in (0, 0.5]
        Expected share of anomalies in the training data. The threshold is the
        ``1 - share`` quantile of the training anomaly scores.
    """

    share: float
    kind: ClassVar[str] = "contamination"

    def __post_init__(self) -> None:
        _check_share(self.share, "share", upper=0.5, upper_closed=True)

    def describe(self) -> str:
        return f"contamination: flags the top {self.share:.4g} share of the training rows"


@dataclass(frozen=True)
class FalseAlarmRate(ThresholdStrategy):
    """Flag at most ``rate`` of normal rows, calibrated by split conformal prediction.

    Parameters
    ----------
    rate : float in (0, 1)
        Target false-alarm rate: the probability that a fresh normal row is flagged
        stays at or below it (on average over calibration sets; see the module
        docstring).
    calibration_fraction : float in [0, 1), default=0.1
        Share of the rows that ``fit`` sets aside for calibration: they are used
        neither for training nor for early stopping, so their scores are exchangeable
        with those of fresh normal rows. ``0`` takes no split: the model then refuses
        to ``predict`` until ``calibrate(X_normal)`` is called. The training rows must
        be (nearly all) normal for the split to calibrate on normal data; anomalies in
        it make the threshold more conservative, not less.
    """

    rate: float
    calibration_fraction: float = 0.1
    kind: ClassVar[str] = "false_alarm_rate"

    def __post_init__(self) -> None:
        _check_share(self.rate, "rate", upper=1.0, upper_closed=False)
        fraction = self.calibration_fraction
        if not isinstance(fraction, int | float) or not 0.0 <= fraction < 1.0:
            raise ValueError(f"calibration_fraction must be in [0, 1), got {fraction!r}")

    def min_calibration_rows(self) -> int:
        """Fewest calibration rows with which a threshold can keep the promise."""
        return max(1, math.ceil(1.0 / self.rate - 1.0 - 1e-9))

    def describe(self) -> str:
        return (f"false_alarm_rate: flags at most {self.rate:.4g} of normal rows "
                "(split conformal)")


@dataclass(frozen=True)
class LogLikelihood(ThresholdStrategy):
    """Flag rows whose VAE reconstruction log-probability is below a fixed value.

    Parameters
    ----------
    min_log_likelihood : float
        Rows with ``log p(x) < min_log_likelihood`` are anomalies. ``log p(x)`` is the
        Monte Carlo reconstruction log-probability ``log((1/L) sum_l p(x | z_l))``
        of the standardised row, in nats, i.e. ``VAEDetector.score_samples`` with
        ``score_method="reconstruction_probability"``. It sums over features, so a
        sensible value grows with their number; look at the scores of normal rows
        (``latentwatch report``) to choose it.
    """

    min_log_likelihood: float
    kind: ClassVar[str] = "log_likelihood"

    def __post_init__(self) -> None:
        value = self.min_log_likelihood
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise ValueError(f"min_log_likelihood must be a finite number, got {value!r}")

    def describe(self) -> str:
        return (f"log_likelihood: flags rows with reconstruction log-probability below "
                f"{self.min_log_likelihood:.4g} nats")


STRATEGIES: dict[str, type[ThresholdStrategy]] = {
    cls.kind: cls for cls in (Contamination, FalseAlarmRate, LogLikelihood)
}


def _check_share(value: Any, name: str, upper: float, upper_closed: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0.0 and (
        value <= upper if upper_closed else value < upper
    )
    if not ok:
        bracket = "]" if upper_closed else ")"
        raise ValueError(f"{name} must be in (0, {upper:g}{bracket}, got {value!r}")


def threshold_to_dict(strategy: ThresholdStrategy) -> dict[str, Any]:
    """The JSON form of a strategy: ``{"kind": ..., <its fields>}``."""
    return {"kind": strategy.kind, **asdict(strategy)}


def threshold_from_dict(spec: dict[str, Any]) -> ThresholdStrategy:
    """Inverse of :func:`threshold_to_dict`.

    Raises
    ------
    ValueError
        For an unknown ``kind`` or fields the strategy does not have.
    """
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in STRATEGIES:
        raise ValueError(f"unknown threshold kind {kind!r}; expected one of {sorted(STRATEGIES)}")
    cls = STRATEGIES[kind]
    known = {f.name for f in fields(cls)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"threshold {kind!r} has no field(s) {sorted(unknown)}; "
                         f"expected {sorted(known)}")
    return cls(**spec)


def make_threshold(spec: ThresholdStrategy | dict | str) -> ThresholdStrategy:
    """A strategy from a strategy, its dict form, or its text form.

    The text form is ``"kind:value"`` with the strategy's first field as value, e.g.
    ``"contamination:0.05"``, ``"false_alarm_rate:0.01"``, ``"log_likelihood:-40"``.

    Raises
    ------
    ValueError
        When the spec names no known strategy or holds an invalid value.
    """
    if isinstance(spec, ThresholdStrategy):
        return spec
    if isinstance(spec, dict):
        return threshold_from_dict(spec)
    if isinstance(spec, str):
        kind, sep, value = spec.partition(":")
        kind = kind.strip().replace("-", "_")
        if not sep or kind not in STRATEGIES:
            raise ValueError(
                f"threshold {spec!r} is not of the form KIND:VALUE with KIND one of "
                f"{sorted(STRATEGIES)} (e.g. 'false_alarm_rate:0.01')"
            )
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"threshold {spec!r}: {value!r} is not a number") from None
        return STRATEGIES[kind](number)
    raise TypeError(f"threshold must be a ThresholdStrategy, dict or str, got {type(spec)}")


# -- split conformal maths ------------------------------------------------------------------
def conformal_p_values(calibration_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Split conformal p-values ``(1 + #{c >= s}) / (n + 1)`` of ``scores``.

    Parameters
    ----------
    calibration_scores : np.ndarray of shape (n,)
        Anomaly scores of normal calibration rows (higher = more anomalous).
    scores : np.ndarray of shape (m,)
        Anomaly scores of the rows to test.

    Returns
    -------
    np.ndarray of shape (m,)
        Values in ``[1 / (n + 1), 1]``; small = unlike the calibration rows.
    """
    calibration = np.sort(np.asarray(calibration_scores, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    at_least = calibration.size - np.searchsorted(calibration, scores, side="left")
    return (1.0 + at_least) / (calibration.size + 1.0)


def conformal_threshold(calibration_scores: np.ndarray, rate: float) -> float:
    """The score ``t`` such that ``s > t`` exactly when ``p(s) <= rate``.

    ``t`` is the ``k``-th largest calibration score with ``k = floor(rate * (n + 1))``.

    Raises
    ------
    ValueError
        When ``k = 0``: fewer than ``1 / rate - 1`` calibration scores.
    """
    calibration = np.sort(np.asarray(calibration_scores, dtype=np.float64))
    n = calibration.size
    # the small tolerance keeps e.g. rate=0.01, n=99 at k=1 despite float rounding
    k = math.floor(rate * (n + 1) + 1e-9)
    if k < 1:
        needed = FalseAlarmRate(rate).min_calibration_rows()
        raise ValueError(
            f"a false-alarm rate of {rate:g} needs at least {needed} calibration rows, got {n}"
        )
    return float(calibration[n - k])


def describe_threshold(model: Any) -> str:
    """What a fitted detector's threshold means, in one line (``threshold_`` in words)."""
    strategy = getattr(model, "threshold_", None)
    if strategy is not None:
        return strategy.describe()
    contamination = getattr(model, "contamination", "auto")
    if contamination != "auto":  # a model file written before threshold_ existed
        return Contamination(float(contamination)).describe()
    return 'contamination="auto": flags 1% of the held-out validation rows'
