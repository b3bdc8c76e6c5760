"""Thresholds on fitted detectors: the strategy in ``fit``, ``calibrate`` and ``p_values``.

The strategies themselves (``Contamination``, ``FalseAlarmRate``, ``LogLikelihood``) and the
conformal maths are in :mod:`latentwatch.thresholds`; this module holds the detector side.
"""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from latentwatch.thresholds import (
    Contamination,
    FalseAlarmRate,
    LogLikelihood,
    ThresholdStrategy,
    conformal_p_values,
    conformal_threshold,
    make_threshold,
)

# With contamination="auto", the threshold flags this share of the held-out validation rows.
AUTO_FALSE_ALARM_RATE = 0.01


def _split_calibration(
    n_rows: int, strategy: FalseAlarmRate, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Fitting and calibration row indices for a ``FalseAlarmRate`` calibration split.

    Raises
    ------
    ValueError
        Before any training, when the split would be too small for the rate.
    """
    n_calibration = round(strategy.calibration_fraction * n_rows)
    needed = strategy.min_calibration_rows()
    if n_calibration < needed:
        raise ValueError(
            f"threshold false_alarm_rate {strategy.rate:g} needs at least {needed} calibration "
            f"rows, but calibration_fraction {strategy.calibration_fraction:g} of {n_rows} rows "
            "gives "
            f"{n_calibration}; raise calibration_fraction or the rate, or set it to 0 and call "
            "calibrate(X_normal)"
        )
    if n_rows - n_calibration < 2:
        raise ValueError(f"calibration_fraction {strategy.calibration_fraction:g} leaves fewer "
                         f"than 2 of {n_rows} rows for training")
    order = rng.permutation(n_rows)
    return np.sort(order[n_calibration:]), np.sort(order[:n_calibration])


class ThresholdMixin:
    """``threshold``/``contamination`` handling for the detectors.

    The host class provides ``_scores_standardized``, ``_prepare`` and the parameters
    ``threshold`` and ``contamination``.
    """

    def _threshold_strategy(self) -> ThresholdStrategy | None:
        """The ``threshold`` parameter as a strategy; ``None`` leaves it to ``contamination``."""
        if self.threshold is None:
            return None
        strategy = make_threshold(self.threshold)
        if self.contamination != "auto":
            raise ValueError(
                f"set either contamination ({self.contamination!r}) or threshold "
                f"({self.threshold!r}), not both; Contamination({self.contamination!r}) as "
                "threshold is the same as that contamination"
            )
        if isinstance(strategy, LogLikelihood):
            self._check_log_likelihood_threshold()
        return strategy

    def _check_log_likelihood_threshold(self) -> None:
        raise ValueError("the log_likelihood threshold needs a VAEDetector (an autoencoder has "
                         "no likelihood); use false_alarm_rate or contamination")

    def _set_threshold(
        self,
        strategy: ThresholdStrategy | None,
        training: np.ndarray,
        validation: np.ndarray,
        calibration: np.ndarray,
    ) -> None:
        """Set ``offset_`` (``decision_function = score_samples - offset_``), the
        calibration scores behind ``p_values`` and ``threshold_``.

        Without a ``threshold`` strategy, a fractional ``contamination`` takes that
        quantile of the training scores, as IsolationForest does; ``"auto"`` flags
        ``AUTO_FALSE_ALARM_RATE`` of the held-out validation rows (all rows when the
        data were too small to split). The validation scores then also serve as
        calibration scores for ``p_values``.
        """
        validation_scores = self._scores_standardized(validation)[0] if len(validation) else None
        self.calibration_scores_ = None if validation_scores is None else np.sort(
            validation_scores)
        self.calibration_source_ = None if validation_scores is None else "validation"
        share = self.contamination if strategy is None else getattr(strategy, "share", None)
        self.threshold_ = strategy
        if strategy is None and self.contamination == "auto":
            normal_scores = -(validation_scores if validation_scores is not None
                              else self._scores_standardized(training)[0])
            self.offset_ = float(np.quantile(normal_scores, AUTO_FALSE_ALARM_RATE))
        elif strategy is None or isinstance(strategy, Contamination):
            self.threshold_ = Contamination(float(share))
            self.offset_ = float(np.percentile(-self._scores_standardized(training)[0],
                                               100.0 * share))
        elif isinstance(strategy, LogLikelihood):
            self.offset_ = float(strategy.min_log_likelihood)
        elif len(calibration):
            self._calibrate_scores(self._scores_standardized(calibration)[0], "calibration_split",
                                   strategy)
        else:  # FalseAlarmRate without a calibration split: calibrate() must come first
            self.offset_ = None

    def _calibrate_scores(
        self, scores: np.ndarray, source: str, strategy: ThresholdStrategy | None
    ) -> None:
        """Store calibration scores; a ``FalseAlarmRate`` also takes its threshold from them
        (checked before anything changes)."""
        if isinstance(strategy, FalseAlarmRate):
            self.offset_ = -conformal_threshold(scores, strategy.rate)
        self.threshold_ = strategy
        self.calibration_scores_ = np.sort(scores)
        self.calibration_source_ = source

    def calibrate(self, X_normal):
        """Calibrate p-values, and a ``false_alarm_rate`` threshold, on normal rows.

        The rows should be normal and unseen in ``fit``: then their scores are
        exchangeable with those of fresh normal rows and the conformal guarantee holds
        (see :mod:`latentwatch.thresholds`). They replace the calibration scores taken
        in ``fit``. When ``threshold`` is (or has been set with ``set_params`` to) a
        ``FalseAlarmRate``, the threshold is re-derived from them; with another
        strategy only ``p_values`` change.

        Parameters
        ----------
        X_normal : array-like of shape (n_samples, n_features)
            Normal rows; a ``FalseAlarmRate(rate)`` needs at least ``1 / rate - 1``.

        Returns
        -------
        self
        """
        check_is_fitted(self, "module_")
        strategy = self._threshold_strategy()
        if not isinstance(strategy, FalseAlarmRate):
            strategy = self.threshold_  # only the p-values change
        self._calibrate_scores(self.anomaly_score(X_normal), "calibrate", strategy)
        return self

    def p_values(self, X) -> np.ndarray:
        """Split conformal p-value of each row against the calibration scores.

        ``p = (1 + #{calibration scores >= score}) / (n_calibration + 1)``: small for
        rows unlike the calibration rows. For a normal row, ``P(p <= alpha) <= alpha``
        when the calibration rows are normal and played no part in training
        (``calibration_source_`` ``"calibration_split"`` or ``"calibrate"``). With
        ``"validation"`` (the early-stopping rows of a model without a
        ``FalseAlarmRate`` threshold) the guarantee is approximate: those rows chose
        the stopping epoch, and may include anomalies when the training data did.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        np.ndarray of shape (n_samples,)
            Values in ``[1 / (n_calibration + 1), 1]``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model has no calibration scores (no validation split and no
            ``calibrate`` call).
        """
        check_is_fitted(self, "module_")
        if getattr(self, "calibration_scores_", None) is None:
            raise NotFittedError(
                f"{type(self).__name__} has no calibration scores (it was fitted without a "
                "validation or calibration split); call calibrate(X_normal) first"
            )
        return conformal_p_values(self.calibration_scores_, self.anomaly_score(X))

    def _check_threshold_ready(self) -> None:
        if getattr(self, "offset_", None) is None:
            raise NotFittedError(
                f"{type(self).__name__} has a false_alarm_rate threshold with "
                "calibration_fraction=0 and has not been calibrated; call "
                "calibrate(X_normal) first"
            )
        if isinstance(getattr(self, "threshold_", None), LogLikelihood):
            self._check_log_likelihood_threshold()

    # -- scoring -------------------------------------------------------------------------
