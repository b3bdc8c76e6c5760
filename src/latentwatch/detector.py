"""The detectors: ``AutoEncoderDetector``, ``VAEDetector``, and one for any registered model.

Each class is :class:`~latentwatch.base.BaseDetector` bound to a model of the registry
(:data:`latentwatch.models.MODELS`); :func:`detector_class` derives the class of a model
that has no hand-written one, so a new model is one file and one registry entry.
:func:`load` and :func:`load_bytes` read a model file back into its detector.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from latentwatch import models
from latentwatch.base import COMMON_PARAMS, BaseDetector, make_init
from latentwatch.models import vae as vae_model

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
    threshold_state_ : latentwatch.thresholds.ThresholdState
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
    offset_, threshold_, calibration_scores_, calibration_source_ : views of ``threshold_state_``
    schema_, latent_dim_, hidden_dims_, n_epochs_ : views of the other fitted objects
    n_features_in_ : int
    feature_names_in_ : np.ndarray
        For a DataFrame, the columns the model reads.
"""


class AutoEncoderDetector(BaseDetector):
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
    __init__ = make_init(COMMON_PARAMS)


class VAEDetector(BaseDetector):
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
        (``benchmarks/generation/generative_quality.py``) measured best for synthetic rows
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
        **BaseDetector._parameter_constraints,
        "score_method": [StrOptions(set(vae_model.SCORE_METHODS))],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "kl_warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "prior_components": [Interval(numbers.Integral, 0, None, closed="left")],
        "purpose": [StrOptions({"detect", "generate"})],
        "beta": [None, Interval(numbers.Real, 0, None, closed="left")],
    }

    __init__ = make_init({
        "score_method": "importance_weighted", "n_samples": 16, "beta": None,
        "kl_warmup_epochs": 0, "prior_components": 0, "purpose": "detect", **COMMON_PARAMS})

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


DETECTORS: dict[str, type[BaseDetector]] = {"ae": AutoEncoderDetector, "vae": VAEDetector}
# the classes derived for other registered models, with the entry each was derived from
_DERIVED: dict[str, tuple[models.ModelEntry, type[BaseDetector]]] = {}


def detector_class(name: str) -> type[BaseDetector]:
    """The estimator class of registered model ``name``.

    The built-in models have their own classes; any other registered model gets one
    derived from its :class:`~latentwatch.models.ModelEntry`: the common parameters, its
    config's fields (with their defaults) and, when it has several scores, ``score_method``.

    Examples
    --------
    >>> detector_class("vae").__name__
    'VAEDetector'
    """
    if name in DETECTORS:
        return DETECTORS[name]
    entry = models.entry(name)
    if name in _DERIVED and _DERIVED[name][0] == entry:
        return _DERIVED[name][1]
    own = {k: v for k, v in entry.config_fields().items() if k not in COMMON_PARAMS}
    constraints = dict(BaseDetector._parameter_constraints)
    namespace: dict[str, Any] = {"_model_name": name, "__module__": __name__}
    if len(entry.score_methods) > 1:
        own = {"score_method": entry.default_score_method, **own}
        constraints["score_method"] = [StrOptions(set(entry.score_methods))]
        namespace["_score_method"] = lambda self: self.score_method
    namespace["_parameter_constraints"] = constraints
    namespace["__init__"] = make_init({**own, **COMMON_PARAMS})
    namespace["__doc__"] = (f"Anomaly detector on the registered model {name!r}"
                            f"{': ' + entry.description if entry.description else ''}.\n\n"
                            "Parameters: those of :class:`AutoEncoderDetector`"
                            + (f", and {', '.join(own)}" if own else "") + ".")
    camel = "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
    derived = type(f"{camel}Detector", (BaseDetector,), namespace)
    _DERIVED[name] = (entry, derived)
    return derived


def _class_of(meta: dict[str, Any]) -> type[BaseDetector]:
    by_name = {cls.__name__: cls for cls in DETECTORS.values()}
    if meta["class"] in by_name:
        return by_name[meta["class"]]
    return detector_class(meta["model"]["name"])


def _loaded(path: Path, meta: dict[str, Any], tensors: dict, device: str | None
            ) -> BaseDetector:
    from latentwatch import persistence
    from latentwatch.errors import ModelFormatError

    try:
        model = _class_of(meta)(**persistence.params_from_json(meta["params"]))
        model._set_file_contents(path, meta, tensors, device)
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError,
            OverflowError, RecursionError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        detail = str(exc).strip().splitlines()
        raise ModelFormatError(f"{path}: inconsistent model contents ({type(exc).__name__}: "
                               f"{' '.join(line.strip() for line in detail[:2])}); it was "
                               "not written by this latentwatch, or was edited") from exc
    return model


def load(path: str | Path, device: str | None = None) -> BaseDetector:
    """Load a detector saved with ``save``.

    Parameters
    ----------
    path : str or Path
        The model file.
    device : str or None, default=None
        Where to put the network; ``None`` uses the model's own ``device`` parameter.

    Returns
    -------
    AutoEncoderDetector, VAEDetector or the class of another registered model
        The fitted detector; it scores bit-identically to the one that was saved
        (on the same device).

    Raises
    ------
    ModelFormatError
        If the file is missing, truncated, edited, not a latentwatch model, or of a
        format this version does not read.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from latentwatch import VAEDetector, load
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    >>> path = model.save(os.path.join(tempfile.mkdtemp(), "m.lwm"))
    >>> bool((load(path).anomaly_score(X) == model.anomaly_score(X)).all())
    True
    """
    from latentwatch import persistence

    return _loaded(Path(path), *persistence.read_file(path), device)


def load_bytes(data: bytes, device: str | None = None, name: str = "<model bytes>"
               ) -> BaseDetector:
    """Load a detector from the bytes of its model file (``detector.to_bytes()``, or a
    file's contents), with every check of :func:`load` and without touching the disk.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
    >>> type(load_bytes(model.to_bytes())).__name__
    'AutoEncoderDetector'
    """
    from latentwatch import persistence

    return _loaded(Path(name), *persistence.read_bytes(data, name), device)
