"""The one training loop: mini-batch Adam with early stopping, for every fit route.

An epoch is whatever ``batches(epoch)`` yields: the shuffled batches of rows held in
memory (:func:`memory_batches`) or of a stream of row groups read from files (the data
wing's ``StreamingRows``); the engine knows no files and no pandas. Every random stream
is drawn afresh each epoch from ``(seed, epoch, rank)``, so a checkpoint holds only
integers besides the weights and Adam's state, and a resumed run repeats the
uninterrupted one exactly. Under ``torch.distributed`` the model is wrapped in
``DistributedDataParallel``: every rank steps on its own batches with the gradients
averaged, rank 0 computes the validation loss and broadcasts it, so all ranks stop at the
same epoch, and an epoch ends for all ranks as soon as one has no batch left.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from latentwatch.engine import seeds
from latentwatch.engine.checkpoint import TrainingState, load_checkpoint, save_checkpoint
from latentwatch.engine.parallel import Context, all_have, all_sum, broadcast_json
from latentwatch.errors import ModelFormatError


@dataclass(frozen=True)
class TrainingConfig:
    """How a model is trained. The estimator fills the first fields from its parameters;
    the others are tuning constants that benchmarks may pass (``training=`` on the
    estimators) instead of patching anything."""

    # upper bound on epochs; "auto": clip(auto_row_budget / n_rows, *auto_epoch_range)
    max_epochs: int | str = "auto"
    # rows per mini-batch; "auto": about auto_steps_per_epoch steps, within auto_batch_range
    batch_size: int | str = "auto"
    # Adam's step size
    learning_rate: float = 4e-3
    # Adam's L2 penalty
    weight_decay: float = 0.0
    # epochs without improvement before training stops (the best weights are restored)
    patience: int = 10
    # share of each mini-batch's highest-loss rows left out of the loss
    trim_fraction: float = 0.0
    # show a progress bar
    verbose: bool = False
    # with max_epochs="auto", training sees about this many rows in all
    auto_row_budget: int = 300_000
    # with max_epochs="auto", at least and at most this many epochs
    auto_epoch_range: tuple[int, int] = (10, 30)
    # with batch_size="auto", about this many steps an epoch
    auto_steps_per_epoch: int = 16
    # with batch_size="auto", batches of at least and at most this many rows
    auto_batch_range: tuple[int, int] = (128, 4096)
    # an epoch improves when it lowers the monitored loss by this share of its size (>= 1)
    improvement_tolerance: float = 1e-3
    # rows per batch when computing the validation loss
    validation_batch: int = 4096
    # share of the validation rows with the highest loss left out of the monitored loss, so
    # that one unusual row (the only non-zero of a column) cannot decide early stopping
    validation_trim_fraction: float = 0.01
    # add uniform noise of their resolution to near-discrete numeric columns of the
    # training rows (latentwatch.data.dequantise); held-out rows are left as they are
    dequantise: bool = False


def trimmed_mean(row_losses: torch.Tensor, trim_fraction: float) -> torch.Tensor:
    """Mean of the ``1 - trim_fraction`` smallest per-row losses of a batch.

    Rows the model explains worst are left out of the gradient step, so a minority of
    anomalies in unlabelled training data pulls less on the model.
    """
    keep = row_losses.shape[0] - int(trim_fraction * row_losses.shape[0])
    if keep >= row_losses.shape[0]:
        return row_losses.mean()
    return torch.topk(row_losses, max(keep, 1), largest=False, sorted=False).values.mean()


def resolve_batch_size(config: TrainingConfig, n_rows: int) -> int:
    """``"auto"``: ``n_rows / auto_steps_per_epoch`` rounded to a power of two and clipped
    to ``auto_batch_range``, i.e. about 16 steps an epoch of 128 to 4096 rows."""
    if config.batch_size == "auto":
        low, high = config.auto_batch_range
        steps = config.auto_steps_per_epoch
        return int(min(high, max(low, 2 ** round(math.log2(max(n_rows, 1) / steps)))))
    return int(config.batch_size)


def resolve_max_epochs(config: TrainingConfig, n_rows: int) -> int:
    """``"auto"``: ``clip(auto_row_budget / n_rows, 10, 30)``, fewer epochs for big data."""
    if config.max_epochs == "auto":
        low, high = config.auto_epoch_range
        return int(min(high, max(low, math.ceil(config.auto_row_budget / max(n_rows, 1)))))
    return int(config.max_epochs)


def _mean_loss(module: nn.Module, heads, X: torch.Tensor, batch: int, gen: torch.Generator,
               epoch: int, trim_fraction: float = 0.0) -> float:
    """The :func:`trimmed_mean` of the per-row losses of ``X``, computed in batches; NaN
    when any row's loss is not finite (trimming must not hide a diverged model)."""
    with torch.no_grad():
        rows = torch.cat([module.loss(heads, X[start:start + batch], gen, epoch).detach()
                          for start in range(0, X.shape[0], batch)])
    if not bool(torch.isfinite(rows).all()):
        return float("nan")
    return float(trimmed_mean(rows.double(), trim_fraction))


class _Loss(nn.Module):
    """The model's per-row training loss as a ``forward`` (what DDP wraps)."""

    def __init__(self, module: nn.Module, heads) -> None:
        super().__init__()
        self.module = module
        self.heads = heads

    def forward(self, x: torch.Tensor, gen: torch.Generator, epoch: int) -> torch.Tensor:
        return self.module.loss(self.heads, x, gen, epoch)


def epoch_generator(seed: int, name: str, epoch: int, rank: int,
                    device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator for stream ``name`` of ``seed`` in ``epoch`` on ``rank``."""
    state = np.random.SeedSequence([seeds.stream(seed, name), epoch, rank]).generate_state(1)
    return torch.Generator(device=device).manual_seed(int(state[0] >> 1))


def memory_batches(X: torch.Tensor, batch_size: int, seed: int, ctx: Context | None = None
                   ) -> Callable[[int], Iterator[torch.Tensor]]:
    """``batches(epoch)`` over rows held in memory: a permutation of all the rows drawn
    from ``(seed, epoch)``, this rank's share of it (every ``world_size``-th row from
    ``rank``) in batches of ``ceil(batch_size / world_size)`` rows.

    Examples
    --------
    >>> batches = memory_batches(torch.arange(10.0)[:, None], 4, seed=0)
    >>> [len(b) for b in batches(0)]
    [4, 4, 2]
    >>> sorted(torch.cat(list(batches(1)))[:, 0].tolist()) == list(range(10))
    True
    """
    ctx = ctx or Context()
    local = math.ceil(batch_size / ctx.world_size)

    def batches(epoch: int) -> Iterator[torch.Tensor]:
        order = torch.randperm(X.shape[0], generator=epoch_generator(seed, "shuffle", epoch, 0))
        order = order[ctx.rank::ctx.world_size].to(X.device)
        for start in range(0, order.shape[0], local):
            yield X[order[start:start + local]]

    return batches


def train(
    module: nn.Module,
    heads,
    batches: Callable[[int], Iterable[torch.Tensor]] | torch.Tensor,
    X_val: torch.Tensor,
    config: TrainingConfig,
    seed: int,
    *,
    max_epochs: int | None = None,
    ctx: Context | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train ``module`` in place on ``module.loss`` and restore the best epoch's weights.

    The monitored loss is the validation loss when ``X_val`` has rows (rank 0's), else the
    training loss. Training stops after ``config.patience`` epochs without improvement.

    Parameters
    ----------
    module : torch.nn.Module
        A model of :mod:`latentwatch.models`, on its device.
    heads
        Its likelihood heads.
    batches : callable or torch.Tensor
        ``batches(epoch)`` -> the epoch's batches of packed float rows (this rank's); or
        the training rows themselves, read with :func:`memory_batches` in batches of
        :func:`resolve_batch_size` rows.
    X_val : torch.Tensor
        Validation rows (may have no rows: the training loss is watched then).
    config : TrainingConfig
        ``learning_rate``, ``weight_decay``, ``patience``, ``trim_fraction``,
        ``improvement_tolerance``, ``validation_batch``, ``verbose``.
    seed : int
    max_epochs : int or None
        Epochs at most; None (rows in memory only): :func:`resolve_max_epochs` of them.
    ctx : Context or None
        The distributed context (a single process when None).
    checkpoint_dir : str, Path or None
        Where rank 0 writes a checkpoint after every epoch.
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` (a fresh start if none).
    fingerprint : dict or None
        What identifies the run; a checkpoint of another run is refused.
    on_epoch_end : callable or None
        ``on_epoch_end(epoch, history)`` after each epoch (and its checkpoint).

    Returns
    -------
    dict
        ``train_loss`` and ``val_loss`` (one entry per epoch; ``val_loss`` is empty
        without validation rows), ``best_epoch`` (from 1, the weights kept),
        ``still_improving`` (training reached ``max_epochs`` with the monitored loss still
        falling), ``epoch_rows`` (rows stepped on in each epoch, all ranks together) and
        ``resumed_from`` (epochs restored from a checkpoint).

    Examples
    --------
    >>> from latentwatch import models
    >>> from latentwatch.data.codec import TableCodec
    >>> from latentwatch.data.heads import TableHeads
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": np.arange(64.0), "b": np.arange(64.0) % 7})
    >>> codec = TableCodec().fit(frame)
    >>> rows = torch.from_numpy(codec.encode(frame).packed).float()
    >>> net = models.build("ae", models.AEConfig(), codec.shape)
    >>> history = train(net, TableHeads(codec), memory_batches(rows, 16, seed=0), rows[:8],
    ...                 TrainingConfig(), 0, max_epochs=2)
    >>> len(history["train_loss"])
    2
    """
    ctx = ctx or Context(device=str(next(module.parameters()).device))
    device = next(module.parameters()).device
    if isinstance(batches, torch.Tensor):
        n_rows = batches.shape[0]
        batches = memory_batches(batches, resolve_batch_size(config, n_rows), seed, ctx)
        max_epochs = resolve_max_epochs(config, n_rows) if max_epochs is None else max_epochs
    if max_epochs is None:
        raise ValueError("max_epochs is needed when batches is a callable")
    wrapped: nn.Module = _Loss(module, heads)
    if ctx.distributed:
        wrapped = nn.parallel.DistributedDataParallel(
            wrapped, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(module.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay, fused=True)
    fingerprint = fingerprint or {}
    state = None
    if resume and checkpoint_dir is not None:
        state = load_checkpoint(checkpoint_dir, module, optimizer, fingerprint)
    state = state or TrainingState(best_state=copy.deepcopy(module.state_dict()))
    if not all_have(ctx, state.epoch == broadcast_json(ctx, state.epoch)):
        raise ModelFormatError(f"{checkpoint_dir}: the ranks found different checkpoints "
                               "there; put --checkpoint-dir on a disk every rank reads")
    resumed_from = state.epoch
    validate = bool(broadcast_json(ctx, X_val.shape[0] > 0))  # rank 0's rows decide
    bar = tqdm(range(state.epoch, max_epochs), disable=not (config.verbose and ctx.main),
               desc="training", unit="epoch", initial=state.epoch, total=max_epochs)
    for epoch in bar:
        if state.stopped:
            break
        train_loss, seen = _epoch(wrapped, batches(epoch), optimizer, config, seed, epoch,
                                  ctx, device)
        state.history.setdefault("epoch_rows", []).append(seen)
        monitored = train_loss
        if validate:
            val_loss = None
            if ctx.main:
                gen = seeds.torch_generator(seed, "validation-noise", device)
                val_loss = _mean_loss(module, heads, X_val, config.validation_batch, gen,
                                      max_epochs, config.validation_trim_fraction)
            monitored = float(broadcast_json(ctx, val_loss))
            state.history["val_loss"].append(monitored)
        state.history["train_loss"].append(train_loss)
        if not math.isfinite(monitored):
            raise FloatingPointError(f"training loss became {monitored} at epoch {epoch + 1}; "
                                     "lower learning_rate or check the input for extreme values")
        bar.set_postfix(train=f"{train_loss:.4g}", val=f"{monitored:.4g}" if validate else "-")
        best = state.best_loss
        if not math.isfinite(best) or monitored < best - config.improvement_tolerance * max(
                1.0, abs(best)):
            state.best_loss, state.best_epoch, state.stale = monitored, epoch + 1, 0
            state.best_state = copy.deepcopy(module.state_dict())
        else:
            state.stale += 1
            state.stopped = state.stale >= config.patience
        state.epoch = epoch + 1
        if checkpoint_dir is not None and ctx.main:
            save_checkpoint(checkpoint_dir, module, optimizer, state, fingerprint)
        if on_epoch_end is not None:
            on_epoch_end(epoch, state.history)
    module.load_state_dict(state.best_state)
    module.eval()
    n_epochs = len(state.history["train_loss"])
    return {**state.history, "best_epoch": state.best_epoch, "resumed_from": resumed_from,
            "still_improving": bool(n_epochs == max_epochs and state.best_epoch == n_epochs
                                    and state.stale == 0 and n_epochs > 1)}


def _epoch(wrapped: nn.Module, batches: Iterable[torch.Tensor], optimizer, config, seed: int,
           epoch: int, ctx: Context, device: torch.device) -> tuple[float, int]:
    """One pass over this rank's batches: the mean training loss over every rank's rows,
    and how many rows all the ranks stepped on."""
    wrapped.train()
    gen = epoch_generator(seed, "training-noise", epoch, ctx.rank, device)
    total, rows = 0.0, 0
    iterator = iter(batches)
    while True:
        xb = next(iterator, None)
        if not all_have(ctx, xb is not None):
            break
        xb = xb.to(device, torch.float32, non_blocking=True)
        loss = trimmed_mean(wrapped(xb, gen, epoch), config.trim_fraction)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * xb.shape[0]
        rows += xb.shape[0]
    wrapped.eval()
    total, rows = all_sum(ctx, [total, float(rows)])
    if rows == 0:
        raise ValueError("an epoch had no training rows (every row is held out or bad)")
    return total / rows, int(rows)
