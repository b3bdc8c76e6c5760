"""Thin torch modules: the hourglass encoder/decoder for the AE and the VAE."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from latentwatch.maths import bounded_logvar

# Bounds of the log-variances, in standardised units. The decoder floor exp(-6) ~ (0.05 sd)^2
# stops the likelihood from running off to infinity on constant or duplicated data.
DECODER_LOGVAR_BOUNDS = (-6.0, 4.0)
ENCODER_LOGVAR_BOUNDS = (-10.0, 4.0)


def default_latent_dim(n_features: int) -> int:
    """Latent size from the feature count: ``clip(round(sqrt(d)), 2, 32)``."""
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


def _head(n_in: int, n_out: int) -> nn.Linear | None:
    return nn.Linear(n_in, n_out) if n_out else None


def _apply(head: nn.Linear | None, h: torch.Tensor) -> torch.Tensor:
    return head(h) if head is not None else h.new_zeros((*h.shape[:-1], 0))


class HourglassAE(nn.Module):
    """Deterministic autoencoder: ``x -> encoder -> z -> decoder -> x_hat``.

    Parameters
    ----------
    n_features : int
        Width of the encoder input.
    hidden_dims, latent_dim
        The hourglass.
    n_outputs : int or None, default=None
        Real-valued decoder outputs (numeric columns); ``None``: ``n_features``.
    n_logits : int, default=0
        Extra decoder outputs read as logits (categorical and boolean columns,
        missingness); they come from a separate ``output_logits`` layer, absent when 0.
    """

    def __init__(
        self,
        n_features: int,
        hidden_dims: Sequence[int],
        latent_dim: int,
        n_outputs: int | None = None,
        n_logits: int = 0,
    ) -> None:
        super().__init__()
        n_outputs = n_features if n_outputs is None else n_outputs
        self.encoder = mlp([n_features, *hidden_dims, latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden_dims), n_outputs + n_logits])
        self.n_outputs = n_outputs

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_all(self.encoder(x))[0]

    def decode_all(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real-valued outputs ``(..., n_outputs)`` and logits ``(..., n_logits)``."""
        out = self.decoder(z)
        return out[..., :self.n_outputs], out[..., self.n_outputs:]


class HourglassVAE(nn.Module):
    """VAE whose encoder forks into mean and log-variance and whose decoder outputs, for
    every numeric feature, a Gaussian mean and a learned (bounded) log-variance, and a
    logit for every category, boolean and modelled missingness.

    Parameters are those of :class:`HourglassAE`.
    """

    def __init__(
        self,
        n_features: int,
        hidden_dims: Sequence[int],
        latent_dim: int,
        n_outputs: int | None = None,
        n_logits: int = 0,
    ) -> None:
        super().__init__()
        n_outputs = n_features if n_outputs is None else n_outputs
        self.encoder = nn.Sequential(mlp([n_features, *hidden_dims]), nn.ELU())
        self.latent_mean = nn.Linear(hidden_dims[-1], latent_dim)
        self.latent_logvar = nn.Linear(hidden_dims[-1], latent_dim)
        self.decoder = nn.Sequential(mlp([latent_dim, *reversed(hidden_dims)]), nn.ELU())
        self.output_mean = _head(hidden_dims[0], n_outputs)
        self.output_logvar = _head(hidden_dims[0], n_outputs)
        self.output_logits = _head(hidden_dims[0], n_logits)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior ``q(z|x)``: mean and log-variance of a diagonal Gaussian."""
        h = self.encoder(x)
        return self.latent_mean(h), bounded_logvar(self.latent_logvar(h), *ENCODER_LOGVAR_BOUNDS)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Likelihood ``p(x|z)`` of the numeric features: Gaussian mean and log-variance."""
        return self.decode_all(z)[:2]

    def decode_all(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gaussian means and log-variances ``(..., n_outputs)`` and logits ``(..., n_logits)``."""
        h = self.decoder(z)
        logvar = bounded_logvar(_apply(self.output_logvar, h), *DECODER_LOGVAR_BOUNDS)
        return _apply(self.output_mean, h), logvar, _apply(self.output_logits, h)
