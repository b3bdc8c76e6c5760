"""What the engine and the estimator need of a model: the :class:`Model` protocol.

A model is a ``torch.nn.Module`` that declares its capabilities as attributes (no probing
with ``hasattr``): whether it has a latent prior to sample from (``variational``), which
scores it gives (``score_methods``) and whether its scores learn something from held-out
rows (``has_score_state``). Shapes: ``x`` is a batch of packed rows
``(n, packed_width)``; ``z`` is ``(..., latent_dim)``; scores are ``(n,)`` and per-column
parts ``(n, n_blocks)``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Model(Protocol):
    """The interface of every model of :mod:`latentwatch.models`."""

    #: registry name, e.g. ``"vae"``
    name: str
    #: a latent prior to sample from (generation from the prior)
    variational: bool
    #: the score methods :meth:`scores` accepts
    score_methods: tuple[str, ...]
    #: whether :meth:`score_state_batch` / :meth:`set_score_state` do anything
    has_score_state: bool
    latent_dim: int
    hidden_dims: list[int]
    config: Any

    def initialise_logits(self, bias: torch.Tensor) -> None:
        """Start the logit outputs' biases at ``bias`` ``(n_logits,)``."""

    def n_score_samples(self, method: str) -> int:
        """Latent samples per row that ``method`` draws (1 for a point estimate)."""

    def latent_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance ``(n, latent_dim)`` of encoder inputs."""

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Real outputs, their log-variances (or None) and logits at latent points."""

    def loss(self, heads: Any, x: torch.Tensor, gen: torch.Generator, epoch: int
             ) -> torch.Tensor:
        """Per-row training loss ``(n,)``."""

    def scores(self, heads: Any, x: torch.Tensor, method: str, noise: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores ``(n,)`` in nats and per-column parts ``(n, n_blocks)`` summing to them."""

    def all_scores(self, heads: Any, x: torch.Tensor, noise: torch.Tensor
                   ) -> dict[str, torch.Tensor]:
        """Every score method's row scores ``{method: (n,)}``."""

    def score_state_batch(self, heads: Any, x: torch.Tensor, noise: torch.Tensor
                          ) -> tuple[np.ndarray, np.ndarray]:
        """What the score state learns from one batch of held-out rows."""

    def set_score_state(self, *arrays: np.ndarray) -> None:
        """Set the score state from the held-out batches' arrays, concatenated."""
