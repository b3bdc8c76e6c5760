"""The two scikit-learn-compatible detectors: ``AutoEncoderDetector`` and ``VAEDetector``."""

from __future__ import annotations

import copy
import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from latentwatch import maths
from latentwatch.calibration import ThresholdMixin, _split_calibration
from latentwatch.device import resolve_device, seeded_torch, torch_threads
from latentwatch.encoding import fit_layout
from latentwatch.generative import GenerativeMixin
from latentwatch.likelihood import GaussianHeads, TableHeads, as_numpy, heads_for
from latentwatch.networks import (
    HourglassAE,
    HourglassVAE,
    default_hidden_dims,
    default_latent_dim,
)
from latentwatch.scaling import fit_standardizer, standardize
from latentwatch.schema import TableSchema
from latentwatch.tables import TableMixin, _as_frame, _is_table, _resolve_schema
from latentwatch.thresholds import (
    FalseAlarmRate,
    ThresholdStrategy,
)
from latentwatch.training import TrainingConfig, split_validation, train

# Largest number of float64 elements one scoring batch may hold in its widest (samples, rows,
# layer width) tensor, hidden layers included: 32 MB.
_SCORING_ELEMENTS = 2**22



def _median_of_active(values: np.ndarray, active: np.ndarray | None) -> np.ndarray:
    """Median of each column over its active entries (those with a likelihood term);
    ``-inf``, i.e. no cap, for a column without any."""
    if active is None:
        return np.median(values, axis=0)
    present = active > 0
    medians = np.full(values.shape[1], -np.inf)
    columns = present.any(axis=0)
    medians[columns] = np.nanmedian(np.where(present, values, np.nan)[:, columns], axis=0)
    return medians


class _BaseDetector(
    ThresholdMixin,
    TableMixin,
    GenerativeMixin,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared fit/score machinery. Subclasses define the network, its loss and its scores."""

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
        "threshold": [None, ThresholdStrategy, dict, str],
        "device": [str],
        "n_jobs": [None, Interval(numbers.Integral, -1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
        "schema": [None, StrOptions({"infer"}), dict, TableSchema],
    }

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Encode ``X``, train the network with early stopping and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas.DataFrame
            Training rows. Anomalies may be among them. A numeric array (or a DataFrame
            of numbers without gaps, unless ``schema`` is given) is standardised and every
            feature modelled as a Gaussian. Any other DataFrame is a table: its schema
            is inferred (or taken from ``schema``), and it may hold text, categorical,
            boolean and datetime columns and missing values.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        if _is_table(X, self.schema):
            with torch_threads(self.n_jobs):
                return self._fit_table(_as_frame(X))
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        with torch_threads(self.n_jobs):
            return self._fit(X)

    def _start_fit(self, n_rows: int) -> tuple:
        """Draw ``seed_``, resolve the device and split off the calibration rows.

        Returns
        -------
        strategy, rng, fitting_rows, calibration_rows
        """
        strategy = self._threshold_strategy()
        rng = check_random_state(self.random_state)
        self.seed_ = int(rng.randint(np.iinfo(np.int32).max))
        self.device_ = str(resolve_device(self.device))
        fitting_rows, calibration_rows = np.arange(n_rows), np.empty(0, dtype=np.intp)
        if isinstance(strategy, FalseAlarmRate) and strategy.calibration_fraction > 0:
            fitting_rows, calibration_rows = _split_calibration(n_rows, strategy, rng)
        return strategy, rng, fitting_rows, calibration_rows

    def _fit(self, X: np.ndarray):
        self.schema_, self.layout_ = None, None
        strategy, rng, fitting_rows, calibration_rows = self._start_fit(X.shape[0])
        X_fit = X[fitting_rows] if len(calibration_rows) else X
        self.mean_, self.scale_ = fit_standardizer(X_fit)
        Xs = standardize(X_fit, self.mean_, self.scale_)
        calibration = standardize(X[calibration_rows], self.mean_, self.scale_)
        self._fit_rows(Xs, calibration, strategy, rng)
        self._fit_generative(X_fit, Xs)
        return self

    def _fit_table(self, frame: pd.DataFrame):
        if len(frame) < 2:
            raise ValueError(f"Found array with {len(frame)} sample(s) (shape={frame.shape}) "
                             "while a minimum of 2 is required.")
        strategy, rng, fitting_rows, calibration_rows = self._start_fit(len(frame))
        fitting = frame.iloc[fitting_rows]
        schema = _resolve_schema(self.schema, fitting)
        layout = fit_layout(fitting, schema)
        encoded = layout.encode(frame)
        encoded.raise_for_problems()
        self.schema_, self.layout_ = schema, layout
        self.feature_names_in_ = np.asarray(layout.sources, dtype=object)
        self.n_features_in_ = len(layout.sources)
        numeric = [layout.blocks[j] for j in layout.numeric]
        self.mean_ = np.array([b.mean for b in numeric], dtype=np.float64)
        self.scale_ = np.array([b.scale for b in numeric], dtype=np.float64)
        rows = encoded.packed[fitting_rows]
        self._fit_rows(rows, encoded.packed[calibration_rows], strategy, rng)
        self._fit_latent_mixture(rows)
        for matrix_only in ("data_min_", "data_max_", "integer_columns_"):
            self.__dict__.pop(matrix_only, None)  # a refit from a matrix must not keep them
        return self

    def _fit_rows(self, rows: np.ndarray, calibration: np.ndarray, strategy, rng) -> None:
        """Train on encoded rows (standardised values, or packed table rows) and set the
        threshold."""
        n_inputs = self._network_shape(self.n_features_in_)[0]
        self.hidden_dims_ = [int(h) for h in (
            self.hidden_dims if self.hidden_dims is not None else default_hidden_dims(n_inputs)
        )]
        self.latent_dim_ = int(self.latent_dim or default_latent_dim(n_inputs))
        train_rows, val_rows = split_validation(rows.shape[0], self.validation_fraction, rng)
        with seeded_torch(self.seed_):
            self.module_ = self._build_module(self.n_features_in_).to(self.device_)
        device = torch.device(self.device_)
        heads = self._heads()
        self.history_ = train(
            self.module_,
            lambda module, xb, gen, epoch: self._row_loss(module, xb, gen, epoch, heads),
            torch.from_numpy(rows[train_rows]).to(device, torch.float32),
            torch.from_numpy(rows[val_rows]).to(device, torch.float32),
            self._training_config(),
            self.seed_,
        )
        self.n_epochs_ = len(self.history_["train_loss"])
        self.module_.eval()
        self._fit_score_state(rows[val_rows] if len(val_rows) else rows[train_rows])
        self._set_threshold(strategy, rows, rows[val_rows], calibration)

    def _network_shape(self, n_features: int) -> tuple[int, int | None, int]:
        """Encoder inputs, real-valued decoder outputs and logits of the network."""
        layout = getattr(self, "layout_", None)
        if layout is None:
            return n_features, None, 0
        return layout.input_width, layout.n_outputs, layout.n_logits

    def _heads(self) -> GaussianHeads | TableHeads:
        return heads_for(getattr(self, "layout_", None), self.n_features_in_)

    def _training_config(self) -> TrainingConfig:
        return TrainingConfig(
            max_epochs=self.max_epochs,
            trim_fraction=self.trim_fraction,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            patience=self.patience,
            validation_fraction=self.validation_fraction,
            verbose=self.verbose,
        )

    def _prepare(self, X) -> np.ndarray:
        check_is_fitted(self, "module_")
        if getattr(self, "layout_", None) is not None:
            encoded = self.layout_.encode(self._frame(X))
            encoded.raise_for_problems()
            return encoded.packed
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return standardize(X, self.mean_, self.scale_)

    def _scoring_network(self) -> nn.Module:
        """A float64 copy of the network: scores then do not depend, even in the last
        float32 bits, on how the rows are batched."""
        return copy.deepcopy(self.module_).double().eval()

    def _scoring_batch_rows(self, n_columns: int, samples_per_row: int) -> int:
        """Rows per scoring batch, so that its widest tensor stays within _SCORING_ELEMENTS."""
        widest = max(n_columns, *self.hidden_dims_)
        if getattr(self, "layout_", None) is not None:
            widest = max(widest, self.layout_.n_logits + 2 * self.layout_.n_outputs)
        return max(1, _SCORING_ELEMENTS // (samples_per_row * widest))

    def _map_batches(self, Xs: np.ndarray, samples_per_row: int, fn) -> list:
        """``fn(net, batch, heads)`` on bounded-memory float64 batches of encoded rows, with
        the float64 scoring network; the list of its results, one per batch."""
        step = self._scoring_batch_rows(Xs.shape[1], samples_per_row)
        device = torch.device(self.device_)
        heads = self._heads()
        with torch.no_grad(), torch_threads(self.n_jobs):
            net = self._scoring_network()
            return [fn(net, torch.from_numpy(Xs[start:start + step]).to(device, torch.float64),
                       heads) for start in range(0, Xs.shape[0], step)]

    def _scores_standardized(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row scores and per-feature scores of encoded rows, in bounded-memory batches."""
        parts = self._map_batches(Xs, self._samples_per_row(), lambda net, xb, heads: [
            t.double().cpu().numpy() for t in self._score_batch(net, xb, heads)])
        if not parts:
            return np.empty(0), np.empty((0, self._heads().n_blocks))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _samples_per_row(self) -> int:
        return 1

    def _fit_score_state(self, rows: np.ndarray) -> None:
        """Learn what a score needs from held-out encoded rows (nothing by default)."""

    def anomaly_score(self, X) -> np.ndarray:
        """Anomaly score of each row: higher = more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        np.ndarray of shape (n_samples,)
        """
        return self._scores_standardized(self._prepare(X))[0]

    def feature_scores(self, X) -> np.ndarray:
        """Per-feature contributions to the anomaly score; each row sums to its score.

        For a table, one column per modelled column (a datetime column gives one per
        derived feature), in the order of ``table_layout().names``; a missing entry of a
        column without modelled gaps contributes 0.

        Returns
        -------
        np.ndarray of shape (n_samples, n_features)
        """
        return self._scores_standardized(self._prepare(X))[1]

    def score_samples(self, X) -> np.ndarray:
        """Normality of each row (``-anomaly_score``): lower = more abnormal."""
        return -self.anomaly_score(X)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers."""
        check_is_fitted(self, "module_")
        self._check_threshold_ready()
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """``-1`` for outliers and ``+1`` for inliers, at the model's threshold (``threshold_``)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def transform(self, X) -> np.ndarray:
        """Latent code of each row (the posterior mean for the VAE).

        Returns
        -------
        np.ndarray of shape (n_samples, latent_dim_)
        """
        Xs = self._prepare(X)
        with torch.no_grad(), torch_threads(self.n_jobs):
            xs = torch.from_numpy(Xs).to(torch.device(self.device_), torch.float64)
            z = self._encode_mean(self._scoring_network(), self._heads().inputs(xs))
        return z.double().cpu().numpy()

    def reconstruct(self, X) -> np.ndarray:
        """The network's reconstruction of each row, in the input's units.

        For the AE the decoder output; for the VAE the decoder mean at the posterior
        mean. It is what the model "expected" to see for the row. For a table: the
        most probable category or boolean of those columns, and missing entries filled in.

        Returns
        -------
        np.ndarray of shape (n_samples, n_features_in_), or pandas.DataFrame for a table
            A table comes back in its original units and labels (see
            :meth:`TableLayout.to_frame`).
        """
        Xs = self._prepare(X)
        with torch.no_grad(), torch_threads(self.n_jobs):
            xs = torch.from_numpy(Xs).to(torch.device(self.device_), torch.float64)
            net = self._scoring_network()
            if getattr(self, "layout_", None) is None:
                reconstruction = self._decode_mean(net, xs)
                return reconstruction.cpu().numpy() * self.scale_ + self.mean_
            heads = self._heads()
            out, _, logits = self._decode_outputs(net, self._encode_mean(net, heads.inputs(xs)))
            values = as_numpy(heads.expected(out, logits))
        return self.layout_.to_frame(values)

    @property
    def _n_features_out(self) -> int:
        return self.latent_dim_

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one safetensors file (weights + JSON metadata).

        See :func:`latentwatch.load`.
        """
        from latentwatch.persistence import save_model

        return save_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # -- for subclasses ------------------------------------------------------------------
    def _build_module(self, n_features: int) -> nn.Module:
        raise NotImplementedError

    def _row_loss(self, module, xb, gen, epoch, heads=None) -> torch.Tensor:
        raise NotImplementedError

    def _score_batch(
        self, net: nn.Module, xb: torch.Tensor, heads=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Row scores ``(n,)`` and per-feature scores ``(n, d)`` of an encoded batch."""
        raise NotImplementedError

    def _encode_mean(self, net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _decode_outputs(
        self, net: nn.Module, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Decoder outputs at ``z``: real-valued outputs (means), log-variances (``None``
        for the AE) and logits."""
        raise NotImplementedError

    def _decode_mean(self, net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _encode_posterior(
        self, net: nn.Module, xb: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance ``(n, latent_dim)`` of a standardised batch."""
        raise NotImplementedError

    def _decode_latent(
        self, net: nn.Module, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decoder mean and log-variance (``None`` for the AE) at latent points."""
        raise NotImplementedError


_COMMON_DOC = """
    hidden_dims : sequence of int or None, default=None
        Widths of the encoder's hidden layers (the decoder mirrors them). ``None``
        derives them from the number of features (see ``default_hidden_dims``).
    latent_dim : int or None, default=None
        Size of the latent layer; ``None`` gives ``clip(round(sqrt(n_features)), 2, 32)``.
    max_epochs : int or "auto", default="auto"
        Upper bound on training epochs; early stopping often ends training sooner.
        ``"auto"`` gives ``clip(3e5 / n_rows, 10, 30)``: fewer epochs for big data. Short
        training also reconstructs anomalies among the training rows less well: on the
        ADBench suite it beat the earlier ``clip(2e6 / n_rows, 20, 200)`` rule on both
        AUC-ROC and fit time (benchmarks/README.md).
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
        Share of each mini-batch's highest-loss rows left out of the training loss, so
        that anomalies among unlabelled training rows pull less on the model.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Used when ``threshold`` is None. A float sets the threshold at that quantile of
        the training scores (as IsolationForest does). ``"auto"`` sets it so that 1% of
        the held-out validation rows are flagged; for a false-alarm rate with a
        guarantee, use ``threshold=FalseAlarmRate(0.01)`` instead.
    threshold : ThresholdStrategy, dict, str or None, default=None
        How the threshold is set, and what it means (see :mod:`latentwatch.thresholds`):
        ``Contamination(share)``, ``FalseAlarmRate(rate)`` (at most that share of normal
        rows flagged, calibrated by split conformal prediction) or, for the VAE,
        ``LogLikelihood(min_log_likelihood)``; also as a dict (``{"kind":
        "false_alarm_rate", "rate": 0.01}``) or text (``"false_alarm_rate:0.01"``).
        ``None`` leaves the threshold to ``contamination``; setting both is an error.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    n_jobs : int or None, default=None
        Torch CPU threads during fit and scoring; ``None`` means 1, ``-1`` all cores.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, batching, the validation split and the scoring samples.
    verbose : bool, default=False
        Show a progress bar with the training and validation loss.
    schema : TableSchema, dict, "infer" or None, default=None
        How to read a table (see :mod:`latentwatch.schema`). ``None``: a numeric array,
        or a DataFrame of numbers without gaps, is a matrix of Gaussian features; any
        other DataFrame gets an inferred schema. ``"infer"``: always infer one (e.g. to
        get log scales on a numeric table). A dict (the schema-file form) overrides the
        inference for the columns it names; a ``TableSchema`` is used as it is.
"""

_COMMON_ATTRIBUTES = """
    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    mean_, scale_ : np.ndarray of shape (n_features_in_,)
        Standardisation statistics.
    offset_ : float or None
        Threshold: ``decision_function = score_samples - offset_``; None only for a
        ``FalseAlarmRate`` with ``calibration_fraction=0`` before ``calibrate``.
    threshold_ : ThresholdStrategy or None
        The strategy in force: the ``threshold`` parameter, ``Contamination(c)`` for a
        float ``contamination``, None for ``contamination="auto"``.
    calibration_scores_ : np.ndarray or None
        Sorted anomaly scores of the calibration rows behind ``p_values``.
    calibration_source_ : {"calibration_split", "calibrate", "validation"} or None
        Where they come from: the ``FalseAlarmRate`` calibration split, a ``calibrate``
        call, or the early-stopping validation rows (approximate p-values).
    history_ : dict
        ``train_loss`` and ``val_loss`` per epoch.
    n_epochs_ : int
        Epochs trained.
    hidden_dims_, latent_dim_ : list of int, int
        The architecture used.
    seed_ : int
        Seed drawn from ``random_state`` in ``fit``.
    n_features_in_ : int
    feature_names_in_ : np.ndarray
        Present when ``X`` was a DataFrame with string column names; for a table, the
        columns the model reads.
    schema_ : TableSchema or None
        The schema of a table (``None`` for a numeric matrix).
    layout_ : TableLayout or None
        Learned encoding of a table: categories, scales, gaps (``None`` for a matrix).
        For a table, ``mean_`` and ``scale_`` hold the numeric columns' statistics.
    data_min_, data_max_ : np.ndarray of shape (n_features_in_,)
        Range of each column of a numeric matrix in training; generated rows are
        clipped to it (tables are decoded by their layout instead).
    integer_columns_ : np.ndarray of bool, shape (n_features_in_,)
        Matrix columns that held only integers in training; generated rows round them.
    latent_mixture_ : latentwatch.generative.LatentMixture
        Gaussian-mixture summary of the training rows' latent codes, used by
        ``sample(source="aggregate_posterior")``.
"""


class AutoEncoderDetector(_BaseDetector):
    __doc__ = (
        """Autoencoder anomaly detector: the score is the squared reconstruction error.

    An hourglass MLP maps each standardised row to a latent point and back and is
    trained on mean squared reconstruction error. The anomaly score of a row is the sum
    over features of ``(x_j - x_hat_j)^2`` in standardised units.

    Parameters
    ----------"""
        + _COMMON_DOC
        + _COMMON_ATTRIBUTES
    )

    def __init__(
        self,
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
        threshold: ThresholdStrategy | dict | str | None = None,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        schema: TableSchema | dict | str | None = None,
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

    def _build_module(self, n_features: int) -> nn.Module:
        n_inputs, n_outputs, n_logits = self._network_shape(n_features)
        return HourglassAE(n_inputs, self.hidden_dims_, self.latent_dim_, n_outputs, n_logits)

    def _row_loss(self, module, xb, gen, epoch, heads=None) -> torch.Tensor:
        heads = heads or self._heads()
        out, logits = module.decode_all(module.encode(heads.inputs(xb)))
        return heads.point_errors(xb, out, logits).mean(dim=1)

    def _score_batch(self, net: nn.Module, xb: torch.Tensor, heads=None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        heads = heads or self._heads()
        out, logits = net.decode_all(net.encode(heads.inputs(xb)))
        per_feature = heads.point_errors(xb, out, logits)
        return per_feature.sum(dim=1), per_feature

    def _encode_mean(self, net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        return net.encode(xb)

    def _decode_mean(self, net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        return net(xb)

    def _decode_outputs(self, net, z):
        out, logits = net.decode_all(z)
        return out, None, logits

    def _encode_posterior(self, net, xb):
        z = net.encode(xb)
        return z, torch.zeros_like(z)

    def _decode_latent(self, net, z):
        return self._decode_outputs(net, z)[0], None


VAE_SCORES = (
    "reconstruction_probability", "capped_reconstruction_probability", "elbo",
    "reconstruction_error",
)
CAPPED_RP = "capped_reconstruction_probability"
# At most this many held-out rows estimate the per-feature medians of the capped score.
_MEDIAN_ROWS = 4096


class VAEDetector(_BaseDetector):
    __doc__ = (
        """Variational autoencoder anomaly detector scored by reconstruction probability.

    The encoder gives a diagonal Gaussian ``q(z|x)``; the decoder gives, for every
    feature, a Gaussian mean and a learned, bounded variance. Training minimises the
    negative ELBO ``-E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I))``, with one
    reparameterised sample per row and the KL term in closed form.

    Parameters
    ----------
    score_method : {"reconstruction_probability", "capped_reconstruction_probability", \
"elbo", "reconstruction_error"}, default="reconstruction_probability"
        ``"reconstruction_probability"`` (An & Cho, 2015):
        ``-log((1/L) sum_l p(x | z_l))`` with ``z_l ~ q(z|x)``;
        ``"capped_reconstruction_probability"``: the same with each feature's likelihood
        capped at its typical value, ``p(x_j | z_l) <= exp(-m_j)`` where ``m_j`` is the
        median over held-out training rows of ``-log p(x_j | z)`` (``feature_nll_median_``),
        so that a feature fitted better than typically (a row on a spike of repeated
        values, say) cannot make up for another that is fitted badly; ``"elbo"``: the negative
        ELBO with ``beta = 1``, estimated with ``L`` samples; ``"reconstruction_error"``:
        squared error of the decoder mean at the posterior mean. Only used when scoring,
        so it can be changed on a fitted model with ``set_params``.
    n_samples : int, default=16
        ``L``, the latent samples per row when scoring.
    beta : float, default=1.0
        Weight of the KL term in the training loss.
    kl_warmup_epochs : int, default=0
        Epochs over which the KL weight rises linearly from 0 to ``beta``."""
        + _COMMON_DOC
        + _COMMON_ATTRIBUTES
        + """    feature_nll_median_ : np.ndarray of shape (n_features,)
        Median over held-out training rows (the validation rows, at most 4,096; the
        training rows without a validation split) of each feature's ``-log p(x_j | z)``,
        averaged over the ``L`` samples: the caps of ``"capped_reconstruction_probability"``.
        One entry per column of ``feature_scores``.
"""
    )

    _is_variational = True

    _parameter_constraints: dict = {
        **_BaseDetector._parameter_constraints,
        "score_method": [StrOptions(set(VAE_SCORES))],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "kl_warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        score_method: str = "reconstruction_probability",
        n_samples: int = 16,
        beta: float = 1.0,
        kl_warmup_epochs: int = 0,
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
        threshold: ThresholdStrategy | dict | str | None = None,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        schema: TableSchema | dict | str | None = None,
    ) -> None:
        self.score_method = score_method
        self.n_samples = n_samples
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
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

    def _build_module(self, n_features: int) -> nn.Module:
        n_inputs, n_outputs, n_logits = self._network_shape(n_features)
        return HourglassVAE(n_inputs, self.hidden_dims_, self.latent_dim_, n_outputs, n_logits)

    def _kl_weight(self, epoch: int) -> float:
        if self.kl_warmup_epochs == 0:
            return float(self.beta)
        return float(self.beta) * min(1.0, (epoch + 1) / self.kl_warmup_epochs)

    def _row_loss(self, module, xb, gen, epoch, heads=None) -> torch.Tensor:
        heads = heads or self._heads()
        mu, logvar = module.encode(heads.inputs(xb))
        eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
        mean, out_logvar, logits = module.decode_all(maths.reparameterize(mu, logvar, eps))
        nll = heads.nll(xb, mean, out_logvar, logits).sum(dim=1)
        return nll + self._kl_weight(epoch) * maths.kl_to_standard_normal(mu, logvar)

    def _samples_per_row(self) -> int:
        return self.n_samples if self.score_method != "reconstruction_error" else 1

    def _fit_score_state(self, rows: np.ndarray) -> None:
        if rows.shape[0] > _MEDIAN_ROWS:
            pick = np.random.RandomState(self.seed_ + 4).choice(rows.shape[0], _MEDIAN_ROWS,
                                                               replace=False)
            rows = rows[np.sort(pick)]

        def expected_nll(net, xb, heads):
            active = heads.active(xb)
            return (self._sample_nll(net, xb, heads)[0].mean(dim=0).cpu().numpy(),
                    None if active is None else active.cpu().numpy())

        parts = self._map_batches(rows, self.n_samples, expected_nll)
        self.feature_nll_median_ = _median_of_active(
            np.concatenate([p[0] for p in parts]),
            None if parts[0][1] is None else np.concatenate([p[1] for p in parts]),
        )

    def _nll_floor(self, like: torch.Tensor) -> torch.Tensor:
        if not hasattr(self, "feature_nll_median_"):
            raise ValueError(
                f"score_method={CAPPED_RP!r} needs feature_nll_median_, which this model "
                "lacks (its file predates the capped score): refit the model"
            )
        return torch.from_numpy(self.feature_nll_median_).to(like.device, like.dtype)

    def _check_log_likelihood_threshold(self) -> None:
        if self.score_method != "reconstruction_probability":
            raise ValueError(
                "the log_likelihood threshold compares score_samples, the reconstruction "
                "log-probability, with a fixed value: it needs "
                f"score_method='reconstruction_probability', not {self.score_method!r}"
            )

    def _scoring_noise(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """``(L, latent_dim)`` standard normal draws, the same for every row and call.

        Sharing the draws across rows keeps a row's score independent of the batch it
        is in, its position and the other rows; seeding them from ``seed_`` makes
        scores bit-identical across calls.
        """
        gen = torch.Generator().manual_seed(self.seed_ + 3)
        noise = torch.randn(self.n_samples, self.latent_dim_, generator=gen, dtype=torch.float64)
        return noise.to(device, dtype)

    def _sample_nll(
        self, net: nn.Module, xb: torch.Tensor, heads=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample, per-feature ``-log p(x_ij | z_l)``, shape ``(L, n, d)``, and the KL."""
        heads = heads or self._heads()
        mu, logvar = net.encode(heads.inputs(xb))
        eps = self._scoring_noise(xb.device, xb.dtype)
        z = maths.reparameterize(mu.unsqueeze(0), logvar.unsqueeze(0), eps.unsqueeze(1))
        mean, out_logvar, logits = net.decode_all(z)
        return heads.nll(xb.unsqueeze(0), mean, out_logvar, logits), maths.kl_to_standard_normal(
            mu, logvar
        )

    def _score_batch(self, net: nn.Module, xb: torch.Tensor, heads=None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        heads = heads or self._heads()
        if self.score_method == "reconstruction_error":
            out, _, logits = net.decode_all(net.encode(heads.inputs(xb))[0])
            per_feature = heads.point_errors(xb, out, logits)
            return per_feature.sum(dim=1), per_feature
        nll, kl = self._sample_nll(net, xb, heads)
        active = heads.active(xb)
        if self.score_method == CAPPED_RP:
            nll = maths.floor_nll(nll, self._nll_floor(xb), active)
        if self.score_method in ("reconstruction_probability", CAPPED_RP):
            return (
                maths.reconstruction_probability_score(nll.sum(dim=-1)),
                maths.reconstruction_probability_contributions(nll, active),
            )
        per_feature = nll.mean(dim=0) + maths.spread_over(kl, nll.shape[-1], active)
        return per_feature.sum(dim=1), per_feature

    def _encode_mean(self, net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        return net.encode(xb)[0]

    def _decode_mean(self, net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        return net.decode(net.encode(xb)[0])[0]

    def _decode_outputs(self, net, z):
        return net.decode_all(z)

    def _encode_posterior(self, net, xb):
        mu, logvar = net.encode(xb)
        return mu, torch.exp(logvar)

    def _decode_latent(self, net, z):
        return net.decode(z)
