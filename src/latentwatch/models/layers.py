"""Building blocks shared by the hourglass models: layer sizes and MLPs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn


def default_latent_dim(n_features: int) -> int:
    """Latent size from the input width: ``clip(round(sqrt(d)), 2, 32)``."""
    return int(min(32, max(2, round(math.sqrt(n_features)))))


def default_hidden_dims(n_features: int) -> list[int]:
    """Two hidden layers narrowing towards the latent layer.

    The first is ``2 d`` rounded up to a power of two and clipped to ``[32, 256]``;
    the second half of it. This gives ``[32, 16]`` for 5 features, ``[64, 32]`` for 30
    and ``[256, 128]`` from 100 features up (2,000 features included).
    """
    first = int(min(256, max(32, 2 ** math.ceil(math.log2(max(2 * n_features, 1))))))
    return [first, first // 2]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers with ELU activations between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ELU())
    return nn.Sequential(*layers)


def optional_linear(n_in: int, n_out: int) -> nn.Linear | None:
    """A linear layer, or ``None`` for zero outputs."""
    return nn.Linear(n_in, n_out) if n_out else None


def apply_optional(layer: nn.Linear | None, h: torch.Tensor) -> torch.Tensor:
    """``layer(h)``, or an empty ``(..., 0)`` tensor for a missing layer."""
    return layer(h) if layer is not None else h.new_zeros((*h.shape[:-1], 0))


def resolve_dims(hidden_dims: Sequence[int] | None, latent_dim: int | None,
                 n_inputs: int) -> tuple[list[int], int]:
    """The hourglass's hidden widths and latent size, defaults derived from ``n_inputs``."""
    hidden = [int(h) for h in (hidden_dims if hidden_dims is not None
                               else default_hidden_dims(n_inputs))]
    return hidden, int(latent_dim or default_latent_dim(n_inputs))
