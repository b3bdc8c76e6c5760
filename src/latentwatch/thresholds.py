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
from dataclasses import asdict, dataclass, field, fields
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
class AlertBudget(FalseAlarmRate):
    """Raise at most ``alerts`` alerts per ``per`` normal rows: a :class:`FalseAlarmRate`
    of ``alerts / per``, calibrated the same way (``"alerts:50/10000"`` on the command
    line).

    Parameters
    ----------
    calibration_fraction : float in [0, 1), default=0.1
        As for :class:`FalseAlarmRate`.
    alerts : float > 0, default=50
        Alerts the team can look at ...
    per : int, default=10000
        ... per this many rows (mostly normal ones: anomalies add their own alerts).

    Examples
    --------
    >>> AlertBudget(alerts=50, per=10_000).rate
    0.005
    """

    rate: float = field(init=False)
    alerts: float = 50.0
    per: int = 10_000
    kind: ClassVar[str] = "alert_budget"

    def __post_init__(self) -> None:
        alerts, per = self.alerts, self.per
        if isinstance(per, bool) or not isinstance(per, int) or per < 1:
            raise ValueError(f"per must be a positive number of rows, got {per!r}")
        if (isinstance(alerts, bool) or not isinstance(alerts, int | float)
                or not 0 < alerts < per):
            raise ValueError(f"alerts must be in (0, per={per}), got {alerts!r}")
        object.__setattr__(self, "rate", alerts / per)
        super().__post_init__()

    def describe(self) -> str:
        return (f"alert_budget: at most {self.alerts:g} alerts per {self.per:,} normal rows "
                f"(false_alarm_rate {self.rate:.4g}, split conformal)")


def parse_alert_budget(text: str) -> AlertBudget:
    """``"50/10000"`` (or ``"50"``: per 10,000 rows) -> ``AlertBudget(50, 10000)``."""
    alerts, sep, per = text.partition("/")
    try:
        return AlertBudget(alerts=float(alerts), per=int(per) if sep else 10_000)
    except ValueError as exc:
        raise ValueError(f"alert budget {text!r}: expected ALERTS/ROWS like 50/10000 "
                         f"({exc})") from None


@dataclass(frozen=True)
class LogLikelihood(ThresholdStrategy):
    """Flag rows whose VAE reconstruction log-probability is below a fixed value.

    Parameters
    ----------
    min_log_likelihood : float
        Rows with ``log p(x) < min_log_likelihood`` are anomalies. ``log p(x)`` is the
        importance-weighted estimate ``log((1/L) sum_l p(x | z_l) p(z_l) / q(z_l | x))``
        (the default score) or the reconstruction log-probability
        ``log((1/L) sum_l p(x | z_l))`` of the standardised row, in nats, i.e.
        ``VAEDetector.score_samples`` with ``score_method`` ``"importance_weighted"`` or
        ``"reconstruction_probability"``. It sums over features, so a
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
        return (f"log_likelihood: flags rows with log-probability below "
                f"{self.min_log_likelihood:.4g} nats")


@dataclass(frozen=True)
class ControlLimit(ThresholdStrategy):
    """Flag rows scoring above an upper control limit ``UCL = q + (margin - 1) * |q|``,
    with ``q`` the ``quantile`` of the validation scores (rows the network did not train
    on): ``margin * q`` for a positive score such as the reconstruction error. The default
    of a time-series model.

    SKAB's Conv-AE sets ``4/3 * q99.9`` of its training residuals. The margin leaves room
    for what a quantile of held-out rows from the training period cannot see: the slow
    drift of normal data after it, and the windows at the start of a series and after a
    hole in its timestamps, whose newest steps the model reads with less context.

    Parameters
    ----------
    margin : float >= 1, default=4/3
    quantile : float in (0, 1], default=0.99

    Examples
    --------
    >>> control_limit(np.arange(101.0), ControlLimit(margin=1.5, quantile=0.9))
    135.0
    """

    margin: float = 4.0 / 3.0
    quantile: float = 0.99
    kind: ClassVar[str] = "control_limit"

    def __post_init__(self) -> None:
        margin = self.margin
        if isinstance(margin, bool) or not isinstance(margin, int | float) or not (
                math.isfinite(margin) and margin >= 1):
            raise ValueError(f"margin must be a number >= 1, got {margin!r}")
        _check_share(self.quantile, "quantile", upper=1.0, upper_closed=True)

    def describe(self) -> str:
        return (f"control_limit: flags rows above {self.margin:.4g} x the "
                f"{100 * self.quantile:.4g}th percentile of the held-out validation rows")


def control_limit(scores: np.ndarray, strategy: ControlLimit) -> float:
    """``UCL = q + (margin - 1) * |q|``, ``q`` the strategy's quantile of ``scores`` (see
    :class:`ControlLimit`)."""
    q = float(np.quantile(np.asarray(scores, dtype=np.float64), strategy.quantile))
    return q + (strategy.margin - 1.0) * abs(q)


def series_strategy(strategy: ThresholdStrategy | None) -> ThresholdStrategy:
    """The strategy of a time-series model: ``strategy``, or a :class:`ControlLimit` for
    ``contamination="auto"`` (None)."""
    return ControlLimit() if strategy is None else strategy


STRATEGIES: dict[str, type[ThresholdStrategy]] = {
    cls.kind: cls for cls in (Contamination, FalseAlarmRate, AlertBudget, LogLikelihood,
                              ControlLimit)
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
    derived = {f.name for f in fields(cls) if not f.init}
    spec = {k: v for k, v in spec.items() if k not in derived}
    known = {f.name for f in fields(cls) if f.init}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"threshold {kind!r} has no field(s) {sorted(unknown)}; "
                         f"expected {sorted(known)}")
    return cls(**spec)


def make_threshold(spec: ThresholdStrategy | dict | str) -> ThresholdStrategy:
    """A strategy from a strategy, its dict form, or its text form.

    The text form is ``"kind:value"`` with the strategy's first field as value, e.g.
    ``"contamination:0.05"``, ``"false_alarm_rate:0.01"``, ``"log_likelihood:-40"``; an
    alert budget reads ``"alerts:50/10000"`` (or ``"alert_budget:50/10000"``).

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
        if sep and kind in ("alerts", AlertBudget.kind):
            return parse_alert_budget(value.strip())
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
    """What a fitted detector's threshold means, in one line."""
    return describe_state(getattr(model, "threshold_state_", None))


# -- a fitted threshold -------------------------------------------------------------------
# With contamination="auto", the threshold flags this share of the held-out validation rows.
AUTO_FALSE_ALARM_RATE = 0.01
# With fewer validation rows, the "auto" threshold is also at least the same quantile of
# all the rows fit saw: the 99th percentile of a few dozen rows is about their maximum's
# neighbour, and flagged 5-35% of new normal rows on small ADBench tables (benchmarks in
# docs/data-files.md).
AUTO_MIN_VALIDATION_ROWS = 500
CALIBRATION_SOURCES = ("calibration_split", "calibrate", "validation")


@dataclass(frozen=True)
class MethodThreshold:
    """The threshold of one score method.

    Attributes
    ----------
    offset : float or None
        ``decision_function = score_samples - offset``, i.e. rows scoring above
        ``-offset`` are flagged; None until a ``FalseAlarmRate`` without a calibration
        split is calibrated, or for a strategy that does not apply to the method.
    calibration_scores : np.ndarray or None
        Sorted scores of the calibration rows behind ``p_values``.
    """

    offset: float | None
    calibration_scores: np.ndarray | None


@dataclass(frozen=True)
class ThresholdState:
    """A fitted threshold: the strategy, where its calibration scores come from, and the
    offset and calibration scores of EVERY score method of the model, so that changing
    ``score_method`` after ``fit`` keeps the threshold's meaning.

    Attributes
    ----------
    strategy : ThresholdStrategy or None
        None for ``contamination="auto"``.
    source : {"calibration_split", "calibrate", "validation"} or None
    methods : dict of str to MethodThreshold
    """

    strategy: ThresholdStrategy | None
    source: str | None
    methods: dict[str, MethodThreshold]

    def for_method(self, method: str) -> MethodThreshold:
        if method not in self.methods:
            raise ValueError(f"the threshold was fitted for the score methods "
                             f"{sorted(self.methods)}, not {method!r}; refit the model")
        return self.methods[method]

    def to_dict(self) -> dict[str, Any]:
        """The JSON part (offsets); the calibration scores go with the tensors."""
        return {"strategy": None if self.strategy is None else threshold_to_dict(self.strategy),
                "source": self.source,
                "offsets": {m: t.offset for m, t in self.methods.items()}}

    def arrays(self) -> dict[str, np.ndarray]:
        """The calibration scores per method (for the model file's tensors)."""
        return {m: t.calibration_scores for m, t in self.methods.items()
                if t.calibration_scores is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> ThresholdState:
        strategy = data.get("strategy")
        source = data.get("source")
        if source is not None and source not in CALIBRATION_SOURCES:
            raise ValueError(f"unknown calibration source {source!r}")
        offsets = data["offsets"]
        methods = {}
        for method, offset in offsets.items():
            if offset is not None and not (isinstance(offset, int | float)
                                           and math.isfinite(offset)):
                raise ValueError(f"threshold offset of {method!r} is {offset!r}")
            methods[method] = MethodThreshold(None if offset is None else float(offset),
                                              arrays.get(method))
        return cls(None if strategy is None else threshold_from_dict(strategy), source,
                   methods)


def resolve_strategy(threshold: Any, contamination: Any,
                     has_likelihood: bool = True) -> ThresholdStrategy | None:
    """The strategy a detector's parameters ask for; None for ``contamination="auto"``.

    Raises
    ------
    ValueError
        Both ``threshold`` and a non-"auto" ``contamination`` set, an invalid strategy,
        or a log-likelihood threshold on a model without a likelihood.
    """
    if threshold is None:
        return None if contamination == "auto" else Contamination(float(contamination))
    strategy = make_threshold(threshold)
    if contamination != "auto":
        raise ValueError(
            f"set either contamination ({contamination!r}) or threshold ({threshold!r}), not "
            f"both; Contamination({contamination!r}) as threshold is the same as that "
            "contamination"
        )
    if isinstance(strategy, LogLikelihood) and not has_likelihood:
        raise ValueError("the log_likelihood threshold needs a model with a likelihood, such as "
                         "VAEDetector (an autoencoder has none); use false_alarm_rate or "
                         "contamination")
    return strategy


def calibration_fraction(strategy: ThresholdStrategy | None) -> float:
    """Share of the rows ``fit`` holds out for calibration."""
    return strategy.calibration_fraction if isinstance(strategy, FalseAlarmRate) else 0.0


def check_calibration_split(strategy: ThresholdStrategy | None, n_rows: int,
                            n_calibration: float | None = None, source: str | None = None,
                            raise_hint: str = "raise calibration_fraction or the rate, or set it "
                                              "to 0 and call calibrate(X_normal)") -> None:
    """Refuse, before any training, a calibration split too small for its rate.

    ``n_calibration`` is the split's size (``calibration_fraction * n_rows`` rounded when
    None; a streamed fit passes its expected hashed share); ``source`` names the data.

    Examples
    --------
    >>> check_calibration_split(FalseAlarmRate(0.01, calibration_fraction=0.1), 500)
    Traceback (most recent call last):
    ...
    ValueError: threshold false_alarm_rate 0.01 needs at least 99 calibration rows, but ...
    """
    if not isinstance(strategy, FalseAlarmRate) or strategy.calibration_fraction == 0:
        return
    if n_calibration is None:
        n_calibration = round(strategy.calibration_fraction * n_rows)
    needed = strategy.min_calibration_rows()
    if n_calibration < needed:
        given = (f"{source} gives about {n_calibration:.0f}" if source is not None else
                 f"calibration_fraction {strategy.calibration_fraction:g} of {n_rows} rows "
                 f"gives {n_calibration:.0f}")
        raise ValueError(f"threshold false_alarm_rate {strategy.rate:g} needs at least "
                         f"{needed} calibration rows, but {given}; {raise_hint}")
    if n_rows - n_calibration < 2:
        raise ValueError(f"calibration_fraction {strategy.calibration_fraction:g} leaves fewer "
                         f"than 2 of {n_rows} rows for training")


def needs_training_scores(strategy: ThresholdStrategy | None,
                          n_validation: int | None = None) -> bool:
    """Whether fitting the threshold needs the scores of the training rows: for a
    contamination, and for ``"auto"`` with fewer than ``AUTO_MIN_VALIDATION_ROWS``
    validation rows (``n_validation``)."""
    return isinstance(strategy, Contamination) or (
        strategy is None and n_validation is not None
        and n_validation < AUTO_MIN_VALIDATION_ROWS)


def fit_threshold(
    strategy: ThresholdStrategy | None,
    training: dict[str, np.ndarray] | None,
    validation: dict[str, np.ndarray] | None,
    calibration: dict[str, np.ndarray] | None,
    likelihood_methods: tuple[str, ...] = (),
) -> ThresholdState:
    """Fit the threshold of every score method from its scores (``{method: scores}``).

    ``None`` (``contamination="auto"``) flags ``AUTO_FALSE_ALARM_RATE`` of the held-out
    validation rows (of the training rows without a validation split); with fewer than
    ``AUTO_MIN_VALIDATION_ROWS`` validation rows and ``training`` scores given, the
    threshold is the higher of that quantile and the same quantile of ``training`` (the
    rows fit saw), so that a small table's threshold does not rest on a few rows;
    ``Contamination(share)`` takes that quantile of the training scores, as
    IsolationForest does; ``FalseAlarmRate(rate)`` the conformal threshold of the
    calibration split (none yet without one: ``calibrate`` must come first);
    ``LogLikelihood(v)`` flags ``log p(x) < v`` for ``likelihood_methods`` only. The
    validation scores (or the calibration split's) serve as calibration scores for
    ``p_values``.
    """
    reference = validation or training
    methods_names = list((reference or calibration or {}).keys())
    source = "calibration_split" if calibration else "validation" if validation else None
    methods = {}
    for method in methods_names:
        cal = calibration.get(method) if calibration else (
            validation.get(method) if validation else None)
        cal = None if cal is None else np.sort(cal)
        if strategy is None:
            normal = validation[method] if validation else training[method]
            offset = float(np.quantile(-normal, AUTO_FALSE_ALARM_RATE))
            if (validation and training and method in training
                    and len(normal) < AUTO_MIN_VALIDATION_ROWS):
                offset = min(offset, float(np.quantile(-training[method],
                                                       AUTO_FALSE_ALARM_RATE)))
        elif isinstance(strategy, ControlLimit):
            normal = validation[method] if validation else training[method]
            offset = -control_limit(normal, strategy)
        elif isinstance(strategy, Contamination):
            offset = float(np.percentile(-training[method], 100.0 * strategy.share))
        elif isinstance(strategy, LogLikelihood):
            offset = (float(strategy.min_log_likelihood) if method in likelihood_methods
                      else None)
        elif calibration:
            offset = -conformal_threshold(cal, strategy.rate)
        else:
            offset = None
        methods[method] = MethodThreshold(offset, cal)
    return ThresholdState(strategy, source, methods)


def recalibrate(state: ThresholdState, strategy: ThresholdStrategy | None,
                scores: dict[str, np.ndarray]) -> ThresholdState:
    """``state`` with new calibration scores from ``calibrate(X_normal)``.

    A ``FalseAlarmRate`` strategy also takes its thresholds from them (all checked before
    anything changes); with another strategy only the p-values change.
    """
    if isinstance(strategy, FalseAlarmRate):
        offsets = {m: -conformal_threshold(s, strategy.rate) for m, s in scores.items()}
    else:
        strategy = state.strategy
        offsets = {m: state.methods[m].offset if m in state.methods else None for m in scores}
    return ThresholdState(strategy, "calibrate", {
        m: MethodThreshold(offsets[m], np.sort(s)) for m, s in scores.items()})


def describe_state(state: ThresholdState | None) -> str:
    """What a fitted threshold means, in one line."""
    if state is None or state.strategy is None:
        return 'contamination="auto": flags 1% of the held-out validation rows'
    return state.strategy.describe()
