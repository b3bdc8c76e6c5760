"""A learnable mixture-of-Gaussians prior for the VAE's latent space.

Shapes: ``z`` is ``(..., k)``; the prior holds ``C`` components with means and log-variances
``(C, k)`` and mixing logits ``(C,)``; ``log_density(z)`` is ``(...)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentwatch import maths

# Bounds of the components' log-variances (latent codes are O(1)).
COMPONENT_LOGVAR_BOUNDS = (-6.0, 2.0)


class MixturePrior(nn.Module):
    """``p(z) = sum_c pi_c N(z; m_c, diag(exp(v_c)))`` with learnable ``pi``, ``m``, ``v``.

    A standard-normal prior asks every mode of the normal data to share one bump around the
    origin; a mixture lets each mode have its own (Tomczak & Welling, 2018, use a mixture of
    posteriors; this is the plain Gaussian-mixture version). The means start spread like
    draws from ``N(0, I)`` (from a fixed generator, so a fit is reproducible), the
    variances at 1 and the weights equal.

    Parameters
    ----------
    n_components : int
        ``C``.
    latent_dim : int
        ``k``.
    """

    def __init__(self, n_components: int, latent_dim: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.means = nn.Parameter(torch.randn(n_components, latent_dim, generator=gen))
        self.raw_logvars = nn.Parameter(torch.zeros(n_components, latent_dim))
        self.logits = nn.Parameter(torch.zeros(n_components))

    def logvars(self) -> torch.Tensor:
        """Component log-variances ``(C, k)``, bounded as the decoder's are."""
        low, high = COMPONENT_LOGVAR_BOUNDS
        return low + (high - low) * torch.sigmoid(self.raw_logvars + math.log(-low / high))

    def log_density(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z) = logsumexp_c(log pi_c + log N(z; m_c, diag(exp(v_c))))``, shape
        ``z.shape[:-1]``."""
        logvars = self.logvars()
        diff = z.unsqueeze(-2) - self.means  # (..., C, k)
        component = -0.5 * (maths.LOG_2PI + logvars + diff.square() * torch.exp(-logvars))
        return torch.logsumexp(torch.log_softmax(self.logits, dim=0) + component.sum(dim=-1),
                               dim=-1)
