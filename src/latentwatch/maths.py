"""The maths of the detectors as small pure functions on tensors.

Every function works element-wise or row-wise and keeps the per-feature axis last,
so that per-feature contributions fall out of the same code as the row totals.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Element-wise Gaussian negative log-likelihood.

    ``-log N(x; mu, sigma^2) = 0.5 * (log(2 pi) + log sigma^2 + (x - mu)^2 / sigma^2)``

    Parameters
    ----------
    x, mean, logvar : torch.Tensor
        Broadcastable tensors; ``logvar`` is ``log sigma^2``.

    Returns
    -------
    torch.Tensor
        The negative log-density of each element (not summed).
    """
    return 0.5 * (LOG_2PI + logvar + (x - mean).square() * torch.exp(-logvar))


def student_t_nll(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
                  df: float) -> torch.Tensor:
    """Element-wise negative log-likelihood of a Student-t with ``df`` degrees of freedom,
    location ``mean`` and scale ``sigma`` (``logvar = log sigma^2``).

    ``-log t = log G(v/2) - log G((v+1)/2) + 0.5 log(v pi) + 0.5 log sigma^2
    + (v+1)/2 log(1 + (x - mu)^2 / (v sigma^2))``; it tends to :func:`gaussian_nll` as
    ``v`` grows, and grows only logarithmically in ``|x - mu|``.

    Examples
    --------
    >>> from scipy import stats
    >>> x, m, lv = torch.tensor([2.5]), torch.tensor([0.5]), torch.tensor([0.3])
    >>> got = student_t_nll(x, m, lv, 4.0).item()
    >>> bool(round(got, 6) == round(-stats.t.logpdf(2.5, 4.0, 0.5, np.exp(0.15)), 6))
    True
    """
    v = float(df)
    const = math.lgamma(v / 2) - math.lgamma((v + 1) / 2) + 0.5 * math.log(v * math.pi)
    return const + 0.5 * logvar + 0.5 * (v + 1) * torch.log1p(
        (x - mean).square() * torch.exp(-logvar) / v)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form ``KL(N(mu, diag(exp(logvar))) || N(0, I))`` per row.

    ``KL = 0.5 * sum_k (mu_k^2 + exp(logvar_k) - 1 - logvar_k)``

    Returns
    -------
    torch.Tensor
        Shape ``mu.shape[:-1]``: the latent axis (last) is summed.
    """
    return 0.5 * (mu.square() + torch.exp(logvar) - 1.0 - logvar).sum(dim=-1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The reparameterisation trick: ``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``."""
    return mu + torch.exp(0.5 * logvar) * eps


def log_mean_exp(log_values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """``log((1/L) sum_l exp(a_l))`` along ``dim``, computed stably with logsumexp."""
    return torch.logsumexp(log_values, dim=dim) - math.log(log_values.shape[dim])


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I) = -0.5 * sum_k (log(2 pi) + z_k^2)``, the latent axis (last) summed."""
    return -0.5 * (LOG_2PI + z.square()).sum(dim=-1)


def posterior_log_density(logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``log q(z | x)`` at ``z = mu + exp(logvar / 2) * eps`` for a diagonal Gaussian ``q``.

    ``log N(z; mu, diag(sigma^2)) = -0.5 * sum_k (log(2 pi) + logvar_k + eps_k^2)``; the latent
    axis (last) is summed.
    """
    return -0.5 * (LOG_2PI + logvar + eps.square()).sum(dim=-1)


def importance_weighted_contributions(
    nll_per_feature: torch.Tensor, latent_cost: torch.Tensor, active: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The importance-weighted estimate of ``-log p(x)`` split into per-feature parts and a
    latent part.

    With ``a_l = -sum_j nll[l, j] - latent_cost[l]`` for ``L`` samples ``z_l ~ q(z | x)``,
    where ``latent_cost[l] = log q(z_l | x) - log p(z_l)``, the score is
    ``-log((1/L) sum_l exp(a_l))`` (Burda et al., 2016). With weights ``w = softmax(a)`` it
    decomposes exactly as

    ``sum_j c_j + sum_l w_l latent_cost[l] + KL(w || uniform)``,  ``c_j = sum_l w_l nll[l, j]``.

    Parameters
    ----------
    nll_per_feature : torch.Tensor of shape (L, n_rows, n_features)
    latent_cost : torch.Tensor of shape (L, n_rows)
    active : torch.Tensor of shape (n_rows, n_features) or None
        As for :func:`reconstruction_probability_contributions`.

    Returns
    -------
    per_feature : torch.Tensor of shape (n_rows, n_features)
        ``c_j``.
    latent : torch.Tensor of shape (n_rows,)
        The latent part plus the disagreement term; ``per_feature.sum(-1) + latent`` is the
        score.
    """
    n_samples = nll_per_feature.shape[0]
    log_weights = torch.log_softmax(-nll_per_feature.sum(dim=-1) - latent_cost, dim=0)
    weights = log_weights.exp()
    per_feature = (weights.unsqueeze(-1) * nll_per_feature).sum(dim=0)
    latent = (weights * (latent_cost + log_weights + math.log(n_samples))).sum(dim=0)
    return per_feature, latent


def reconstruction_probability_score(nll_per_sample: torch.Tensor) -> torch.Tensor:
    """Anomaly score of An & Cho (2015) from per-sample reconstruction log-likelihoods.

    Given ``nll_per_sample[l, i] = -log p(x_i | z_l)`` for ``L`` samples
    ``z_l ~ q(z | x_i)``, the score is

    ``-log((1/L) sum_l p(x_i | z_l))``

    i.e. minus the Monte Carlo reconstruction log-probability. Higher = more anomalous.
    """
    return -log_mean_exp(-nll_per_sample, dim=0)


def floor_nll(
    nll: torch.Tensor, floor: torch.Tensor, active: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-feature negative log-likelihoods raised to at least a per-feature floor.

    ``max(-log p(x_j | z), m_j)``, i.e. each feature's likelihood capped at
    ``exp(-m_j)``: a feature the model fits better than typically (a row on a spike of
    repeated values, say) then earns no more than a typical fit, and only worse-than-typical
    fits add to a score.

    Parameters
    ----------
    nll : torch.Tensor of shape (..., n_features)
    floor : torch.Tensor of shape (n_features,)
        ``m_j``.
    active : torch.Tensor of shape broadcastable to ``nll`` or None
        0/1: entries without a likelihood term (see
        :func:`reconstruction_probability_contributions`) keep their value, 0.
    """
    raised = torch.maximum(nll, floor)
    return raised if active is None else torch.where(active.bool(), raised, nll)


def reconstruction_probability_contributions(
    nll_per_feature: torch.Tensor, active: torch.Tensor | None = None
) -> torch.Tensor:
    """Split the reconstruction-probability score into per-feature parts that sum to it.

    With ``nll_per_feature[l, i, j] = -log p(x_ij | z_l)`` and importance weights
    ``w_l = p(x_i | z_l) / sum_m p(x_i | z_m)``, the score decomposes exactly as

    ``-log((1/L) sum_l p_l) = sum_j c_j + KL(w || uniform)``

    with ``c_j = sum_l w_l * nll[l, i, j]``. The last term belongs to no feature
    (it measures how much the ``L`` samples disagree, ``0 <= KL <= log L``) and is
    spread evenly over the features so that each row sums to its score.

    Parameters
    ----------
    nll_per_feature : torch.Tensor of shape (L, n_rows, n_features)
    active : torch.Tensor of shape (n_rows, n_features) or None
        0/1: the features that carry a likelihood term in the row (observed, or with a
        modelled missingness). The last term is spread over these only, so a feature
        with no term gets exactly 0. ``None``: all features.

    Returns
    -------
    torch.Tensor
        Shape ``(n_rows, n_features)``.
    """
    n_samples = nll_per_feature.shape[0]
    log_weights = torch.log_softmax(-nll_per_feature.sum(dim=-1), dim=0)  # (L, n)
    weights = log_weights.exp()
    weighted = (weights.unsqueeze(-1) * nll_per_feature).sum(dim=0)
    disagreement = (weights * (log_weights + math.log(n_samples))).sum(dim=0)
    return weighted + spread_over(disagreement, nll_per_feature.shape[-1], active)


def spread_over(total: torch.Tensor, n_features: int, active: torch.Tensor | None) -> torch.Tensor:
    """Share a per-row quantity ``(n,)`` evenly over the (active) features: ``(n, d)``.

    Rows without an active feature get zeros (their total is then 0 too in every use).
    """
    if active is None:
        return total.unsqueeze(-1) / n_features
    count = active.sum(dim=-1, keepdim=True).clamp(min=1.0)
    return total.unsqueeze(-1) * active / count


def categorical_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Negative log-probability of a category under a softmax: the cross-entropy.

    ``-log softmax(a)_k = logsumexp_c(a_c) - a_k``

    Parameters
    ----------
    logits : torch.Tensor of shape (..., n_categories)
        Unnormalised log-probabilities ``a``.
    target : torch.Tensor of int, broadcastable to ``logits.shape[:-1]``
        The observed category ``k`` of each element.

    Returns
    -------
    torch.Tensor of shape ``logits.shape[:-1]``
    """
    log_p = torch.log_softmax(logits, dim=-1)
    index = target.expand(logits.shape[:-1]).unsqueeze(-1)
    return -log_p.gather(-1, index).squeeze(-1)


def bernoulli_nll(logit: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Element-wise negative log-likelihood of a 0/1 value under ``p = sigmoid(a)``.

    ``-log p^y (1 - p)^(1 - y) = softplus(a) - y a``, with
    ``softplus(a) = max(a, 0) + log(1 + exp(-|a|))`` stable for any ``a``.
    """
    return logit.clamp(min=0) + torch.log1p(torch.exp(-logit.abs())) - target * logit


def bounded_logvar(raw: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Map an unbounded network output into ``[low, high]`` with a scaled sigmoid.

    ``logvar = low + (high - low) * sigmoid(raw)``. The lower bound keeps a learned
    variance from collapsing to zero on constant columns or duplicated rows.
    """
    return low + (high - low) * torch.sigmoid(raw)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def hashed_uniforms(key: int, start: int, n: int) -> np.ndarray:
    """A uniform draw in ``[0, 1)`` for each of the global row indices ``start ..
    start + n - 1``: SplitMix64 of ``index * golden + key``, top 53 bits.

    A row's draw depends on its index and the key only, so a split made of these draws
    is the same however the rows are read (chunks, files, ranks, workers).

    >>> a = hashed_uniforms(7, 0, 10)
    >>> bool(np.array_equal(a[3:], hashed_uniforms(7, 3, 7))), bool(((a >= 0) & (a < 1)).all())
    (True, True)
    """
    with np.errstate(over="ignore"):
        x = np.arange(start, start + n, dtype=np.uint64) * _GOLDEN + np.uint64(key % 2**64)
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
