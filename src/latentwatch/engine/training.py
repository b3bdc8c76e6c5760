"""Mini-batch training with Adam and early stopping on a validation split."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from latentwatch.engine import seeds


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


def train(
    module: nn.Module,
    heads,
    X_train: torch.Tensor,
    X_val: torch.Tensor,
    config: TrainingConfig,
    seed: int,
) -> dict:
    """Train ``module`` in place on ``module.loss`` and restore the best epoch's weights.

    The monitored loss is the validation loss when ``X_val`` has rows, else the
    training loss. Training stops after ``config.patience`` epochs without improvement.

    Returns
    -------
    dict
        ``train_loss`` and ``val_loss`` (one entry per epoch; ``val_loss`` is empty
        without a validation split), ``best_epoch`` (from 1, the weights kept) and
        ``still_improving``: training reached ``max_epochs`` with the monitored loss
        still falling, so more epochs would likely help.
    """
    device = X_train.device
    batch = resolve_batch_size(config, X_train.shape[0])
    optimizer = torch.optim.Adam(
        module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
        fused=True,
    )
    shuffle_gen = seeds.torch_generator(seed, "shuffle")
    noise_gen = seeds.torch_generator(seed, "training-noise", device)
    history: dict = {"train_loss": [], "val_loss": []}
    best_loss, best_state, stale, best_epoch = math.inf, copy.deepcopy(module.state_dict()), 0, 0
    max_epochs = resolve_max_epochs(config, X_train.shape[0])
    bar = tqdm(range(max_epochs), disable=not config.verbose, desc="training", unit="epoch")
    for epoch in bar:
        module.train()
        order = torch.randperm(X_train.shape[0], generator=shuffle_gen).to(device)
        running = 0.0
        for start in range(0, X_train.shape[0], batch):
            xb = X_train[order[start:start + batch]]
            loss = trimmed_mean(module.loss(heads, xb, noise_gen, epoch), config.trim_fraction)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * xb.shape[0]
        module.eval()
        train_loss = running / X_train.shape[0]
        history["train_loss"].append(train_loss)
        monitored = train_loss
        if X_val.shape[0]:
            val_gen = seeds.torch_generator(seed, "validation-noise", device)
            monitored = _mean_loss(module, heads, X_val, config.validation_batch, val_gen,
                                   max_epochs, config.validation_trim_fraction)
            history["val_loss"].append(monitored)
        if not math.isfinite(monitored):
            raise FloatingPointError(
                f"training loss became {monitored} at epoch {epoch + 1}; "
                "lower learning_rate or check the input for extreme values"
            )
        val_text = f"{monitored:.4g}" if X_val.shape[0] else "-"
        bar.set_postfix(train=f"{train_loss:.4g}", val=val_text)
        if not math.isfinite(best_loss) or (
            monitored < best_loss - config.improvement_tolerance * max(1.0, abs(best_loss))
        ):
            best_loss, best_state, stale = monitored, copy.deepcopy(module.state_dict()), 0
            best_epoch = epoch + 1
        else:
            stale += 1
            if stale >= config.patience:
                break
    module.load_state_dict(best_state)
    n_epochs = len(history["train_loss"])
    history["best_epoch"] = best_epoch
    history["still_improving"] = bool(n_epochs == max_epochs and best_epoch == n_epochs
                                      and stale == 0 and n_epochs > 1)
    return history
