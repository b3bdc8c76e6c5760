"""The variational autoencoder: per-column likelihood heads, trained on the negative ELBO.

Shapes: ``x`` is a batch of packed rows ``(n, packed_width)``; the heads take the
encoder inputs ``(n, n_inputs)`` from it; the posterior mean and log-variance are
``(n, k)``; scoring draws ``z`` of shape ``(L, n, k)`` from ``L`` shared standard-normal
draws ``noise`` ``(L, k)``; the decoder gives Gaussian means and log-variances
``(..., n_outputs)`` and logits ``(..., n_logits)``; per-sample, per-column negative
log-likelihoods are ``(L, n, n_blocks)``; scores ``(n,)`` and parts ``(n, n_blocks)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from latentwatch import maths
from latentwatch.models.layers import apply_optional, mlp, optional_linear, resolve_dims
from latentwatch.models.mixture_prior import MixturePrior

RP = "reconstruction_probability"
CAPPED_RP = "capped_reconstruction_probability"
IW = "importance_weighted"
SCORE_METHODS = (RP, CAPPED_RP, "elbo", "reconstruction_error", IW)
# Bounds of the log-variances, in standardised units. The decoder floor exp(-6) ~ (0.05 sd)^2
# stops the likelihood from running off to infinity on constant or duplicated data.
DECODER_LOGVAR_BOUNDS = (-6.0, 4.0)
ENCODER_LOGVAR_BOUNDS = (-10.0, 4.0)


@dataclass(frozen=True)
class VAEConfig:
    """The VAE's architecture, training objective and scoring."""

    # widths of the encoder's hidden layers (the decoder mirrors them); None: from the data
    hidden_dims: Sequence[int] | None = None
    # size of the latent layer; None: clip(round(sqrt(n_inputs)), 2, 32)
    latent_dim: int | None = None
    # L, the latent samples per row when scoring (8: within 0.2 AUC-ROC points of 16 on
    # ADBench at half the time, benchmarks/speed/latent_samples_adbench.py)
    n_samples: int = 8
    # weight of the KL term in the training loss
    beta: float = 1.0
    # epochs over which the KL weight rises linearly from 0 to beta (0: no warm-up)
    kl_warmup_epochs: int = 0
    # components of a learnable Gaussian-mixture prior (0: the standard-normal prior)
    prior_components: int = 0
    # lower bound of the numeric columns' decoder log-variance, in standardised units
    decoder_logvar_floor: float = DECODER_LOGVAR_BOUNDS[0]
    # degrees of freedom of a Student-t decoder for numeric columns (None: Gaussian)
    decoder_df: float | None = None
    # "row": the decoder outputs each numeric column's variance for every row; "column":
    # one learned variance per column, the same for every row
    decoder_variance: str = "row"


class VAE(nn.Module):
    """VAE whose encoder forks into mean and log-variance and whose decoder outputs, for
    every numeric column, a Gaussian mean and a bounded log-variance, and a logit for
    every category, boolean and modelled gap.

    Training minimises ``-E_q[log p(x|z)] + w(epoch) KL(q(z|x) || N(0, I))`` with one
    reparameterised sample per row and the KL in closed form.

    Parameters
    ----------
    config : VAEConfig
    shape : latentwatch.data.codec.CodecShape
    """

    name = "vae"
    variational = True
    score_methods = SCORE_METHODS
    has_score_state = True

    def __init__(self, config: VAEConfig, shape) -> None:
        super().__init__()
        self.config = config
        hidden, self.latent_dim = resolve_dims(config.hidden_dims, config.latent_dim,
                                               shape.n_inputs)
        self.hidden_dims = hidden
        # no hidden layer (hidden_dims=[]): a linear encoder and decoder, as for the AE
        self.encoder = (nn.Sequential(mlp([shape.n_inputs, *hidden]), nn.ELU()) if hidden
                        else nn.Identity())
        encoded = hidden[-1] if hidden else shape.n_inputs
        self.latent_mean = nn.Linear(encoded, self.latent_dim)
        self.latent_logvar = nn.Linear(encoded, self.latent_dim)
        self.decoder = (nn.Sequential(mlp([self.latent_dim, *reversed(hidden)]), nn.ELU())
                        if hidden else nn.Identity())
        decoded = hidden[0] if hidden else self.latent_dim
        self.output_mean = optional_linear(decoded, shape.n_outputs)
        if config.decoder_variance not in ("row", "column"):
            raise ValueError(f"VAEConfig.decoder_variance must be 'row' or 'column', not "
                             f"{config.decoder_variance!r}")
        per_row = config.decoder_variance == "row"
        self.output_logvar = optional_linear(decoded, shape.n_outputs) if per_row else None
        self.column_logvar = None if per_row else nn.Parameter(torch.zeros(shape.n_outputs))
        self.output_logits = optional_linear(decoded, shape.n_logits)
        self.prior = (MixturePrior(config.prior_components, self.latent_dim)
                      if config.prior_components else None)
        # per-column caps of the capped score (medians of held-out -log p(x_j | z))
        self.register_buffer("nll_caps", torch.full((shape.n_blocks,), float("-inf")))

    def initialise_logits(self, bias: torch.Tensor) -> None:
        """Start the logit outputs' biases at ``bias`` ``(n_logits,)`` (the training
        marginals, see ``TableHeads.marginal_logits``)."""
        if self.output_logits is not None:
            with torch.no_grad():
                self.output_logits.bias.copy_(bias.to(self.output_logits.bias))

    def n_score_samples(self, method: str) -> int:
        return 1 if method == "reconstruction_error" else int(self.config.n_samples)

    # -- the network ---------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z|x)``: mean and log-variance ``(n, k)`` of a diagonal Gaussian."""
        h = self.encoder(x)
        return self.latent_mean(h), maths.bounded_logvar(self.latent_logvar(h),
                                                         *ENCODER_LOGVAR_BOUNDS)

    def latent_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance ``(n, k)``."""
        mu, logvar = self.posterior(x)
        return mu, torch.exp(logvar)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gaussian means and log-variances ``(..., n_outputs)``, logits ``(..., n_logits)``."""
        h = self.decoder(z)
        raw = (apply_optional(self.output_logvar, h) if self.column_logvar is None
               else self.column_logvar.expand(*h.shape[:-1], -1))
        logvar = maths.bounded_logvar(raw,
                                      self.config.decoder_logvar_floor,
                                      DECODER_LOGVAR_BOUNDS[1])
        return apply_optional(self.output_mean, h), logvar, apply_optional(self.output_logits, h)

    # -- training ------------------------------------------------------------------------
    def kl_weight(self, epoch: int) -> float:
        """``beta``, reached linearly over ``kl_warmup_epochs``."""
        beta, warmup = float(self.config.beta), self.config.kl_warmup_epochs
        return beta if warmup == 0 else beta * min(1.0, (epoch + 1) / warmup)

    def loss(self, heads, x: torch.Tensor, gen: torch.Generator, epoch: int) -> torch.Tensor:
        """Per-row negative ELBO ``(n,)`` with one reparameterised sample (the KL in closed
        form for the standard-normal prior, else its one-sample estimate
        ``log q(z|x) - log p(z)``)."""
        mu, logvar = self.posterior(heads.inputs(x))
        eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
        z = maths.reparameterize(mu, logvar, eps)
        mean, out_logvar, logits = self.decode(z)
        nll = heads.nll(x, mean, out_logvar, logits, self.config.decoder_df).sum(dim=1)
        if self.prior is None:
            kl = maths.kl_to_standard_normal(mu, logvar)
        else:
            kl = maths.posterior_log_density(logvar, eps) - self.prior.log_density(z)
        return nll + self.kl_weight(epoch) * kl

    def prior_log_density(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z)`` ``z.shape[:-1]`` under the model's prior."""
        if self.prior is None:
            return maths.standard_normal_log_density(z)
        return self.prior.log_density(z)

    # -- scores --------------------------------------------------------------------------
    def sample_nll(self, heads, x: torch.Tensor, noise: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample, per-column ``-log p(x_ij | z_l)`` ``(L, n, d)`` and the KL ``(n,)``
        (with a mixture prior, its estimate over the ``L`` samples)."""
        nll, kl, _ = self._sample_terms(heads, x, noise)
        return nll, kl

    def _sample_terms(self, heads, x: torch.Tensor, noise: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`sample_nll` plus ``log q(z_l | x) - log p(z_l)`` ``(L, n)``."""
        mu, logvar = self.posterior(heads.inputs(x))
        eps = noise.unsqueeze(1)
        z = maths.reparameterize(mu.unsqueeze(0), logvar.unsqueeze(0), eps)
        mean, out_logvar, logits = self.decode(z)
        latent_cost = (maths.posterior_log_density(logvar.unsqueeze(0), eps)
                       - self.prior_log_density(z))
        kl = (maths.kl_to_standard_normal(mu, logvar) if self.prior is None
              else latent_cost.mean(dim=0))
        return (heads.nll(x.unsqueeze(0), mean, out_logvar, logits, self.config.decoder_df),
                kl, latent_cost)

    def _point_errors(self, heads, x: torch.Tensor) -> torch.Tensor:
        mean, _, logits = self.decode(self.posterior(heads.inputs(x))[0])
        return heads.point_errors(x, mean, logits)

    def scores(self, heads, x: torch.Tensor, method: str, noise: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores ``(n,)`` and per-column parts ``(n, d)`` that sum to them.

        ``reconstruction_probability`` (An & Cho, 2015): ``-log((1/L) sum_l p(x | z_l))``;
        ``capped_reconstruction_probability``: the same with each column's likelihood
        capped at ``exp(-m_j)`` (``nll_caps``); ``elbo``: the negative ELBO with
        ``beta = 1`` (its KL shared over the active columns; a row with none scores 0, as
        it does by the other methods); ``importance_weighted``: the importance-weighted
        estimate of ``-log p(x)`` over the ``L`` samples, whose latent part
        (``maths.importance_weighted_contributions``) is shared over the active columns as
        the ELBO's KL is; ``reconstruction_error``: the point errors of the
        decoder mean at the posterior mean. See :mod:`latentwatch.maths` for the
        decompositions.
        """
        if method == "reconstruction_error":
            parts = self._point_errors(heads, x)
            return parts.sum(dim=1), parts
        nll, kl, latent_cost = self._sample_terms(heads, x, noise)
        active = heads.active(x)
        if method == IW:
            parts = _iw_parts(nll, latent_cost, active)
            return parts.sum(dim=1), parts
        if method == CAPPED_RP:
            nll = maths.floor_nll(nll, self.nll_caps.to(nll.dtype), active)
        if method in (RP, CAPPED_RP):
            return (maths.reconstruction_probability_score(nll.sum(dim=-1)),
                    maths.reconstruction_probability_contributions(nll, active))
        parts = _elbo_parts(nll, kl, active)
        return parts.sum(dim=1), parts

    def all_scores(self, heads, x: torch.Tensor, noise: torch.Tensor
                   ) -> dict[str, torch.Tensor]:
        """Every score method's row scores ``{method: (n,)}`` from one decoder pass,
        computed as :meth:`scores` computes them (bit for bit on the same rows)."""
        nll, kl, latent_cost = self._sample_terms(heads, x, noise)
        active = heads.active(x)
        capped = maths.floor_nll(nll, self.nll_caps.to(nll.dtype), active)
        return {
            RP: maths.reconstruction_probability_score(nll.sum(dim=-1)),
            CAPPED_RP: maths.reconstruction_probability_score(capped.sum(dim=-1)),
            "elbo": _elbo_parts(nll, kl, active).sum(dim=1),
            "reconstruction_error": self._point_errors(heads, x).sum(dim=1),
            IW: _iw_parts(nll, latent_cost, active).sum(dim=1),
        }

    def score_state_batch(self, heads, x: torch.Tensor, noise: torch.Tensor
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Expected per-column ``-log p(x_j | z)`` ``(n, d)`` of held-out rows, and which
        entries carry a likelihood term."""
        nll, _ = self.sample_nll(heads, x, noise)
        return nll.mean(dim=0).cpu().numpy(), heads.active(x).cpu().numpy()

    def set_score_state(self, expected_nll: np.ndarray, active: np.ndarray) -> None:
        """Set the caps to each column's median over its active held-out entries."""
        self.nll_caps.copy_(torch.from_numpy(median_of_active(expected_nll, active)))


def _elbo_parts(nll: torch.Tensor, kl: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Per-column parts ``(n, d)`` of the negative ELBO: the expected ``-log p(x_j | z)``
    plus the KL shared over the active columns (a row without any scores 0)."""
    return nll.mean(dim=0) + maths.spread_over(kl, nll.shape[-1], active)


def _iw_parts(nll: torch.Tensor, latent_cost: torch.Tensor, active: torch.Tensor
              ) -> torch.Tensor:
    """Per-column parts ``(n, d)`` of the importance-weighted ``-log p(x)``: each column's
    weighted ``-log p(x_j | z)`` plus the latent part shared over the active columns."""
    per_column, latent = maths.importance_weighted_contributions(nll, latent_cost, active)
    return per_column + maths.spread_over(latent, nll.shape[-1], active)


def median_of_active(values: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Median of each column over its active entries; ``-inf`` (no cap) for a column
    without any."""
    present = active > 0
    medians = np.full(values.shape[1], -np.inf)
    columns = present.any(axis=0)
    if columns.any():
        medians[columns] = np.nanmedian(np.where(present, values, np.nan)[:, columns], axis=0)
    return medians
