"""The autoencoder: a deterministic hourglass scored by its reconstruction error.

Shapes: ``x`` is a batch of packed rows ``(n, packed_width)``; the heads take the
encoder inputs ``(n, n_inputs)`` from it; ``z`` is ``(n, latent_dim)``; the decoder gives
``(n, n_outputs)`` real values and ``(n, n_logits)`` logits; scores are ``(n,)`` and
per-column parts ``(n, n_blocks)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from latentwatch.models.layers import mlp, resolve_dims

SCORE_METHODS = ("reconstruction_error",)


@dataclass(frozen=True)
class AEConfig:
    """The autoencoder's architecture."""

    # widths of the encoder's hidden layers (the decoder mirrors them); None: from the data
    hidden_dims: Sequence[int] | None = None
    # size of the latent layer; None: clip(round(sqrt(n_inputs)), 2, 32)
    latent_dim: int | None = None


class AutoEncoder(nn.Module):
    """Deterministic autoencoder: ``x -> encoder -> z -> decoder -> x_hat``.

    The score of a row is the sum over its columns of the point errors in nats: for a
    numeric column the Gaussian negative log-likelihood with unit variance in
    standardised units, ``0.5 * (log(2 pi) + (x - x_hat)^2)`` (the squared error up to
    scale and shift), for a category or boolean its cross-entropy. The training loss is
    their mean over columns.

    Parameters
    ----------
    config : AEConfig
    shape : latentwatch.data.codec.CodecShape
    """

    name = "ae"
    variational = False
    score_methods = SCORE_METHODS
    has_score_state = False

    def __init__(self, config: AEConfig, shape) -> None:
        super().__init__()
        self.config = config
        self.hidden_dims, self.latent_dim = resolve_dims(config.hidden_dims, config.latent_dim,
                                                         shape.n_inputs)
        self.n_outputs = shape.n_outputs
        self.encoder = mlp([shape.n_inputs, *self.hidden_dims, self.latent_dim])
        self.decoder = mlp([self.latent_dim, *reversed(self.hidden_dims),
                            shape.n_outputs + shape.n_logits])

    def initialise_logits(self, bias: torch.Tensor) -> None:
        """Start the logit outputs' biases at ``bias`` ``(n_logits,)`` (the training
        marginals, see ``TableHeads.marginal_logits``)."""
        with torch.no_grad():
            self.decoder[-1].bias[self.n_outputs:] = bias.to(self.decoder[-1].bias)

    def n_score_samples(self, method: str) -> int:
        return 1

    def latent_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent code ``(n, latent_dim)`` and a zero variance (the encoder is a point)."""
        z = self.encoder(x)
        return z, torch.zeros_like(z)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, None, torch.Tensor]:
        """Real-valued outputs ``(..., n_outputs)``, no variance, logits ``(..., n_logits)``."""
        out = self.decoder(z)
        return out[..., :self.n_outputs], None, out[..., self.n_outputs:]

    def _errors(self, heads, x: torch.Tensor) -> torch.Tensor:
        out, _, logits = self.decode(self.encoder(heads.inputs(x)))
        return heads.point_errors(x, out, logits)

    def loss(self, heads, x: torch.Tensor, gen: torch.Generator, epoch: int) -> torch.Tensor:
        """Per-row training loss ``(n,)``: the mean point error over columns."""
        return self._errors(heads, x).mean(dim=1)

    def scores(self, heads, x: torch.Tensor, method: str, noise: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores ``(n,)`` and per-column parts ``(n, n_blocks)`` that sum to them."""
        parts = self._errors(heads, x)
        return parts.sum(dim=1), parts

    def all_scores(self, heads, x: torch.Tensor, noise: torch.Tensor
                   ) -> dict[str, torch.Tensor]:
        """Every score method's row scores, ``{method: (n,)}``."""
        return {"reconstruction_error": self._errors(heads, x).sum(dim=1)}

    def score_state_batch(self, heads, x: torch.Tensor, noise: torch.Tensor) -> tuple:
        """Nothing: the AE's scores learn nothing from held-out rows."""
        return ()

    def set_score_state(self, *arrays) -> None:
        """Nothing to set (``has_score_state`` is False)."""
