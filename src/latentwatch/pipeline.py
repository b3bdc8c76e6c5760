"""The one fit pipeline: train a model on prepared rows, then fit its thresholds, score
state and latent prior on the held-out rows.

Every fit route ends here. ``fit`` prepares rows held in memory (a table or a series),
``fit_dataset`` a stream of files (:mod:`latentwatch.streamed`); both hand a
:class:`PreparedRows` to :func:`fit_prepared`, which runs one training loop
(:func:`latentwatch.engine.training.train`) and one calibration step. Under ``torchrun``
(a :class:`~latentwatch.engine.parallel.Context` of several ranks) the ranks train one
model with DistributedDataParallel; rank 0 fits the thresholds and the prior and
broadcasts them (as JSON) with its weights, so every rank ends with the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from latentwatch import drift, models, thresholds
from latentwatch.data import Codec, dequantise
from latentwatch.data.heads import TableHeads
from latentwatch.engine import parallel, scoring, seeds
from latentwatch.engine.device import seeded_torch
from latentwatch.engine.parallel import Context
from latentwatch.engine.training import (
    TrainingConfig,
    epoch_generator,
    resolve_max_epochs,
    train,
)
from latentwatch.models import Model
from latentwatch.models.priors import LatentMixture, fit_latent_mixture


@dataclass
class PreparedRows:
    """Packed rows ready for training, from any route.

    Attributes
    ----------
    batches : callable
        ``batches(epoch)`` -> this rank's shuffled training batches.
    n_train : int
        Training rows, all ranks together (sets the "auto" epochs).
    validation, calibration : np.ndarray
        Held-out rows for early stopping and the validation threshold; the calibration
        split (rank 0's; empty elsewhere).
    train_sample : np.ndarray
        Training rows (or a sample of them): the initial logits, and the score state
        without validation rows.
    fit_sample : np.ndarray
        The rows a contamination threshold and the aggregate posterior are fitted on.
    counts : dict
        Rows of each kind, recorded in the history.
    """

    batches: Callable[[int], Iterable[torch.Tensor]]
    n_train: int
    validation: np.ndarray
    calibration: np.ndarray
    train_sample: np.ndarray
    fit_sample: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Fitted:
    """What :func:`fit_prepared` learns."""

    module: Model
    history: dict
    thresholds: thresholds.ThresholdState
    prior: LatentMixture
    drift: drift.DriftReference | None = None


def score_all(module: Model, codec: Codec, rows: np.ndarray, seed: int,
              device: str) -> dict[str, np.ndarray]:
    """Every score method's scores of packed rows ``{method: (n,)}``, on the codec's scale."""
    heads = TableHeads(codec)
    weights = codec.block_weights(rows)
    if weights is None:
        return scoring.all_scores(module, heads, rows, seed, device)
    return {m: weighted_scores(scoring.score(module, heads, rows, m, seed, device)[1],
                               weights)[0] for m in module.score_methods}


def weighted_scores(parts: np.ndarray, weights: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Scores and parts with the codec's block weights: ``parts * weights`` and their row
    sums (``parts`` and their row sums without weights)."""
    if weights is None:
        return parts.sum(axis=1), parts
    parts = parts * weights
    return parts.sum(axis=1), parts


def fit_prior(module: Model, codec: Codec, rows: np.ndarray, seed: int,
              device: str) -> LatentMixture:
    """The aggregate posterior's summary: a mixture fitted on one posterior draw per row."""
    mu, var = scoring.posterior(module, TableHeads(codec), rows, device)
    draws = mu + np.sqrt(var) * seeds.rng(seed, "mixture-draws").standard_normal(mu.shape)
    return fit_latent_mixture(draws, seeds.stream(seed, "mixture-fit"))


def dequantised_batches(batches: Callable[[int], Iterable[torch.Tensor]], codec: Codec,
                        sample: np.ndarray, seed: int, rank: int = 0
                        ) -> Callable[[int], Iterable[torch.Tensor]]:
    """``batches`` with fresh uniform noise of each near-discrete numeric column's
    resolution (measured on the training ``sample``) in every epoch's batches; see
    :mod:`latentwatch.data.dequantise`."""
    steps = dequantise.resolutions(codec, sample)

    def noisy(epoch: int) -> Iterable[torch.Tensor]:
        gen = epoch_generator(seed, "dequantise", epoch, rank)
        return (dequantise.dequantise(codec, batch, steps, gen) for batch in batches(epoch))

    return noisy


def fit_prepared(*, model: str, config: Any, codec: Codec, prepared: PreparedRows,
                 strategy: thresholds.ThresholdStrategy | None, training: TrainingConfig,
                 seed: int, ctx: Context, checkpoint_dir=None, resume: bool = False,
                 fingerprint: dict[str, Any] | None = None, on_epoch_end=None,
                 score_method: str | None = None) -> Fitted:
    """Build model ``model`` with ``config``, train it on ``prepared`` and calibrate it.

    Parameters
    ----------
    model : str
        A name of :data:`latentwatch.models.MODELS`.
    config : dataclass
        Its config.
    codec : fitted codec
    prepared : PreparedRows
    strategy : ThresholdStrategy or None
    training : TrainingConfig
    seed : int
        The fit's seed; every draw comes from its named streams.
    ctx : Context
        The ranks (one process: ``Context(device=...)``).
    checkpoint_dir, resume, fingerprint, on_epoch_end
        See :func:`latentwatch.engine.training.train`.
    score_method : str, optional
        The score method of the drift reference (default: the model's default).

    Returns
    -------
    Fitted
    """
    heads = TableHeads(codec)
    with seeded_torch(seeds.stream(seed, "init")):
        module = models.build(model, config, codec.shape)
    if len(prepared.train_sample):
        module.initialise_logits(torch.from_numpy(heads.marginal_logits(prepared.train_sample)))
    module.to(ctx.device)
    validation = torch.from_numpy(prepared.validation).to(ctx.device, torch.float32)
    batches = prepared.batches
    if training.dequantise and len(prepared.train_sample):
        batches = dequantised_batches(batches, codec, prepared.train_sample, seed, ctx.rank)
    history = train(module, heads, batches, validation, training, seed,
                    max_epochs=resolve_max_epochs(training, prepared.n_train), ctx=ctx,
                    checkpoint_dir=checkpoint_dir, resume=resume, fingerprint=fingerprint,
                    on_epoch_end=on_epoch_end)
    if prepared.counts:
        history["rows"] = dict(prepared.counts)
    history["world_size"] = ctx.world_size
    likelihood = models.entry(model).likelihood_methods
    if not ctx.distributed:
        state, prior = _calibrate(module, codec, prepared, strategy, likelihood, seed,
                                  ctx.device)
        method = score_method or models.entry(model).default_score_method
        return Fitted(module, history, state, prior,
                      held_out_reference(module, codec, prepared, method, seed, ctx.device))
    payload = None
    if ctx.main:
        state, prior = _calibrate(module, codec, prepared, strategy, likelihood, seed,
                                  ctx.device)
        payload = {"threshold": state.to_dict(),
                   "arrays": {m: a.tolist() for m, a in state.arrays().items()},
                   "prior": {f: np.asarray(getattr(prior, f)).tolist()
                             for f in ("weights", "means", "covariances")}}
    payload = parallel.broadcast_json(ctx, payload)
    for tensor in module.state_dict().values():  # the score state's buffers too
        torch.distributed.broadcast(tensor, 0)
    state = thresholds.ThresholdState.from_dict(
        payload["threshold"], {m: np.asarray(a, dtype=np.float64)
                               for m, a in payload["arrays"].items()})
    prior = LatentMixture(*(np.asarray(payload["prior"][f], dtype=np.float64)
                            for f in ("weights", "means", "covariances")))
    return Fitted(module, history, state, prior)


def update_prepared(*, module: Model, model: str, codec: Codec, prepared: PreparedRows,
                    strategy: thresholds.ThresholdStrategy | None, training: TrainingConfig,
                    seed: int, train_seed: int, ctx: Context,
                    score_method: str | None = None) -> Fitted:
    """Continue training a fitted ``module`` on new ``prepared`` rows read by the same
    ``codec``, then calibrate it on their held-out rows (``partial_fit``).

    The one training loop runs from the current weights (a fresh Adam state) with the
    batches and noise of ``train_seed``; the score state, thresholds, prior and drift
    reference are then fitted as in :func:`fit_prepared`, with the model's ``seed`` (the
    one its scores are drawn with). One process only.

    Returns
    -------
    Fitted
    """
    heads = TableHeads(codec)
    module.to(ctx.device)
    validation = torch.from_numpy(prepared.validation).to(ctx.device, torch.float32)
    history = train(module, heads, prepared.batches, validation, training, train_seed,
                    max_epochs=resolve_max_epochs(training, prepared.n_train), ctx=ctx)
    history["world_size"] = ctx.world_size
    likelihood = models.entry(model).likelihood_methods
    state, prior = _calibrate(module, codec, prepared, strategy, likelihood, seed, ctx.device)
    method = score_method or models.entry(model).default_score_method
    return Fitted(module, history, state, prior,
                  held_out_reference(module, codec, prepared, method, seed, ctx.device))


def _calibrate(module, codec, prepared: PreparedRows, strategy, likelihood_methods, seed: int,
               device: str) -> tuple[thresholds.ThresholdState, LatentMixture]:
    """The score state, the thresholds and the prior from the held-out rows."""
    held_out = prepared.validation if len(prepared.validation) else prepared.train_sample
    scoring.fit_score_state(module, TableHeads(codec), held_out, seed, device)

    def scores(rows: np.ndarray) -> dict[str, np.ndarray] | None:
        return score_all(module, codec, rows, seed, device) if len(rows) else None

    need_training = (thresholds.needs_training_scores(strategy, len(prepared.validation))
                     or not len(prepared.validation))
    state = thresholds.fit_threshold(
        strategy, training=scores(prepared.fit_sample) if need_training else None,
        validation=scores(prepared.validation), calibration=scores(prepared.calibration),
        likelihood_methods=likelihood_methods)
    prior_rows = prepared.fit_sample if len(prepared.fit_sample) else prepared.validation
    return state, fit_prior(module, codec, prior_rows, seed, device)


def drift_reference(module: Model, codec: Codec, rows: np.ndarray, method: str, seed: int,
                    device: str, source: str | None) -> drift.DriftReference | None:
    """What the drift test keeps of held-out rows: their scores and per-column parts for
    ``method`` (at most :data:`latentwatch.drift.MAX_REFERENCE_ROWS` rows, a seeded
    sample); None without rows."""
    if not len(rows):
        return None
    rows = rows[drift.reference_rows(len(rows), seeds.rng(seed, "drift-reference"))]
    _, parts = scoring.score(module, TableHeads(codec), rows, method, seed, device)
    scores, parts = weighted_scores(parts, codec.block_weights(rows))
    return drift.DriftReference(method, np.asarray(scores, dtype=np.float64),
                                np.asarray(parts, dtype=np.float64), source,
                                category_counts(codec, rows))


def category_counts(codec: Codec, rows: np.ndarray) -> tuple[np.ndarray | None, ...]:
    """Per column of packed ``rows``: a categorical column's count of each category (the
    rare bucket last) followed by its count of gaps; None for the other columns."""
    target0, observed0 = codec.input_width, codec.input_width + codec.n_blocks
    out: list[np.ndarray | None] = []
    for j, block in enumerate(codec.blocks):
        if block.kind != "categorical":
            out.append(None)
            continue
        observed = rows[:, observed0 + j] > 0
        codes = rows[observed, target0 + j].astype(np.int64)
        counts = np.bincount(codes, minlength=len(block.categories) + 1)
        out.append(np.append(counts, int((~observed).sum())).astype(np.float64))
    return tuple(out)


def held_out_reference(module: Model, codec: Codec, prepared: PreparedRows, method: str,
                       seed: int, device: str) -> drift.DriftReference | None:
    """:func:`drift_reference` of the calibration split, else of the validation rows
    (the rows behind ``p_values``), for score method ``method``."""
    if len(prepared.calibration):
        return drift_reference(module, codec, prepared.calibration, method, seed, device,
                               "calibration_split")
    return drift_reference(module, codec, prepared.validation, method, seed, device,
                           "validation")
