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


class HourglassAE(nn.Module):
    """Deterministic autoencoder: ``x -> encoder -> z -> decoder -> x_hat``."""

    def __init__(self, n_features: int, hidden_dims: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        self.encoder = mlp([n_features, *hidden_dims, latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden_dims), n_features])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class HourglassVAE(nn.Module):
    """VAE whose encoder forks into mean and log-variance and whose decoder outputs, for
    every feature, a Gaussian mean and a learned (bounded) log-variance."""

    def __init__(self, n_features: int, hidden_dims: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(mlp([n_features, *hidden_dims]), nn.ELU())
        self.latent_mean = nn.Linear(hidden_dims[-1], latent_dim)
        self.latent_logvar = nn.Linear(hidden_dims[-1], latent_dim)
        self.decoder = nn.Sequential(mlp([latent_dim, *reversed(hidden_dims)]), nn.ELU())
        self.output_mean = nn.Linear(hidden_dims[0], n_features)
        self.output_logvar = nn.Linear(hidden_dims[0], n_features)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior ``q(z|x)``: mean and log-variance of a diagonal Gaussian."""
        h = self.encoder(x)
        return self.latent_mean(h), bounded_logvar(self.latent_logvar(h), *ENCODER_LOGVAR_BOUNDS)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Likelihood ``p(x|z)``: per-feature Gaussian mean and log-variance."""
        h = self.decoder(z)
        return self.output_mean(h), bounded_logvar(self.output_logvar(h), *DECODER_LOGVAR_BOUNDS)
