"""A training checkpoint: one safetensors file, never pickle.

Tensors: the network's ``state_dict`` (``module.*``), the best epoch's weights
(``best.*``) and Adam's state (``optimizer.<param>.<name>``). JSON metadata: the epoch
reached, the history, the early-stopping state (best loss, best epoch, stale epochs),
Adam's hyper-parameters and step counts, and a *fingerprint* of the run (the data files,
the codec, the training configuration and the seed) that a resume must match. The
random streams of the streaming fit are drawn from ``(seed, epoch, rank)``, so the
integers in the metadata are all the random state there is. The file is written to a
temporary name beside it and renamed, so a run killed while writing leaves the previous
checkpoint whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from latentwatch.errors import ModelFormatError

FILE_NAME = "checkpoint.safetensors"
FORMAT_NAME = "latentwatch-checkpoint"
FORMAT_VERSION = 1
_KEY = "latentwatch"


@dataclass
class TrainingState:
    """Where a streaming fit stands after an epoch.

    Attributes
    ----------
    epoch : int
        Epochs done.
    history : dict
        ``train_loss`` and ``val_loss`` per epoch.
    best_loss : float
    best_epoch, stale : int
    best_state : dict of str to Tensor
        The best epoch's weights.
    stopped : bool
        Early stopping ended training.
    """

    epoch: int = 0
    history: dict = field(default_factory=lambda: {"train_loss": [], "val_loss": []})
    best_loss: float = float("inf")
    best_epoch: int = 0
    stale: int = 0
    best_state: dict = field(default_factory=dict)
    stopped: bool = False


def fingerprint_digest(fingerprint: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a run's fingerprint."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()
                          ).hexdigest()


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save_checkpoint(directory: str | Path, module: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, state: TrainingState,
                    fingerprint: dict[str, Any]) -> Path:
    """Write the checkpoint of ``state`` to ``directory/checkpoint.safetensors``
    atomically; returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"module.{k}": v.detach().cpu().contiguous()
               for k, v in module.state_dict().items()}
    tensors.update({f"best.{k}": v.detach().cpu().contiguous()
                    for k, v in state.best_state.items()})
    optimizer_tensors, optimizer_meta = _optimizer_tensors(optimizer)
    tensors.update(optimizer_tensors)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "fingerprint": fingerprint_digest(fingerprint), "epoch": state.epoch,
            "history": state.history, "best_loss": state.best_loss,
            "best_epoch": state.best_epoch, "stale": state.stale, "stopped": state.stopped,
            "optimizer": optimizer_meta}
    target = directory / FILE_NAME
    fd, tmp = tempfile.mkstemp(prefix=".latentwatch-checkpoint-", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_KEY: json.dumps(meta)})
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def load_checkpoint(directory: str | Path, module: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, fingerprint: dict[str, Any]
                    ) -> TrainingState | None:
    """Restore ``module`` and ``optimizer`` from ``directory``'s checkpoint and return the
    training state; ``None`` when there is no checkpoint.

    Raises
    ------
    ModelFormatError
        If the file is unreadable, or was written by another run (other data, codec,
        configuration or seed).
    """
    path = Path(directory) / FILE_NAME
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = json.loads((f.metadata() or {})[_KEY])
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelFormatError(f"{path}: not a readable latentwatch checkpoint ({exc}); "
                               "delete it to start again") from exc
    if meta.get("format") != FORMAT_NAME or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: not a latentwatch checkpoint of format "
                               f"{FORMAT_VERSION}; delete it to start again")
    if meta["fingerprint"] != fingerprint_digest(fingerprint):
        raise ModelFormatError(f"{path}: written by another run (other data files, schema, "
                               "parameters or seed); resume with the same command, or use "
                               "another --checkpoint-dir")
    device = next(module.parameters()).device
    module.load_state_dict({k[len("module."):]: v for k, v in tensors.items()
                            if k.startswith("module.")})
    best = {k[len("best."):]: v.to(device) for k, v in tensors.items() if k.startswith("best.")}
    optimizer_meta = meta["optimizer"]
    by_index: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            by_index.setdefault(int(index), {})[key] = value
    for name, value in optimizer_meta["scalars"].items():
        index, key = name.split(".", 1)
        by_index.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": by_index, "param_groups": optimizer_meta["param_groups"]})
    return TrainingState(epoch=int(meta["epoch"]), history=meta["history"],
                         best_loss=float(meta["best_loss"]), best_epoch=int(meta["best_epoch"]),
                         stale=int(meta["stale"]), best_state=best,
                         stopped=bool(meta["stopped"]))
