"""Mini-batch training with Adam and early stopping on a validation split."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

# A function giving the per-row training loss of a batch: (module, batch, generator, epoch).
# Validation calls it with epoch = max_epochs, i.e. with any warm-up finished.
RowLoss = Callable[[nn.Module, torch.Tensor, torch.Generator, int], torch.Tensor]

# An epoch counts as an improvement when it lowers the monitored loss by more than this
# share of its magnitude (at least 1).
IMPROVEMENT_TOLERANCE = 1e-3

# Below this many rows there is no validation split: early stopping watches the training loss.
MIN_ROWS_FOR_VALIDATION = 50


# With max_epochs="auto", training sees about this many rows in all (and 10 to 30 epochs).
AUTO_ROW_BUDGET = 300_000
AUTO_EPOCH_RANGE = (10, 30)

# With batch_size="auto", about this many steps an epoch, batches clipped to this range.
AUTO_STEPS_PER_EPOCH = 16
AUTO_BATCH_RANGE = (128, 4096)


@dataclass(frozen=True)
class TrainingConfig:
    max_epochs: int | str
    trim_fraction: float
    batch_size: int | str
    learning_rate: float
    weight_decay: float
    patience: int
    validation_fraction: float
    verbose: bool


def trimmed_mean(row_losses: torch.Tensor, trim_fraction: float) -> torch.Tensor:
    """Mean of the ``1 - trim_fraction`` smallest per-row losses of a batch.

    Rows the model explains worst are left out of the gradient step, so a minority of
    anomalies in unlabelled training data pulls less on the model.
    """
    keep = row_losses.shape[0] - int(trim_fraction * row_losses.shape[0])
    if keep >= row_losses.shape[0]:
        return row_losses.mean()
    return torch.topk(row_losses, max(keep, 1), largest=False, sorted=False).values.mean()


def resolve_batch_size(batch_size: int | str, n_rows: int) -> int:
    """``"auto"``: ``n_rows / AUTO_STEPS_PER_EPOCH`` rounded to a power of two and clipped
    to ``AUTO_BATCH_RANGE``, i.e. about 16 steps an epoch of 128 to 4096 rows."""
    if batch_size == "auto":
        low, high = AUTO_BATCH_RANGE
        steps = AUTO_STEPS_PER_EPOCH
        return int(min(high, max(low, 2 ** round(math.log2(max(n_rows, 1) / steps)))))
    return int(batch_size)


def resolve_max_epochs(max_epochs: int | str, n_rows: int) -> int:
    """``"auto"``: ``clip(AUTO_ROW_BUDGET / n_rows, 10, 30)``, fewer epochs for big data."""
    if max_epochs == "auto":
        low, high = AUTO_EPOCH_RANGE
        return int(min(high, max(low, math.ceil(AUTO_ROW_BUDGET / max(n_rows, 1)))))
    return int(max_epochs)


def split_validation(
    n_rows: int, fraction: float, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation row indices; no validation rows for tiny data or fraction 0."""
    order = rng.permutation(n_rows)
    n_val = round(fraction * n_rows) if n_rows >= MIN_ROWS_FOR_VALIDATION else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _mean_loss(
    module: nn.Module, row_loss: RowLoss, X: torch.Tensor, batch: int, gen: torch.Generator,
    epoch: int,
) -> float:
    total = 0.0
    with torch.no_grad():
        for start in range(0, X.shape[0], batch):
            total += float(row_loss(module, X[start:start + batch], gen, epoch).sum())
    return total / X.shape[0]


def train(
    module: nn.Module,
    row_loss: RowLoss,
    X_train: torch.Tensor,
    X_val: torch.Tensor,
    config: TrainingConfig,
    seed: int,
) -> dict[str, list[float]]:
    """Train ``module`` in place and restore the weights of the best monitored epoch.

    The monitored loss is the validation loss when ``X_val`` has rows, else the
    training loss. Training stops after ``config.patience`` epochs without improvement.

    Returns
    -------
    dict
        ``{"train_loss": [...], "val_loss": [...]}``, one entry per epoch (``val_loss``
        is empty without a validation split).
    """
    device = X_train.device
    batch = resolve_batch_size(config.batch_size, X_train.shape[0])
    optimizer = torch.optim.Adam(
        module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
    )
    shuffle_gen = torch.Generator().manual_seed(seed)
    noise_gen = torch.Generator(device=device).manual_seed(seed + 1)
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    best_loss, best_state, stale = math.inf, copy.deepcopy(module.state_dict()), 0
    max_epochs = resolve_max_epochs(config.max_epochs, X_train.shape[0])
    bar = tqdm(range(max_epochs), disable=not config.verbose, desc="training", unit="epoch")
    for epoch in bar:
        module.train()
        order = torch.randperm(X_train.shape[0], generator=shuffle_gen).to(device)
        running = 0.0
        for start in range(0, X_train.shape[0], batch):
            xb = X_train[order[start:start + batch]]
            loss = trimmed_mean(row_loss(module, xb, noise_gen, epoch), config.trim_fraction)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * xb.shape[0]
        module.eval()
        train_loss = running / X_train.shape[0]
        history["train_loss"].append(train_loss)
        monitored = train_loss
        if X_val.shape[0]:
            val_gen = torch.Generator(device=device).manual_seed(seed + 2)
            monitored = _mean_loss(module, row_loss, X_val, 4096, val_gen, max_epochs)
            history["val_loss"].append(monitored)
        if not math.isfinite(monitored):
            raise FloatingPointError(
                f"training loss became {monitored} at epoch {epoch + 1}; "
                "lower learning_rate or check the input for extreme values"
            )
        val_text = f"{monitored:.4g}" if X_val.shape[0] else "-"
        bar.set_postfix(train=f"{train_loss:.4g}", val=val_text)
        if not math.isfinite(best_loss) or (
            monitored < best_loss - IMPROVEMENT_TOLERANCE * max(1.0, abs(best_loss))
        ):
            best_loss, best_state, stale = monitored, copy.deepcopy(module.state_dict()), 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    module.load_state_dict(best_state)
    return history
