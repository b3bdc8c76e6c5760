"""Densities in latent space that points are drawn from: the prior and summaries of the
aggregate posterior.

Randomness comes from a ``numpy.random.Generator`` the caller passes in.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

# The aggregate-posterior summary fitted in ``fit``: at most this many mixture components,
# one per this many training rows, fitted on at most this many latent draws.
MAX_MIXTURE_COMPONENTS = 10
ROWS_PER_COMPONENT = 50
MAX_MIXTURE_ROWS = 2000
# Added to the diagonal of each component covariance (latent codes are O(1)).
MIXTURE_REG_COVAR = 1e-6


def sample_prior(n: int, latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from the VAE prior ``N(0, I)``, shape ``(n, latent_dim)``."""
    return rng.standard_normal((n, latent_dim))


def sample_posterior_mixture(
    mu: np.ndarray, var: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws from the empirical aggregate posterior of a set of rows.

    ``q(z) = (1/m) sum_i N(z; mu_i, diag(var_i))``: pick a row ``i`` uniformly, then
    ``z = mu_i + sqrt(var_i) eps`` with ``eps ~ N(0, I)``. With ``var = 0`` (an AE)
    this resamples the codes themselves.
    """
    mu = np.asarray(mu, dtype=np.float64)
    if len(mu) == 0:
        raise ValueError("the aggregate posterior of zero rows is undefined")
    rows = rng.integers(len(mu), size=n)
    return mu[rows] + np.sqrt(np.asarray(var, dtype=np.float64)[rows]) * rng.standard_normal(
        (n, mu.shape[1])
    )


@dataclass(frozen=True)
class LatentMixture:
    """A Gaussian mixture in latent space: ``sum_c w_c N(m_c, S_c)``.

    Attributes
    ----------
    weights : np.ndarray of shape (n_components,)
    means : np.ndarray of shape (n_components, k)
    covariances : np.ndarray of shape (n_components, k, k)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws: a component ``c`` with probability ``w_c``, then
        ``z = m_c + L_c eps`` with ``L_c L_c^T = S_c`` (Cholesky) and ``eps ~ N(0, I)``.
        """
        weights = self.weights / self.weights.sum()
        components = rng.choice(self.n_components, size=n, p=weights)
        eps = rng.standard_normal((n, self.means.shape[1]))
        z = np.empty_like(eps)
        with threadpool_limits(1):
            for c in range(self.n_components):
                rows = components == c
                z[rows] = self.means[c] + eps[rows] @ _cholesky(self.covariances[c]).T
        return z


def _cholesky(cov: np.ndarray) -> np.ndarray:
    jitter = 0.0
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + jitter * np.eye(len(cov)))
        except np.linalg.LinAlgError:
            jitter = max(1e-10, 10 * jitter)
    raise ValueError("a latent mixture covariance is not positive definite")


def fit_latent_mixture(codes: np.ndarray, seed: int) -> LatentMixture:
    """Summarise the distribution of latent draws with a small Gaussian mixture.

    ``min(10, max(1, m // 50))`` full-covariance components are fitted by EM
    (scikit-learn's ``GaussianMixture``) on at most 2,000 of the ``m`` draws. A few
    components follow the aggregate posterior where it departs from the prior (holes,
    clusters, correlated or shrunk dimensions) while storing only averages, never
    individual training rows, in the model file. With ``m < 2`` rows the mixture is
    one Gaussian at the code with unit covariance.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    codes = np.asarray(codes, dtype=np.float64)
    m, k = codes.shape
    if m < 2:
        return LatentMixture(np.ones(1), codes[:1].copy() if m else np.zeros((1, k)),
                             np.eye(k)[None])
    rng = np.random.default_rng(seed)
    if m > MAX_MIXTURE_ROWS:
        codes = codes[rng.choice(m, size=MAX_MIXTURE_ROWS, replace=False)]
    n_components = int(min(MAX_MIXTURE_COMPONENTS, max(1, len(codes) // ROWS_PER_COMPONENT)))
    gmm = GaussianMixture(
        n_components=n_components, covariance_type="full", reg_covar=MIXTURE_REG_COVAR,
        random_state=seed % (2**32),
    )
    # One BLAS thread: on small matrices more threads only contend (see torch_threads).
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(codes)
    return LatentMixture(gmm.weights_.copy(), gmm.means_.copy(), gmm.covariances_.copy())



