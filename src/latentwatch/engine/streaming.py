"""Training on a stream of batches: epochs over an iterable, early stopping on held-out
rows, a checkpoint after every epoch, resuming, and DistributedDataParallel.

The loop is :func:`latentwatch.engine.training.train`'s, with three differences that
streaming asks for: an epoch is whatever the ``batches(epoch)`` iterable yields (it reads
the data; the engine knows no files and no pandas); the random streams are drawn afresh
each epoch from ``(seed, epoch, rank)``, so a checkpoint holds only integers besides the
weights and Adam's state, and a resumed run repeats the uninterrupted one exactly; and
under ``torch.distributed`` the model is wrapped in ``DistributedDataParallel``: every
rank steps on its own batches with the gradients averaged, rank 0 computes the
validation loss and broadcasts it, so all ranks stop at the same epoch, and an epoch ends
for all ranks as soon as one has no batch left (no rank waits on a gradient).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from latentwatch.engine import seeds
from latentwatch.engine.checkpoint import (
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from latentwatch.engine.distributed import Context, all_have, all_sum, broadcast_json
from latentwatch.engine.training import TrainingConfig, _mean_loss, trimmed_mean
from latentwatch.errors import ModelFormatError


class _Loss(nn.Module):
    """The model's per-row training loss as a ``forward`` (what DDP wraps)."""

    def __init__(self, module: nn.Module, heads) -> None:
        super().__init__()
        self.module = module
        self.heads = heads

    def forward(self, x: torch.Tensor, gen: torch.Generator, epoch: int) -> torch.Tensor:
        return self.module.loss(self.heads, x, gen, epoch)


def epoch_generator(seed: int, name: str, epoch: int, rank: int,
                    device: torch.device | str) -> torch.Generator:
    """A torch generator for stream ``name`` of ``seed`` in ``epoch`` on ``rank``."""
    state = np.random.SeedSequence([seeds.stream(seed, name), epoch, rank]).generate_state(1)
    return torch.Generator(device=device).manual_seed(int(state[0] >> 1))


def train_stream(
    module: nn.Module,
    heads,
    batches: Callable[[int], Iterable[torch.Tensor]],
    X_val: torch.Tensor,
    config: TrainingConfig,
    seed: int,
    *,
    max_epochs: int,
    ctx: Context | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train ``module`` in place on the batches of each epoch; keep the best epoch.

    Parameters
    ----------
    module : torch.nn.Module
        A model of :mod:`latentwatch.models`, on its device.
    heads
        Its likelihood heads.
    batches : callable
        ``batches(epoch)`` -> the epoch's batches of packed float rows (this rank's).
    X_val : torch.Tensor
        Validation rows (may have no rows: the training loss is watched then). Only rank
        0's are used.
    config : TrainingConfig
        ``learning_rate``, ``weight_decay``, ``patience``, ``trim_fraction``,
        ``improvement_tolerance``, ``validation_batch``, ``verbose``.
    seed : int
    max_epochs : int
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
        As :func:`~latentwatch.engine.training.train`: ``train_loss``, ``val_loss``,
        ``best_epoch``, ``still_improving``, plus ``epoch_rows`` (rows stepped on in each
        epoch, all ranks together) and ``resumed_from`` (epochs restored).

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
    >>> history = train_stream(net, TableHeads(codec), lambda e: rows.split(16), rows[:8],
    ...                        TrainingConfig(), 0, max_epochs=2)
    >>> len(history["train_loss"])
    2
    """
    ctx = ctx or Context(device=str(next(module.parameters()).device))
    device = next(module.parameters()).device
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
