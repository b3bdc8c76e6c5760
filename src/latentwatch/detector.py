"""The scikit-learn face of latentwatch: ``AutoEncoderDetector`` and ``VAEDetector``.

A detector composes the three wings: a codec from :mod:`latentwatch.data` reads the rows,
a model from :mod:`latentwatch.models` is trained and run by :mod:`latentwatch.engine`,
and :mod:`latentwatch.thresholds` draws the line. Its fitted state is a few objects:
``codec_``, ``module_``, ``thresholds_``, ``prior_``, ``history_`` and ``seed_``.
"""

from __future__ import annotations

import functools
import numbers
import warnings
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

from latentwatch import engine, models, thresholds
from latentwatch.data import codec_for
from latentwatch.data.codec import Encoded
from latentwatch.data.heads import TableHeads
from latentwatch.data.schema import TableSchema
from latentwatch.engine import scoring, seeds
from latentwatch.engine.device import resolve_device, seeded_torch, torch_threads
from latentwatch.engine.splits import split_rows
from latentwatch.models.priors import fit_latent_mixture


def _threads(method):
    """Run a public method with the estimator's torch threads (``n_jobs``)."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with torch_threads(self.n_jobs):
            return method(self, *args, **kwargs)

    return run


class _Detector(ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin, BaseEstimator):
    """Shared by both detectors; subclasses name their model and its config."""

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
    }

    # -- configuration -------------------------------------------------------------------
    def _model_config(self) -> Any:
        raise NotImplementedError

    def _codec_options(self) -> dict[str, Any]:
        return {}

    def _max_epochs(self) -> int | str:
        return self.max_epochs

    def _score_method(self) -> str:
        return "reconstruction_error"

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
        """The per-column likelihood heads over the codec."""
        return TableHeads(self.codec_)

    def as_output(self, frame: pd.DataFrame):
        """Decoded rows as the user gave them: an array for a model fitted on one."""
        if self.input_kind_ == "array":
            return frame.to_numpy(dtype=np.float64, na_value=np.nan)
        return frame

    # -- fitting -------------------------------------------------------------------------
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
        self._validate_params()
        frame = self._frame(X, reset=True)
        model_class = models.MODELS[self._model_name][0]
        strategy = thresholds.resolve_strategy(self.threshold, self.contamination,
                                               model_class.variational)
        self._check_score_method(strategy)
        thresholds.check_calibration_split(strategy, len(frame))
        training = self._training_config()
        self.seed_ = seeds.draw_seed(self.random_state)
        self.device_ = str(resolve_device(self.device))
        with torch_threads(self.n_jobs):
            rows = split_rows(len(frame), thresholds.calibration_fraction(strategy),
                              self.validation_fraction, seeds.rng(self.seed_, "splits"))
            self.codec_ = codec_for(frame, self.schema, time_column=self.time_column,
                                    window=self.window, **self._codec_options()
                                    ).fit(frame.iloc[rows.fit], gaps_in=frame)
            encoded = self.codec_.encode(frame)
            encoded.raise_for_problems()
            batch = encoded.packed
            if self.input_kind_ == "frame":
                self.feature_names_in_ = np.asarray(self.codec_.sources, dtype=object)
                self.n_features_in_ = len(self.codec_.sources)
            heads = self.heads_
            with seeded_torch(seeds.stream(self.seed_, "init")):
                self.module_ = models.build(self._model_name, self._model_config(),
                                            self.codec_.shape)
            self.module_.initialise_logits(torch.from_numpy(heads.marginal_logits(
                batch[rows.train])))
            self.module_.to(self.device_)
            device = torch.device(self.device_)
            train_rows = batch[rows.train]
            if hasattr(self.codec_, "training_rows"):  # a series: partial windows too
                train_rows = self.codec_.training_rows(train_rows,
                                                       seeds.rng(self.seed_, "window-masks"))
            self.history_ = engine.train(
                self.module_, heads,
                torch.from_numpy(train_rows).to(device, torch.float32),
                torch.from_numpy(batch[rows.validation]).to(device, torch.float32),
                training, self.seed_)
            self.module_.eval()
            held_out = rows.validation if len(rows.validation) else rows.train
            scoring.fit_score_state(self.module_, heads, batch[held_out], self.seed_,
                                    self.device_)
            self.thresholds_ = thresholds.fit_threshold(
                strategy, **self._threshold_scores(strategy, batch, rows))
            self.prior_ = self._fit_prior(batch[rows.fit])
        self._warn_if_still_improving(stacklevel=3)
        return self

    def _warn_if_still_improving(self, stacklevel: int) -> None:
        """A ConvergenceWarning when an explicit ``max_epochs`` ended a still-improving fit."""
        if self.history_["still_improving"] and self.max_epochs != "auto":
            warnings.warn(
                f"training stopped at max_epochs={len(self.history_['train_loss'])} with the "
                "validation loss still falling; a larger max_epochs may fit better",
                ConvergenceWarning, stacklevel=stacklevel)

    def fit_dataset(self, path_or_glob: str | Path, *, fmt: str | None = None,
                    checkpoint_dir: str | Path | None = None, resume: bool = False,
                    chunk_rows: int = 100_000, shuffle_rows: int = 65_536,
                    max_validation_rows: int = 50_000, max_calibration_rows: int = 50_000,
                    skip_bad_rows: bool = False, num_workers: int = 0):
        """Fit on a folder or glob of Parquet or CSV files larger than memory.

        Two streaming passes learn the schema (from a uniform sample of 100,000 rows)
        and the codec's statistics; training then streams shuffled row groups, with
        early stopping on a hashed validation sample and a checkpoint after every epoch.
        Under ``torchrun --nproc-per-node N`` it trains one model with
        DistributedDataParallel. The model is an ordinary one: it saves, loads and
        scores as a model from ``fit`` (see :mod:`latentwatch.scale`).

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
        from latentwatch.scale import fit_dataset

        return fit_dataset(self, path_or_glob, fmt=fmt, checkpoint_dir=checkpoint_dir,
                           resume=resume, chunk_rows=chunk_rows, shuffle_rows=shuffle_rows,
                           max_validation_rows=max_validation_rows,
                           max_calibration_rows=max_calibration_rows,
                           skip_bad_rows=skip_bad_rows, num_workers=num_workers)

    def _all_scores(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        scores = scoring.all_scores(self.module_, self.heads_, rows, self.seed_, self.device_)
        scale = self._window_scale(rows)
        return scores if scale is None else {m: s * scale for m, s in scores.items()}

    def _window_scale(self, rows: np.ndarray) -> np.ndarray | None:
        """A time-series model's per-row factor to a full window's scale (see
        ``WindowCodec.full_window_scale``); None for a table model."""
        scale = getattr(self.codec_, "full_window_scale", None)
        return None if scale is None else scale(rows)

    def _threshold_scores(self, strategy, batch: np.ndarray, rows) -> dict:
        """Every score method's scores of the rows a threshold is fitted on: the training
        rows (for a contamination share, or without a validation split), the validation
        rows and the calibration split."""
        def scores(index: np.ndarray) -> dict[str, np.ndarray] | None:
            return self._all_scores(batch[index]) if len(index) else None

        need_training = thresholds.needs_training_scores(strategy) or not len(rows.validation)
        return {"training": scores(rows.fit) if need_training else None,
                "validation": scores(rows.validation),
                "calibration": scores(rows.calibration)}

    def _fit_prior(self, rows: np.ndarray):
        """The aggregate posterior's summary: a mixture fitted on one posterior draw per
        training row."""
        mu, var = scoring.posterior(self.module_, self.heads_, rows, self.device_)
        draws = mu + np.sqrt(var) * seeds.rng(self.seed_, "mixture-draws").standard_normal(
            mu.shape)
        return fit_latent_mixture(draws, seeds.stream(self.seed_, "mixture-fit"))

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
        scale = self._window_scale(rows)
        return (scores, parts) if scale is None else (scores * scale, parts * scale[:, None])

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
        check_is_fitted(self, "thresholds_")
        return self.thresholds_.for_method(self._score_method()).offset

    @property
    def threshold_(self) -> thresholds.ThresholdStrategy | None:
        """The strategy in force (None for ``contamination="auto"``)."""
        check_is_fitted(self, "thresholds_")
        return self.thresholds_.strategy

    @property
    def calibration_scores_(self) -> np.ndarray | None:
        """Sorted calibration scores behind ``p_values`` (current ``score_method``)."""
        check_is_fitted(self, "thresholds_")
        return self.thresholds_.for_method(self._score_method()).calibration_scores

    @property
    def calibration_source_(self) -> str | None:
        """``"calibration_split"``, ``"calibrate"``, ``"validation"`` or None."""
        check_is_fitted(self, "thresholds_")
        return self.thresholds_.source

    def _check_score_method(self, strategy) -> None:
        """Refuse a log-likelihood threshold with a score that is not a ``log p(x)``."""
        if (isinstance(strategy, thresholds.LogLikelihood)
                and self._score_method() not in thresholds.LIKELIHOOD_METHODS):
            raise ValueError(
                "the log_likelihood threshold compares score_samples, a log-probability, "
                f"with a fixed value: it needs score_method in {thresholds.LIKELIHOOD_METHODS}"
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
        model_class = models.MODELS[self._model_name][0]
        strategy = thresholds.resolve_strategy(self.threshold, self.contamination,
                                               model_class.variational)
        with torch_threads(self.n_jobs):
            scores = self._all_scores(self._rows(X_normal))
        self.thresholds_ = thresholds.recalibrate(self.thresholds_, strategy, scores)
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
        return getattr(self.codec_, "window", None)

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

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one safetensors file; see :func:`latentwatch.load`."""
        from latentwatch.persistence import save_model

        return save_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_COMMON_DOC = """
    hidden_dims : sequence of int or None, default=None
        Widths of the encoder's hidden layers (the decoder mirrors them). ``None``
        derives them from the input width (see ``models.layers.default_hidden_dims``).
    latent_dim : int or None, default=None
        Size of the latent layer; ``None`` gives ``clip(round(sqrt(n_inputs)), 2, 32)``.
    max_epochs : int or "auto", default="auto"
        Upper bound on training epochs; early stopping often ends training sooner.
        ``"auto"`` gives ``clip(3e5 / n_rows, 10, 30)``: short on purpose (an unlabelled
        training set's anomalies are then reconstructed less well), so ``history_``
        records when training reached it still improving (``still_improving``); with an
        explicit number a ``ConvergenceWarning`` says so too.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` gives about 16 steps per epoch (128 to 4096 rows).
    learning_rate : float, default=4e-3
        Adam's step size.
    weight_decay : float, default=0.0
        Adam's L2 penalty.
    patience : int, default=10
        Epochs without improvement of the validation loss before training stops; the
        best epoch's weights are restored.
    validation_fraction : float, default=0.1
        Share of the rows held out for early stopping and the ``"auto"`` threshold
        (none when fewer than 50 rows).
    trim_fraction : float in [0, 1), default=0.0
        Share of each mini-batch's highest-loss rows left out of the training loss.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Used when ``threshold`` is None. A float sets the threshold at that quantile of
        the training scores (as IsolationForest does); ``"auto"`` flags 1% of the
        held-out validation rows.
    threshold : ThresholdStrategy, dict, str or None, default=None
        How the threshold is set, and what it means (see :mod:`latentwatch.thresholds`):
        ``Contamination(share)``, ``FalseAlarmRate(rate)`` or, for the VAE,
        ``LogLikelihood(min_log_likelihood)``; also as a dict or text
        (``"false_alarm_rate:0.01"``). The threshold is fitted for every score method,
        so ``set_params(score_method=...)`` after ``fit`` keeps its meaning.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    n_jobs : int or None, default=None
        Torch CPU threads during fit and scoring; ``None`` means 1, ``-1`` all cores.
    random_state : int, RandomState or None, default=None
        Seeds the seed ``seed_`` from which every draw of the fit comes (named streams).
    verbose : bool, default=False
        Show a progress bar with the training and validation loss.
    schema : TableSchema, dict, "infer" or None, default=None
        How to read a table. ``None``: a numeric array, or a DataFrame whose columns are
        all numbers, is a numeric matrix (every column Gaussian, gaps masked); any other
        DataFrame gets an inferred schema. ``"infer"``: always infer one (log scales,
        categorical integers). A dict (the schema-file form) overrides the inference
        for the columns it names; a ``TableSchema`` is used as it is.
    training : dict or None, default=None
        Further fields of :class:`latentwatch.engine.TrainingConfig` (the tuning
        constants of "auto" epochs and batches, the improvement tolerance).
    time_column : str or None, default=None
        Makes ``X`` a time series ordered by this column (numbers or timestamps): each
        row is scored on the window of its last ``window`` steps of every channel (every
        other numeric column), with gaps, skipped timestamps and the steps before the
        start masked (see :mod:`latentwatch.data.windows`).
    window : int, "auto" or None, default=None
        Steps per window; ``"auto"`` (or ``None`` with a ``time_column``) chooses it from
        the dominant period of the training series. A window without a time column takes
        the rows as consecutive steps.
"""

_COMMON_ATTRIBUTES = """
    Attributes
    ----------
    codec_ : latentwatch.data.codec.TableCodec
        How rows are read and written: schema, scales, ranges, categories, gaps.
    module_ : torch.nn.Module
        The trained network (a model of :mod:`latentwatch.models`).
    thresholds_ : latentwatch.thresholds.ThresholdState
        The threshold of every score method and the calibration scores.
    prior_ : latentwatch.models.priors.LatentMixture
        Gaussian-mixture summary of the training rows' latent codes (the aggregate
        posterior), used by ``sample(source="aggregate_posterior")``.
    history_ : dict
        ``train_loss`` and ``val_loss`` per epoch, ``best_epoch``, ``still_improving``.
    seed_ : int
        Seed drawn from ``random_state`` in ``fit``.
    input_kind_ : {"array", "frame"}
        What ``fit`` was given; decoded rows come back the same way.
    offset_, threshold_, calibration_scores_, calibration_source_ : views of ``thresholds_``
    schema_, latent_dim_, hidden_dims_, n_epochs_ : views of the other fitted objects
    n_features_in_ : int
    feature_names_in_ : np.ndarray
        For a DataFrame, the columns the model reads.
"""


class AutoEncoderDetector(_Detector):
    __doc__ = (
        """Autoencoder anomaly detector: the score is the reconstruction error in nats.

    An hourglass MLP maps each row to a latent point and back and is trained on the mean
    point error. The score of a row is the sum over its columns of
    ``0.5 * (log(2 pi) + (x_j - x_hat_j)^2)`` for a standardised numeric column (the
    squared error, up to scale and shift) and the cross-entropy of a category or boolean.

    Parameters
    ----------"""
        + _COMMON_DOC
        + _COMMON_ATTRIBUTES
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 4))
    >>> AutoEncoderDetector(max_epochs=2, random_state=0).fit(X).predict(X[:2]).shape
    (2,)
"""
    )

    _model_name = "ae"

    def __init__(
        self,
        *,
        hidden_dims: Sequence[int] | None = None,
        latent_dim: int | None = None,
        max_epochs: int | str = "auto",
        batch_size: int | str = "auto",
        learning_rate: float = 4e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        validation_fraction: float = 0.1,
        trim_fraction: float = 0.0,
        contamination: str | float = "auto",
        threshold: thresholds.ThresholdStrategy | dict | str | None = None,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        schema: TableSchema | dict | str | None = None,
        training: dict | None = None,
        time_column: str | None = None,
        window: int | str | None = None,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.trim_fraction = trim_fraction
        self.contamination = contamination
        self.threshold = threshold
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.schema = schema
        self.training = training
        self.time_column = time_column
        self.window = window

    def _model_config(self) -> models.AEConfig:
        return models.AEConfig(hidden_dims=self.hidden_dims, latent_dim=self.latent_dim)


class VAEDetector(_Detector):
    __doc__ = (
        """Variational autoencoder anomaly detector scored by its importance-weighted
    estimate of ``-log p(x)``.

    The encoder gives a diagonal Gaussian ``q(z|x)``; the decoder gives, for every
    column, a distribution (a Gaussian with a learned, bounded variance for numbers, a
    softmax for categories, a Bernoulli for booleans and gaps). Training minimises the
    negative ELBO ``-E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I))``.

    Parameters
    ----------
    score_method : {"reconstruction_probability", "capped_reconstruction_probability", \
"elbo", "reconstruction_error", "importance_weighted"}, default="importance_weighted"
        ``"reconstruction_probability"`` (An & Cho, 2015):
        ``-log((1/L) sum_l p(x | z_l))`` with ``z_l ~ q(z|x)``;
        ``"capped_reconstruction_probability"``: the same with each column's likelihood
        capped at its typical value (the median over held-out rows of ``-log p(x_j|z)``);
        ``"elbo"``: the negative ELBO with ``beta = 1``; ``"reconstruction_error"``:
        the point errors of the decoder mean at the posterior mean;
        ``"importance_weighted"``: the importance-weighted estimate of ``-log p(x)``,
        ``-log((1/L) sum_l p(x | z_l) p(z_l) / q(z_l | x))`` (a density, with the prior;
        its latent part is shared over the columns). Only used when
        scoring; the threshold is fitted for each, so it can be changed with
        ``set_params`` after ``fit``.
    n_samples : int, default=16
        ``L``, the latent samples per row when scoring (fixed at ``fit``).
    beta : float or None, default=None
        Weight of the KL term in the training loss; ``None``: 1 (the ELBO), or the
        generative recipe's value with ``purpose="generate"``.
    kl_warmup_epochs : int, default=0
        Epochs over which the KL weight rises linearly from 0 to ``beta``.
    prior_components : int, default=0
        Components of a learnable Gaussian-mixture prior in place of ``N(0, I)`` (0: the
        standard-normal prior); for normal data with several modes.
    purpose : {"detect", "generate"}, default="detect"
        ``"generate"`` fits with the generative recipe that the generative benchmark
        (``benchmarks/generative_quality.py``) measured best for synthetic rows
        (:data:`latentwatch.generate.GENERATIVE_RECIPE`): discrete and zero-heavy numeric
        columns read as normal scores of their training quantiles (exact point masses, see
        :mod:`latentwatch.data.quantiles`), a smaller KL weight and more latent
        dimensions (a tighter posterior, less blur) and longer training; the parameters
        left at ``None`` or ``"auto"`` take the recipe's values. Scores still work, but
        the quantile transform reads every value beyond the training range of such a
        column as its end, so keep ``"detect"`` for anomaly detection."""
        + _COMMON_DOC
        + _COMMON_ATTRIBUTES
        + """    feature_nll_median_ : np.ndarray of shape (n_columns,)
        The capped score's per-column caps (the model's ``nll_caps`` buffer).

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import VAEDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 4))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 4)
"""
    )

    _model_name = "vae"

    _parameter_constraints: dict = {
        **_Detector._parameter_constraints,
        "score_method": [StrOptions(set(models.vae.SCORE_METHODS))],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "kl_warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "prior_components": [Interval(numbers.Integral, 0, None, closed="left")],
        "purpose": [StrOptions({"detect", "generate"})],
        "beta": [None, Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        score_method: str = "importance_weighted",
        n_samples: int = 16,
        beta: float | None = None,
        kl_warmup_epochs: int = 0,
        prior_components: int = 0,
        purpose: str = "detect",
        hidden_dims: Sequence[int] | None = None,
        latent_dim: int | None = None,
        max_epochs: int | str = "auto",
        batch_size: int | str = "auto",
        learning_rate: float = 4e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        validation_fraction: float = 0.1,
        trim_fraction: float = 0.0,
        contamination: str | float = "auto",
        threshold: thresholds.ThresholdStrategy | dict | str | None = None,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        schema: TableSchema | dict | str | None = None,
        training: dict | None = None,
        time_column: str | None = None,
        window: int | str | None = None,
    ) -> None:
        self.score_method = score_method
        self.n_samples = n_samples
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.prior_components = prior_components
        self.purpose = purpose
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.trim_fraction = trim_fraction
        self.contamination = contamination
        self.threshold = threshold
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.schema = schema
        self.training = training
        self.time_column = time_column
        self.window = window

    def _recipe(self, name: str, value: Any, unset: Any = None) -> Any:
        """``value``, or the generative recipe's ``name`` when ``value`` is ``unset`` and
        ``purpose="generate"``."""
        from latentwatch.generate import GENERATIVE_RECIPE

        if self.purpose == "generate" and (value is None if unset is None else value == unset):
            return GENERATIVE_RECIPE[name]
        return value

    def _codec_options(self) -> dict[str, Any]:
        if self.purpose == "generate":
            from latentwatch.generate import GENERATIVE_RECIPE

            return {"numeric_transform": GENERATIVE_RECIPE["numeric_transform"]}
        return {}

    def _max_epochs(self) -> int | str:
        return self._recipe("max_epochs", self.max_epochs, "auto")

    def _training_defaults(self) -> dict[str, Any]:
        if self.purpose != "generate":
            return {}
        from latentwatch.generate import GENERATIVE_RECIPE

        return {"auto_steps_per_epoch": GENERATIVE_RECIPE["auto_steps_per_epoch"]}

    def _model_config(self) -> models.VAEConfig:
        beta = self._recipe("beta", self.beta)
        latent_dim = self.latent_dim
        if latent_dim is None and self.purpose == "generate":
            latent_dim = generative_latent_dim(self.codec_.shape.n_inputs)
        return models.VAEConfig(hidden_dims=self.hidden_dims, latent_dim=latent_dim,
                                n_samples=self.n_samples,
                                beta=1.0 if beta is None else float(beta),
                                kl_warmup_epochs=self.kl_warmup_epochs,
                                prior_components=self.prior_components)

    def _score_method(self) -> str:
        return self.score_method

    @property
    def feature_nll_median_(self) -> np.ndarray:
        return self.module_.nll_caps.detach().double().cpu().numpy()


def generative_latent_dim(n_inputs: int) -> int:
    """The generative recipe's latent size: ``latent_factor`` times the default,
    ``clip(round(f * sqrt(n_inputs)), 2, 32)``."""
    from latentwatch.generate import GENERATIVE_RECIPE

    factor = float(GENERATIVE_RECIPE["latent_factor"])
    return int(np.clip(round(factor * np.sqrt(n_inputs)), 2, 32))


DETECTORS: dict[str, type[_Detector]] = {"ae": AutoEncoderDetector, "vae": VAEDetector}
