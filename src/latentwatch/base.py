"""The estimator base every detector shares: the scikit-learn face over the three wings.

A detector composes the wings: a codec from :mod:`latentwatch.data` reads the rows, a model
from :mod:`latentwatch.models` is trained and run by :mod:`latentwatch.engine` through the
one fit pipeline (:mod:`latentwatch.pipeline`), and :mod:`latentwatch.thresholds` draws the
line. Its fitted state is a few objects: ``codec_``, ``module_``, ``threshold_state_``,
``prior_``, ``history_`` and ``seed_``. The concrete classes, derived from the model
registry, are in :mod:`latentwatch.detector`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
import warnings
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from latentwatch import engine, models, pipeline, thresholds
from latentwatch.data import codec_for
from latentwatch.data.codec import Encoded
from latentwatch.data.heads import TableHeads
from latentwatch.data.schema import TableSchema
from latentwatch.engine import parallel, scoring, seeds
from latentwatch.engine.device import resolve_device, torch_threads
from latentwatch.engine.splits import split_rows
from latentwatch.engine.training import memory_batches, resolve_batch_size

#: The parameters every detector has, with their defaults (documented in ``COMMON_DOC``).
# each fitted detector's likelihood heads, built once per codec (not in the estimator's
# __dict__, which scoring must leave unchanged)
_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

COMMON_PARAMS: dict[str, Any] = {
    "hidden_dims": None, "latent_dim": None, "max_epochs": "auto", "batch_size": "auto",
    "learning_rate": 4e-3, "weight_decay": 0.0, "patience": 10, "validation_fraction": 0.1,
    "trim_fraction": 0.0, "contamination": "auto", "threshold": None, "device": "auto",
    "n_jobs": None, "random_state": None, "verbose": False, "schema": None, "training": None,
    "time_column": None, "window": None, "score_steps": None,
}


def make_init(params: dict[str, Any]):
    """A keyword-only ``__init__`` that only stores ``params`` (name -> default), with the
    signature scikit-learn reads ``get_params`` from.

    Examples
    --------
    >>> import inspect
    >>> class Thing:
    ...     __init__ = make_init({"alpha": 1.0, "beta": None})
    >>> Thing(beta=2).beta, list(inspect.signature(Thing).parameters)
    (2, ['alpha', 'beta'])
    """
    names = tuple(params)

    def __init__(self, **kwargs: Any) -> None:
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                            f"argument {unknown[0]!r}")
        for name in names:
            setattr(self, name, kwargs.get(name, params[name]))

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d)
           for n, d in params.items()])
    return __init__


def _threads(method):
    """Run a public method with the estimator's torch threads (``n_jobs``)."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with torch_threads(self.n_jobs):
            return method(self, *args, **kwargs)

    return run


class BaseDetector(ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin, BaseEstimator):
    """What every detector shares; a subclass names its registered model
    (``_model_name``) and stores its parameters (see :func:`make_init`)."""

    _model_name = ""

    _parameter_constraints: dict = {
        "hidden_dims": [None, "array-like"],
        "latent_dim": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "max_epochs": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "trim_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "contamination": [StrOptions({"auto"}), Interval(numbers.Real, 0, 0.5, closed="right")],
        "threshold": [None, thresholds.ThresholdStrategy, dict, str],
        "device": [str],
        "n_jobs": [None, Interval(numbers.Integral, -1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
        "schema": [None, StrOptions({"infer"}), dict, TableSchema],
        "training": [None, dict],
        "time_column": [None, str],
        "window": [None, StrOptions({"auto"}), Interval(numbers.Integral, 2, None,
                                                        closed="left")],
        "score_steps": [None, Interval(numbers.Integral, 1, None, closed="left")],
    }

    # -- configuration -------------------------------------------------------------------
    def _model_config(self) -> Any:
        """The model's config from the parameters named like its fields."""
        entry = models.entry(self._model_name)
        return entry.config(**{name: getattr(self, name) for name in entry.config_fields()})

    def _codec_options(self) -> dict[str, Any]:
        return {}

    def _max_epochs(self) -> int | str:
        return self.max_epochs

    def _score_method(self) -> str:
        return models.entry(self._model_name).default_score_method

    def _is_series(self) -> bool:
        """Whether the parameters make the data a time series (a time column or a window)."""
        return self.time_column is not None or self.window is not None

    def _training_defaults(self) -> dict[str, Any]:
        return {}

    def _training_config(self) -> engine.TrainingConfig:
        extra = {**self._training_defaults(), **(self.training or {})}
        for key in ("auto_epoch_range", "auto_batch_range"):
            if key in extra:
                extra[key] = tuple(extra[key])
        try:
            return engine.TrainingConfig(
                max_epochs=self._max_epochs(), batch_size=self.batch_size,
                learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                patience=self.patience, trim_fraction=self.trim_fraction,
                verbose=self.verbose, **extra)
        except TypeError as exc:
            raise ValueError(f"training: {exc} (see latentwatch.engine.TrainingConfig)") from None

    # -- the data boundary ---------------------------------------------------------------
    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        """``X`` as a DataFrame with string column names: the one place input is checked.

        Arrays must hold numbers (gaps as NaN) and become columns ``x0, x1, ...``; a
        DataFrame is taken as it is (the codec reads its columns by name).
        """
        if isinstance(X, pd.DataFrame):
            if reset:
                validate_data(self, X, skip_check_array=True, reset=True)
                self.input_kind_ = "frame"
            if not all(isinstance(c, str) for c in X.columns):
                X = X.set_axis([str(c) for c in X.columns], axis=1)
            if reset and len(X) < 2:
                raise ValueError(f"Found array with {len(X)} sample(s) (shape={X.shape}) "
                                 "while a minimum of 2 is required.")
            return X
        if reset:
            array = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan",
                                  ensure_min_samples=2)
            self.input_kind_ = "array"
            return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        array = check_array(X, dtype=None if self.input_kind_ == "frame" else np.float64,
                            ensure_all_finite="allow-nan")
        names = self.codec_.sources
        if array.shape[1] != len(names):
            raise ValueError(f"X has {array.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {len(names)} features as input")
        return pd.DataFrame(array, columns=names)

    def as_frame(self, X: Any) -> pd.DataFrame:
        """``X`` as the fitted model reads it: a DataFrame with the training's column names
        (an array becomes columns ``x0, x1, ...``)."""
        check_is_fitted(self, "module_")
        return self._frame(X, reset=False)

    def read_rows(self, X: Any, keep_shown: bool = False) -> Encoded:
        """``X`` read through the codec; a :class:`DataError` names the first bad rows."""
        check_is_fitted(self, "module_")
        encoded = self.codec_.encode(self._frame(X, reset=False), keep_shown=keep_shown)
        encoded.raise_for_problems()
        return encoded

    def _rows(self, X: Any) -> np.ndarray:
        """The packed rows of ``X``."""
        return self.read_rows(X).packed

    @property
    def heads_(self) -> TableHeads:
        """The per-column likelihood heads over the codec (built once per fitted codec)."""
        cached = _HEADS.get(self)
        if cached is None or cached[0] is not self.codec_:
            cached = _HEADS[self] = (self.codec_, TableHeads(self.codec_))
        return cached[1]

    def as_output(self, frame: pd.DataFrame):
        """Decoded rows as the user gave them: an array for a model fitted on one."""
        if self.input_kind_ == "array":
            return frame.to_numpy(dtype=np.float64, na_value=np.nan)
        return frame

    # -- fitting: every route ends in pipeline.fit_prepared --------------------------------
    def _plan(self) -> tuple[thresholds.ThresholdStrategy | None, engine.TrainingConfig]:
        """Check the parameters and draw the seed: the threshold strategy and the training
        configuration of a fit."""
        self._validate_params()
        entry = models.entry(self._model_name)
        strategy = thresholds.resolve_strategy(self.threshold, self.contamination,
                                               bool(entry.likelihood_methods))
        if self._is_series():
            strategy = thresholds.series_strategy(strategy)
        self._check_score_method(strategy)
        training = self._training_config()
        self.seed_ = seeds.draw_seed(self.random_state)
        self.device_ = str(resolve_device(self.device))
        return strategy, training

    def _set_fitted(self, fitted: pipeline.Fitted) -> None:
        self.module_ = fitted.module
        self.history_ = fitted.history
        self.threshold_state_ = fitted.thresholds
        self.prior_ = fitted.prior
        self.drift_reference_ = fitted.drift
        self.lineage_ = None

    def fit(self, X, y=None):
        """Read ``X``, train the network with early stopping and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas.DataFrame
            Training rows; anomalies may be among them. A numeric array, or a DataFrame
            whose columns are all numbers, is a numeric matrix: every column a Gaussian,
            gaps (NaN) masked. Any other DataFrame is a table with an inferred schema (or
            ``schema``): text, categorical, boolean and datetime columns and gaps.
        y : ignored

        Returns
        -------
        self
        """
        frame = self._frame(X, reset=True)
        strategy, training = self._plan()
        thresholds.check_calibration_split(strategy, len(frame))
        ctx = parallel.context(self.device_)
        self.device_ = ctx.device  # under torchrun on CUDA: this rank's GPU
        try:
            with torch_threads(self.n_jobs):
                self._fit_frame(frame, strategy, training, ctx)
        finally:
            parallel.finish(ctx)
        self._warn_if_still_improving(stacklevel=2)
        return self

    def _fit_frame(self, frame: pd.DataFrame, strategy, training, ctx) -> None:
        """The in-memory route: split, fit the codec, pack the rows, then the pipeline."""
        rows = split_rows(len(frame), thresholds.calibration_fraction(strategy),
                          self.validation_fraction, seeds.rng(self.seed_, "splits"))
        self.codec_ = codec_for(frame, self.schema, time_column=self.time_column,
                                window=self.window, score_steps=self.score_steps,
                                **self._codec_options()).fit(frame.iloc[rows.fit],
                                                             gaps_in=frame)
        encoded = self.codec_.encode(frame)
        encoded.raise_for_problems()
        batch = encoded.packed
        if self.input_kind_ == "frame":
            self.feature_names_in_ = np.asarray(self.codec_.sources, dtype=object)
            self.n_features_in_ = len(self.codec_.sources)
        train_rows = batch[rows.train]
        train_rows = self.codec_.training_rows(train_rows,
                                               seeds.rng(self.seed_, "window-masks"))
        X_train = torch.from_numpy(train_rows).to(ctx.device, torch.float32)
        prepared = pipeline.PreparedRows(
            batches=memory_batches(X_train, resolve_batch_size(training, len(X_train)),
                                   self.seed_, ctx),
            n_train=len(X_train), validation=batch[rows.validation],
            calibration=batch[rows.calibration], train_sample=batch[rows.train],
            fit_sample=batch[rows.fit])
        self._set_fitted(pipeline.fit_prepared(
            model=self._model_name, config=self._model_config(), codec=self.codec_,
            prepared=prepared, strategy=strategy, training=training, seed=self.seed_,
            ctx=ctx, score_method=self._score_method()))

    def _warn_if_still_improving(self, stacklevel: int) -> None:
        """A ConvergenceWarning when an explicit ``max_epochs`` ended a still-improving fit."""
        if self.history_["still_improving"] and self.max_epochs != "auto":
            warnings.warn(
                f"training stopped at max_epochs={len(self.history_['train_loss'])} with the "
                "validation loss still falling; a larger max_epochs may fit better",
                ConvergenceWarning, stacklevel=stacklevel + 1)

    def fit_dataset(self, path_or_glob: str | Path, *, fmt: str | None = None,
                    checkpoint_dir: str | Path | None = None, resume: bool = False,
                    chunk_rows: int = 100_000, shuffle_rows: int = 65_536,
                    max_validation_rows: int = 50_000, max_calibration_rows: int = 50_000,
                    skip_bad_rows: bool = False, num_workers: int = 0,
                    sample_rows: int = 100_000, text_columns: Sequence[str] = (),
                    on_epoch_end=None):
        """Fit on a folder or glob of Parquet or CSV files larger than memory.

        Two streaming passes learn the schema (from a uniform sample of 100,000 rows)
        and the codec's statistics; training then streams shuffled row groups, with
        early stopping on a hashed validation sample and a checkpoint after every epoch.
        Under ``torchrun --nproc-per-node N`` it trains one model with
        DistributedDataParallel. The model is an ordinary one: it saves, loads and
        scores as a model from ``fit``: both routes end in the same pipeline
        (:func:`latentwatch.pipeline.fit_prepared`; see :mod:`latentwatch.streamed`).

        Parameters
        ----------
        path_or_glob : str or Path
            A folder (its ``.parquet``/``.csv`` files), a glob or a file; paths sorted.
        fmt : {"csv", "parquet"} or None
            Overrides the extensions.
        checkpoint_dir : str, Path or None
            Where a checkpoint (safetensors + JSON) is written after every epoch.
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir``: the same model as a run
            that was never interrupted.
        chunk_rows : int, default=100_000
            Rows read at a time.
        shuffle_rows : int, default=65_536
            Rows of the shuffle buffer.
        max_validation_rows, max_calibration_rows : int, default=50_000
            Caps on the held-out rows (validation and training sample; calibration).
        skip_bad_rows : bool, default=False
            Train without rows the model cannot read instead of failing.
        num_workers : int, default=0
            DataLoader workers reading pieces (0: the training process reads).
        sample_rows : int, default=100_000
            Rows of the uniform sample the schema is inferred from.
        text_columns : sequence of str
            Columns read as text (besides the schema's id columns).
        on_epoch_end : callable or None
            ``on_epoch_end(epoch, history)`` after every epoch (e.g. progress).

        Returns
        -------
        self

        Examples
        --------
        >>> import tempfile, numpy as np, pandas as pd
        >>> from latentwatch import VAEDetector
        >>> folder = tempfile.mkdtemp()
        >>> rng = np.random.default_rng(0)
        >>> for k in range(2):
        ...     pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc")).to_parquet(
        ...         f"{folder}/part-{k}.parquet")
        >>> model = VAEDetector(max_epochs=2, random_state=0).fit_dataset(folder)
        >>> model.anomaly_score(pd.DataFrame(rng.normal(size=(2, 3)), columns=list("abc"))
        ...                     ).shape
        (2,)
        """
        from latentwatch.persistence import json_params
        from latentwatch.streamed import prepare_stream

        if self.time_column is not None or self.window is not None:
            raise ValueError("fit_dataset reads tables; fit a time series (time_column, "
                             "window) in memory with fit")
        strategy, training = self._plan()
        ctx = parallel.context(self.device_)
        self.device_ = ctx.device
        try:
            with torch_threads(self.n_jobs):
                self.codec_, prepared, fingerprint = prepare_stream(
                    path_or_glob, schema=self.schema, strategy=strategy, seed=self.seed_,
                    validation_fraction=self.validation_fraction, training=training, ctx=ctx,
                    codec_options=self._codec_options(), fmt=fmt, chunk_rows=chunk_rows,
                    shuffle_rows=shuffle_rows, max_validation_rows=max_validation_rows,
                    max_calibration_rows=max_calibration_rows, sample_rows=sample_rows,
                    skip_bad_rows=skip_bad_rows, num_workers=num_workers,
                    text_columns=tuple(text_columns))
                self.input_kind_ = "frame"
                self.feature_names_in_ = np.asarray(self.codec_.sources, dtype=object)
                self.n_features_in_ = len(self.codec_.sources)
                fingerprint["params"] = json_params(self.get_params(deep=False))
                self._set_fitted(pipeline.fit_prepared(
                    model=self._model_name, config=self._model_config(), codec=self.codec_,
                    prepared=prepared, strategy=strategy, training=training, seed=self.seed_,
                    ctx=ctx, checkpoint_dir=checkpoint_dir, resume=resume,
                    fingerprint=fingerprint, on_epoch_end=on_epoch_end,
                    score_method=self._score_method()))
            parallel.barrier(ctx)
        finally:
            parallel.finish(ctx)
        self._warn_if_still_improving(stacklevel=2)
        return self

    def _all_scores(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return pipeline.score_all(self.module_, self.codec_, rows, self.seed_, self.device_)

    # -- scores --------------------------------------------------------------------------
    @_threads
    def score_encoded(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(n,)`` and per-column parts ``(n, n_columns)`` of packed rows (the
        ``packed``/``good`` of :meth:`read_rows` or ``codec_.encode``), with the current
        ``score_method``."""
        check_is_fitted(self, "module_")
        method = self._score_method()
        if method not in self.module_.score_methods:
            raise ValueError(f"score_method {method!r} is not one of "
                             f"{self.module_.score_methods}")
        scores, parts = scoring.score(self.module_, self.heads_, rows, method, self.seed_,
                                      self.device_)
        weights = self.codec_.block_weights(rows)
        return (scores, parts) if weights is None else pipeline.weighted_scores(parts, weights)

    def anomaly_score(self, X) -> np.ndarray:
        """Anomaly score of each row: higher = more anomalous (nats).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas.DataFrame

        Returns
        -------
        np.ndarray of shape (n_samples,)

        Examples
        --------
        >>> import numpy as np
        >>> from latentwatch import VAEDetector
        >>> X = np.random.default_rng(0).normal(size=(200, 4))
        >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
        >>> model.anomaly_score(X[:3]).shape
        (3,)
        """
        return self.score_encoded(self._rows(X))[0]

    def feature_scores(self, X) -> np.ndarray:
        """Per-column contributions to the anomaly score; each row sums to its score.

        One column per modelled column (a datetime column gives one per derived
        feature), in the order of ``codec_.names``; a missing entry of a column without
        modelled gaps contributes 0.

        Returns
        -------
        np.ndarray of shape (n_samples, n_columns)
        """
        return self.score_encoded(self._rows(X))[1]

    def score_samples(self, X) -> np.ndarray:
        """Normality of each row (``-anomaly_score``): lower = more abnormal."""
        return -self.anomaly_score(X)

    @property
    def offset_(self) -> float | None:
        """Threshold: ``decision_function = score_samples - offset_``, for the current
        ``score_method`` (None for a ``FalseAlarmRate`` not yet calibrated)."""
        check_is_fitted(self, "threshold_state_")
        return self.threshold_state_.for_method(self._score_method()).offset

    @property
    def threshold_(self) -> thresholds.ThresholdStrategy | None:
        """The strategy in force (None for ``contamination="auto"``)."""
        check_is_fitted(self, "threshold_state_")
        return self.threshold_state_.strategy

    @property
    def calibration_scores_(self) -> np.ndarray | None:
        """Sorted calibration scores behind ``p_values`` (current ``score_method``)."""
        check_is_fitted(self, "threshold_state_")
        return self.threshold_state_.for_method(self._score_method()).calibration_scores

    @property
    def calibration_source_(self) -> str | None:
        """``"calibration_split"``, ``"calibrate"``, ``"validation"`` or None."""
        check_is_fitted(self, "threshold_state_")
        return self.threshold_state_.source

    def _check_score_method(self, strategy) -> None:
        """Refuse a log-likelihood threshold with a score that is not a ``log p(x)``."""
        likelihood = models.entry(self._model_name).likelihood_methods
        if (isinstance(strategy, thresholds.LogLikelihood)
                and self._score_method() not in likelihood):
            raise ValueError(
                "the log_likelihood threshold compares score_samples, a log-probability, "
                f"with a fixed value: it needs score_method in {likelihood}"
                f", not {self._score_method()!r}")

    def _check_threshold_ready(self) -> float:
        self._check_score_method(self.threshold_)
        offset = self.offset_
        if offset is None:
            raise NotFittedError(
                f"{type(self).__name__} has a false_alarm_rate threshold with "
                "calibration_fraction=0 and has not been calibrated; call "
                "calibrate(X_normal) first")
        return offset

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers."""
        check_is_fitted(self, "module_")
        offset = self._check_threshold_ready()
        return self.score_samples(X) - offset

    def predict(self, X) -> np.ndarray:
        """``-1`` for outliers and ``+1`` for inliers, at the model's threshold."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def calibrate(self, X_normal):
        """Calibrate p-values, and a ``false_alarm_rate`` threshold, on normal rows.

        The rows should be normal and unseen in ``fit``: then their scores are
        exchangeable with those of fresh normal rows and the conformal guarantee holds
        (see :mod:`latentwatch.thresholds`). They replace the calibration scores of every
        score method. With a ``FalseAlarmRate`` threshold (or one set with
        ``set_params``), the threshold is re-derived from them; otherwise only
        ``p_values`` change.

        Returns
        -------
        self
        """
        check_is_fitted(self, "module_")
        strategy = thresholds.resolve_strategy(
            self.threshold, self.contamination,
            bool(models.entry(self._model_name).likelihood_methods))
        with torch_threads(self.n_jobs):
            rows = self._rows(X_normal)
            scores = self._all_scores(rows)
            reference = pipeline.drift_reference(self.module_, self.codec_, rows,
                                                 self._score_method(), self.seed_,
                                                 self.device_, "calibrate")
        self.threshold_state_ = thresholds.recalibrate(self.threshold_state_, strategy, scores)
        self.drift_reference_ = reference
        return self

    def p_values(self, X) -> np.ndarray:
        """Split conformal p-value of each row against the calibration scores.

        ``p = (1 + #{calibration scores >= score}) / (n_calibration + 1)``: small for
        rows unlike the calibration rows. For a normal row ``P(p <= alpha) <= alpha`` when
        the calibration rows are normal and played no part in training
        (``calibration_source_`` ``"calibration_split"`` or ``"calibrate"``); with
        ``"validation"`` (the early-stopping rows) the guarantee is approximate.

        Returns
        -------
        np.ndarray of shape (n_samples,)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model has no calibration scores.
        """
        check_is_fitted(self, "module_")
        calibration = self.calibration_scores_
        if calibration is None:
            raise NotFittedError(
                f"{type(self).__name__} has no calibration scores (it was fitted without a "
                "validation or calibration split); call calibrate(X_normal) first")
        return thresholds.conformal_p_values(calibration, self.anomaly_score(X))

    # -- drift and updating (see latentwatch.drift) ---------------------------------------
    def drift_reference(self):
        """The calibration rows' scores and parts, or a one-line NotFittedError."""
        check_is_fitted(self, "module_")
        reference = getattr(self, "drift_reference_", None)
        if reference is None:
            raise NotFittedError(
                f"{type(self).__name__} has no drift reference (a model file saved before "
                "latentwatch kept one, or a fit without held-out rows); call "
                "calibrate(X_normal) on fresh normal rows, or refit, then save it again")
        if reference.method != self._score_method():
            raise NotFittedError(
                f"the drift reference holds {reference.method!r} scores, not "
                f"score_method {self._score_method()!r}; call calibrate(X_normal) to "
                "rebuild it for this score method")
        return reference

    def drift(self, X, *, level: float = 0.05):
        """Test whether the rows of ``X`` come from the distribution the model was
        calibrated on, and which columns moved.

        One p-value for the batch (the Bonferroni combination of a test of the
        uniformity of its conformal p-values and a Kolmogorov-Smirnov test per column of
        its share of the score), and per column a signed shift in ``[-1, 1]`` and a
        p-value; see :mod:`latentwatch.drift`. Needs the drift reference the fit keeps
        from its held-out rows (``drift_reference_``; ``calibrate`` renews it).

        Parameters
        ----------
        X : array-like or pandas.DataFrame
            A batch of rows (at least 20 for a test).
        level : float, default=0.05
            ``drift`` is ``p_value <= level``.

        Returns
        -------
        latentwatch.drift.DriftResult
            ``drift``, ``p_value``, ``n_rows`` and ``columns`` (largest shift first);
            ``to_dict()`` gives the JSON form.

        Examples
        --------
        >>> import numpy as np
        >>> from latentwatch import VAEDetector
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(2000, 3))
        >>> model = VAEDetector(max_epochs=5, random_state=0).fit(X)
        >>> moved = rng.normal(size=(500, 3)) + [0.0, 0.0, 2.0]
        >>> result = model.drift(moved)
        >>> result.drift, result.columns[0].column
        (True, 'x2')
        """
        return self.drift_encoded(self._rows(X), level=level)

    def drift_encoded(self, rows: np.ndarray, *, level: float = 0.05, n_skipped: int = 0):
        """:meth:`drift` of packed rows (``codec_.encode(frame).good``); ``n_skipped``
        rows left out before (reported)."""
        from latentwatch import drift

        reference = self.drift_reference()
        level = drift.check_level(level)
        scores, parts = self.score_encoded(rows)
        counts = (pipeline.category_counts(self.codec_, rows)
                  if reference.counts is not None else None)
        return drift.drift_test(reference, scores, parts, self.codec_.names, level,
                                n_skipped, counts)

    def partial_fit(self, X, y=None):
        """Continue training the fitted model on new normal rows, then recalibrate on
        held-out new rows.

        The codec stays as fitted: a category it has not seen goes to the rare bucket
        (``lineage_["rare_bucket_rows"]`` counts, per column, the new rows whose
        category went there; a warning names them). The new rows are split
        as ``fit`` splits (``validation_fraction``, and a calibration share for a
        ``false_alarm_rate`` threshold); the one training loop then continues from the
        current weights with a fresh optimiser (with ``max_epochs="auto"``, at most the
        lower bound of ``auto_epoch_range``, 10 epochs), with early stopping on the new
        validation rows, and the thresholds, p-values, prior and drift reference are
        fitted again on the held-out new rows. Deterministic for a given
        ``random_state``. ``lineage_`` (saved in the model file) records the parent
        model's checksum and the training rows seen in all. An unfitted estimator is
        fitted with ``fit``.

        Parameters
        ----------
        X : array-like or pandas.DataFrame
            New normal rows, with the fitted columns.
        y : ignored

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from latentwatch import VAEDetector
        >>> rng = np.random.default_rng(0)
        >>> model = VAEDetector(max_epochs=3, random_state=0).fit(rng.normal(size=(300, 3)))
        >>> model = model.partial_fit(rng.normal(size=(300, 3)) + 1.0)
        >>> model.lineage_["updates"], model.lineage_["new_rows"]
        (1, 300)
        """
        import copy

        from latentwatch import persistence

        if not hasattr(self, "module_"):
            return self.fit(X)
        frame = self._frame(X, reset=False)
        if len(frame) < 2:
            raise ValueError(f"partial_fit needs at least 2 rows, got {len(frame)}")
        strategy = thresholds.resolve_strategy(
            self.threshold, self.contamination,
            bool(models.entry(self._model_name).likelihood_methods))
        thresholds.check_calibration_split(strategy, len(frame))
        training = self._training_config()
        if training.max_epochs == "auto":  # the weights start near a fit: fewer epochs
            training = dataclasses.replace(training, max_epochs=training.auto_epoch_range[0])
        parent = dict(getattr(self, "lineage_", None) or {})
        parent_rows = parent.get("rows_seen", (self.history_.get("epoch_rows") or [0])[0])
        updates = int(parent.get("updates", 0)) + 1
        train_seed = seeds.stream(seeds.stream(self.seed_, "partial-fit") + updates,
                                  "partial-fit")
        encoded = self.read_rows(frame)
        new_categories = {self.codec_.blocks[j].name: int(n) for j, n in
                          enumerate(encoded.unseen.sum(axis=0)) if n}
        rows = split_rows(len(frame), thresholds.calibration_fraction(strategy),
                          self.validation_fraction, seeds.rng(train_seed, "splits"))
        batch = encoded.packed
        checksum = persistence.checksum(*self._file_contents())
        ctx = parallel.Context(device=self.device_)
        with torch_threads(self.n_jobs):
            train_rows = self.codec_.training_rows(batch[rows.train],
                                                   seeds.rng(train_seed, "window-masks"))
            X_train = torch.from_numpy(train_rows).to(ctx.device, torch.float32)
            prepared = pipeline.PreparedRows(
                batches=memory_batches(X_train, resolve_batch_size(training, len(X_train)),
                                       train_seed, ctx),
                n_train=len(X_train), validation=batch[rows.validation],
                calibration=batch[rows.calibration], train_sample=batch[rows.train],
                fit_sample=batch[rows.fit])
            fitted = pipeline.update_prepared(
                module=copy.deepcopy(self.module_), model=self._model_name,
                codec=self.codec_, prepared=prepared, strategy=strategy,
                training=training, seed=self.seed_, train_seed=train_seed, ctx=ctx,
                score_method=self._score_method())
        self._set_fitted(fitted)
        self.lineage_ = {"parent_sha256": checksum, "updates": updates,
                         "parent_rows_seen": int(parent_rows), "new_rows": len(frame),
                         "rows_seen": int(parent_rows) + len(X_train),
                         "rare_bucket_rows": new_categories}
        if new_categories:
            warnings.warn(
                "partial_fit: categories the codec has not seen went to the rare bucket ("
                + ", ".join(f"column {c!r}: {n} rows" for c, n in new_categories.items())
                + "); refit to model them as categories of their own", stacklevel=2)
        return self

    # -- latent space and decoding -------------------------------------------------------
    @_threads
    def encode(self, X, return_variance: bool = False):
        """Latent means of the rows (and, on request, their posterior variances).

        ``encode(X)`` equals ``transform(X)``; the autoencoder's variances are 0.

        Returns
        -------
        mean : np.ndarray of shape (n_samples, latent_dim_)
        variance : np.ndarray of shape (n_samples, latent_dim_), with ``return_variance``
        """
        rows = self._rows(X)
        mu, var = scoring.posterior(self.module_, self.heads_, rows, self.device_)
        return (mu, var) if return_variance else mu

    def transform(self, X) -> np.ndarray:
        """Latent code of each row (the posterior mean for the VAE).

        Returns
        -------
        np.ndarray of shape (n_samples, latent_dim_)
        """
        return self.encode(X)

    @_threads
    def decode_rows(self, z, *, sample: bool = False, random_state=None,
                    with_missing: bool | None = None, temperature: float = 1.0):
        """Decode latent points into valid rows of the training schema.

        This is the one decode path: ``reconstruct``, ``sample``, ``interpolate``,
        ``denoise``, ``apply_attribute``, the explanations and the report all go through
        it (see :mod:`latentwatch.data.codec` for what "valid" means).

        Parameters
        ----------
        z : array-like of shape (n_rows, latent_dim_)
        sample : bool, default=False
            ``False``: the most probable row (decoder mean, most probable category);
            ``True``: draw each column from the decoder's distribution (the AE has no
            variance: its numbers are then its output), with pooled rare values, dates
            and minutes drawn too.
        random_state : int, numpy Generator, RandomState or None
            Seeds the draws when ``sample``.
        with_missing : bool or None, default=None
            Draw gaps at the modelled rate; ``None`` means ``sample``.
        temperature : float, default=1.0
            With ``sample``: numbers are drawn with ``temperature`` times the decoder's
            standard deviation.

        Returns
        -------
        pandas.DataFrame with the training columns, or np.ndarray for a model fitted on
        an array.
        """
        from latentwatch.generate import as_generator

        check_is_fitted(self, "module_")
        if with_missing and not sample:
            raise ValueError("with_missing=True draws gaps at the modelled rate: it needs "
                             "sample=True")
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_dim_:
            raise ValueError(f"z must have shape (n_rows, {self.latent_dim_}), not {z.shape}")
        rng = as_generator(random_state) if sample else None
        gen = None if rng is None else torch.Generator().manual_seed(
            int(rng.integers(np.iinfo(np.int32).max)))
        values, missing = scoring.decode_latent(
            self.module_, self.heads_, z, sample, gen,
            sample if with_missing is None else with_missing, temperature=float(temperature))
        return self.as_output(self.codec_.decode(values, missing, rng))

    def reconstruct(self, X):
        """What the model expected to see for each row: ``decode_rows(encode(X))``.

        For the VAE the decoder mean at the posterior mean, for the AE its output; the
        most probable category or boolean; gaps filled in.
        """
        return self.decode_rows(self.encode(X))

    # -- generation (see latentwatch.generate) -------------------------------------------
    def sample(self, n: int, random_state=None, source: str | None = None,
               decode: str | None = None, X=None, conditions: dict | None = None,
               max_draws: int | None = None, temperature: float | None = None):
        """Generate ``n`` new rows in the training schema (``conditions``: only rows that
        hold them, by rejection); see :func:`latentwatch.generate.sample`."""
        from latentwatch import generate

        return generate.sample(self, n, random_state=random_state, source=source,
                               decode=decode, X=X, conditions=conditions,
                               max_draws=max_draws, temperature=temperature)

    def interpolate(self, a, b, steps: int = 8, path: str = "linear",
                    return_latent: bool = False):
        """Decode points on the latent path between two rows; see
        :func:`latentwatch.generate.interpolate`."""
        from latentwatch import generate

        return generate.interpolate(self, a, b, steps=steps, path=path,
                                    return_latent=return_latent)

    def attribute_vector(self, X_with, X_without) -> np.ndarray:
        """Mean latent code of ``X_with`` minus that of ``X_without``."""
        from latentwatch import generate

        return generate.attribute_vector(self.encode(X_with), self.encode(X_without))

    def apply_attribute(self, X, vector, strength: float = 1.0):
        """Decode ``encode(X) + strength * vector``; see
        :func:`latentwatch.generate.apply_attribute`."""
        from latentwatch import generate

        return generate.apply_attribute(self, X, vector, strength)

    def denoise(self, X, tolerance: float | None = 2.0):
        """Replace the cells of ``X`` that are unlikely under the row's reconstruction
        (``None``: every cell); see :func:`latentwatch.generate.denoise`."""
        from latentwatch import generate

        return generate.denoise(self, X, tolerance=tolerance)

    def explain(self, X, top_k: int = 3) -> list:
        """The columns that contribute most to each row's score, with what was observed
        and what the model expected; see :func:`latentwatch.explain.explain_rows`."""
        from latentwatch.explain import explain_rows

        return explain_rows(self, X, top_k=top_k)

    # -- derived, read-only views of the fitted state ------------------------------------
    @property
    def schema_(self) -> TableSchema:
        """The schema the model reads its rows with."""
        return self.codec_.schema_

    @property
    def window_(self) -> int | None:
        """Steps per window of a time-series model (None for a table model)."""
        context = self.codec_.context_rows
        return context + 1 if context else None

    @property
    def latent_dim_(self) -> int:
        return int(self.module_.latent_dim)

    @property
    def hidden_dims_(self) -> list[int]:
        return list(self.module_.hidden_dims)

    @property
    def n_epochs_(self) -> int:
        return len(self.history_["train_loss"])

    @property
    def latent_mixture_(self):
        """Alias of ``prior_``, the aggregate posterior's mixture summary."""
        return self.prior_

    @property
    def _n_features_out(self) -> int:
        return self.latent_dim_

    def save(self, path: str | Path, *, sign_key: Any = None) -> Path:
        """Write the fitted model to one safetensors file (atomically); see
        :func:`latentwatch.load`. With ``sign_key`` (an Ed25519 private key file or
        key), the file carries a signature over all of its contents that
        ``load(path, verify_key=...)`` checks (:mod:`latentwatch.signing`).

        Examples
        --------
        >>> import numpy as np, os, tempfile
        >>> from latentwatch import AutoEncoderDetector, load
        >>> from latentwatch.signing import write_key_pair
        >>> folder = tempfile.mkdtemp()
        >>> secret, public = write_key_pair(os.path.join(folder, "model.key"))
        >>> X = np.random.default_rng(0).normal(size=(100, 3))
        >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
        >>> path = model.save(os.path.join(folder, "m.lwm"), sign_key=secret)
        >>> type(load(path, verify_key=public)).__name__
        'AutoEncoderDetector'
        """
        from latentwatch import persistence

        return persistence.write_file(path, *self._file_contents(), sign_key=sign_key)

    def to_bytes(self, *, sign_key: Any = None) -> bytes:
        """The bytes of the model file :meth:`save` writes, without touching the disk (what
        the distributed adapters ship to workers); :func:`latentwatch.load_bytes` reads
        them back.

        Examples
        --------
        >>> import numpy as np
        >>> from latentwatch import VAEDetector, load_bytes
        >>> X = np.random.default_rng(0).normal(size=(100, 3))
        >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
        >>> bool((load_bytes(model.to_bytes()).anomaly_score(X) == model.anomaly_score(X)).all())
        True
        """
        from latentwatch import persistence

        return persistence.file_bytes(*self._file_contents(), sign_key=sign_key)

    def _file_contents(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The model file's tensors and JSON document; each part writes its own dict."""
        from latentwatch import __version__, persistence

        check_is_fitted(self, "module_")
        tensors = {persistence.MODULE + k: v.detach().cpu().contiguous()
                   for k, v in self.module_.state_dict().items()}
        for method, scores in self.threshold_state_.arrays().items():
            tensors[persistence.CALIBRATION + method] = persistence.as_tensor(scores)
        for name in persistence.PRIOR_FIELDS:
            tensors[persistence.PRIOR + name] = persistence.as_tensor(getattr(self.prior_, name))
        reference = getattr(self, "drift_reference_", None)
        meta = {
            "latentwatch_version": __version__,
            "class": type(self).__name__,
            "params": persistence.json_params(self.get_params(deep=False)),
            "codec": self.codec_.to_dict(),
            "model": {"name": self.module_.name,
                      "config": persistence.json_params(dataclasses.asdict(self.module_.config))},
            "threshold": self.threshold_state_.to_dict(),
            "fit": {"seed": int(self.seed_), "history": self.history_,
                    "input_kind": self.input_kind_,
                    "feature_names": None if self.input_kind_ == "array"
                    else [str(c) for c in self.feature_names_in_],
                    "n_features": int(self.n_features_in_)},
        }
        if reference is not None:
            tensors.update(persistence.drift_tensors(reference))
            meta["drift"] = persistence.drift_meta(reference)
        if getattr(self, "lineage_", None):
            meta["lineage"] = self.lineage_
        return tensors, meta

    def _set_file_contents(self, path: Path, meta: dict[str, Any],
                           tensors: dict[str, torch.Tensor], device: str | None) -> None:
        """Set the fitted state from a checked model file (see :func:`latentwatch.load`)."""
        from latentwatch import persistence
        from latentwatch.data import codec_from_dict
        from latentwatch.models.priors import LatentMixture

        fit = meta["fit"]
        self.seed_ = int(fit["seed"])
        self.history_ = fit["history"]
        self.input_kind_ = fit["input_kind"]
        self.n_features_in_ = int(fit["n_features"])
        if fit.get("feature_names") is not None:
            self.feature_names_in_ = np.asarray(fit["feature_names"], dtype=object)
        self.codec_ = codec_from_dict(meta["codec"])
        persistence.check_contents(path, meta, self.codec_, tensors)
        name = meta["model"]["name"]
        config = models.entry(name).config(
            **persistence.params_from_json(meta["model"]["config"]))
        weights = {k[len(persistence.MODULE):]: v for k, v in tensors.items()
                   if k.startswith(persistence.MODULE)}
        with torch.device("meta"):  # shapes first, without allocating anything
            persistence.check_shapes(path, models.build(name, config, self.codec_.shape),
                                     weights)
        self.module_ = models.build(name, config, self.codec_.shape)
        self.module_.load_state_dict(weights, strict=True)
        calibration = {k[len(persistence.CALIBRATION):]: v.numpy() for k, v in tensors.items()
                       if k.startswith(persistence.CALIBRATION)}
        self.threshold_state_ = thresholds.ThresholdState.from_dict(meta["threshold"], calibration)
        self.prior_ = LatentMixture(*(tensors[persistence.PRIOR + f].numpy()
                                      for f in persistence.PRIOR_FIELDS))
        self.drift_reference_ = persistence.read_drift(path, meta, tensors,
                                                       len(self.codec_.names))
        self.lineage_ = meta.get("lineage")
        self.device_ = str(resolve_device(device or self.device))
        self.module_.to(self.device_).eval()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
