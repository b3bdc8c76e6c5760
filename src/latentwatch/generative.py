"""The VAE as a generative model: latent paths, latent densities, attribute vectors.

The module has two parts:

* pure functions on latent codes (numpy arrays): straight-line and spherical paths,
  the attribute vector, and the densities that latent points are drawn from (the
  prior, a Gaussian mixture summarising the aggregate posterior, or the exact
  empirical mixture of a set of rows' posteriors);
* ``GenerativeMixin``, inherited by both detectors, whose public methods
  (``encode``, ``sample``, ``interpolate``, ``attribute_vector``,
  ``apply_attribute``, ``denoise``) are thin wrappers around those functions. Every
  latent point they turn into data goes through one method, ``_decode_to_rows``,
  the single place where network outputs become rows in the original schema.

Randomness always comes from a ``numpy.random.Generator`` built from the caller's
``random_state``; no global random state (numpy's or torch's) is read or changed.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from latentwatch.device import torch_threads

PATHS = ("linear", "spherical")
SOURCES = ("prior", "aggregate_posterior")
DECODES = ("mean", "sample")

# The aggregate-posterior summary fitted in ``fit``: at most this many mixture components,
# one per this many training rows, fitted on at most this many latent draws.
MAX_MIXTURE_COMPONENTS = 10
ROWS_PER_COMPONENT = 50
MAX_MIXTURE_ROWS = 2000
# Added to the diagonal of each component covariance (latent codes are O(1)).
MIXTURE_REG_COVAR = 1e-6

# Generated rows: an array, or a DataFrame when the model was fitted on one.
Rows = np.ndarray | pd.DataFrame

# Rows decoded per batch (bounded memory whatever ``n`` is).
_DECODE_BATCH = 65536


# -- random numbers ----------------------------------------------------------------------
def as_generator(random_state) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a scikit-learn style ``random_state``.

    ``None`` gives a freshly seeded generator (from OS entropy, so not reproducible)
    rather than numpy's global ``RandomState``, which is left untouched; an int seeds
    a new generator; a ``Generator`` is used as is; a ``RandomState`` (the caller's
    own) is used to seed a new generator.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or RandomState; "
        f"got {random_state!r}"
    )


# -- latent paths ------------------------------------------------------------------------
def _path_inputs(a, b, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"end points have different sizes: {a.shape[0]} and {b.shape[0]}")
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 2:
        raise ValueError(f"steps must be an int >= 2 (the two end points included); got {steps!r}")
    return a, b, np.linspace(0.0, 1.0, int(steps))


def linear_path(a, b, steps: int) -> np.ndarray:
    """Evenly spaced points on the straight line from ``a`` to ``b``, both included.

    ``z(t) = (1 - t) a + t b`` for ``t = 0, 1/(steps-1), ..., 1``.

    Parameters
    ----------
    a, b : array-like of shape (k,)
        End points.
    steps : int
        Number of points (at least 2).

    Returns
    -------
    np.ndarray of shape (steps, k)
    """
    a, b, t = _path_inputs(a, b, steps)
    return (1.0 - t)[:, None] * a + t[:, None] * b


def spherical_path(a, b, steps: int) -> np.ndarray:
    """Spherical linear interpolation (slerp) from ``a`` to ``b``, both included.

    ``z(t) = sin((1 - t) W) / sin(W) a + sin(t W) / sin(W) b`` with
    ``cos W = a.b / (|a| |b|)`` (Shoemake 1985; White 2016 for generative models).

    Under a standard normal prior in many dimensions, most of the mass lies near the
    sphere of radius ``sqrt(k)``; the straight line between two typical points cuts
    through the low-density interior (its midpoint is shorter by up to ``1/sqrt(2)``),
    while this path keeps the norm when ``|a| = |b|`` (and moves between the two norms
    otherwise). When ``a`` and ``b`` are (anti)parallel or one is zero the great circle
    is undefined, and the straight line is returned instead.

    Parameters
    ----------
    a, b : array-like of shape (k,)
    steps : int

    Returns
    -------
    np.ndarray of shape (steps, k)
    """
    a, b, t = _path_inputs(a, b, steps)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0.0:
        return linear_path(a, b, steps)
    omega = np.arccos(np.clip(a @ b / norms, -1.0, 1.0))
    sin_omega = np.sin(omega)
    if sin_omega < 1e-6:
        return linear_path(a, b, steps)
    return (np.sin((1.0 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / sin_omega


def latent_path(a, b, steps: int, path: str = "linear") -> np.ndarray:
    """``linear_path`` or ``spherical_path`` by name (``"linear"`` or ``"spherical"``)."""
    if path == "linear":
        return linear_path(a, b, steps)
    if path == "spherical":
        return spherical_path(a, b, steps)
    raise ValueError(f"path must be one of {PATHS}; got {path!r}")


def step_sizes(points) -> np.ndarray:
    """Euclidean distances between consecutive rows: ``|p_{i+1} - p_i|``.

    Along an interpolation a smooth model moves by small, even steps; one step much
    larger than the others is a jump (a "gap" in the latent space).

    Returns
    -------
    np.ndarray of shape (n_points - 1,)
    """
    points = np.asarray(points, dtype=np.float64)
    return np.linalg.norm(np.diff(points, axis=0), axis=1)


def attribute_vector(codes_with, codes_without) -> np.ndarray:
    """Difference of the mean latent codes of two groups of rows.

    ``v = mean_i z(x_i with the attribute) - mean_j z(x_j without it)``. Adding
    ``s v`` to a row's code and decoding adds the attribute with strength ``s``
    (the "smiling" or "glasses" vector of White 2016).

    Parameters
    ----------
    codes_with, codes_without : array-like of shape (n_i, k)

    Returns
    -------
    np.ndarray of shape (k,)
    """
    codes_with = np.asarray(codes_with, dtype=np.float64)
    codes_without = np.asarray(codes_without, dtype=np.float64)
    if len(codes_with) == 0 or len(codes_without) == 0:
        raise ValueError("attribute_vector needs at least one row with and one without")
    return codes_with.mean(axis=0) - codes_without.mean(axis=0)


# -- latent densities --------------------------------------------------------------------
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


# -- the public API on the detectors -----------------------------------------------------
class GenerativeMixin:
    """Generative methods shared by ``VAEDetector`` and ``AutoEncoderDetector``.

    The host class provides the fitted state (``module_``, ``mean_``, ``scale_``,
    ``latent_dim_``, ``seed_``...), ``_prepare``, ``_scoring_network`` and two network
    hooks: ``_encode_posterior(net, x) -> (mean, variance)`` and
    ``_decode_latent(net, z) -> (mean, logvar or None)``.
    """

    _is_variational: bool = False

    # -- fitting (called at the end of ``fit``) -----------------------------------------
    def _fit_generative(self, X: np.ndarray, Xs: np.ndarray) -> None:
        """Fitted state for generation: column ranges, integer-column flags and the latent
        mixture."""
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        self.integer_columns_ = np.all(np.round(X) == X, axis=0)
        self._fit_latent_mixture(Xs)

    def _fit_latent_mixture(self, rows: np.ndarray) -> None:
        """Fit ``latent_mixture_`` on one posterior draw per encoded training row."""
        mu, var = self._posterior(rows)
        rng = np.random.default_rng(self.seed_ + 4)
        draws = mu + np.sqrt(var) * rng.standard_normal(mu.shape)
        self.latent_mixture_ = fit_latent_mixture(draws, self.seed_ + 5)

    # -- the network, in float64 ---------------------------------------------------------
    def _posterior(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and variances of standardised rows (variances 0 for an AE)."""
        with torch.no_grad(), torch_threads(self.n_jobs):
            net = self._scoring_network()
            xs = torch.from_numpy(np.ascontiguousarray(Xs)).to(torch.device(self.device_),
                                                                torch.float64)
            mu, var = self._encode_posterior(net, self._heads().inputs(xs))
        return mu.cpu().numpy(), var.cpu().numpy()

    def _decode_to_rows(self, z: np.ndarray, decode: str = "mean",
                        rng: np.random.Generator | None = None) -> Rows:
        """Decode latent points into rows in the training data's schema and units.

        This is the ONE place where network outputs become data: every generative
        method (``sample``, ``interpolate``, ``apply_attribute``, ``denoise``) decodes
        through it. Today all columns are numeric: the decoder's per-feature Gaussian
        (in standardised units) is read at its mean (``decode="mean"``) or sampled
        (``decode="sample"``, VAE only), mapped back with ``mean_`` and ``scale_``,
        clipped to the range seen in training (``data_min_``, ``data_max_``: a Gaussian
        decoder otherwise puts e.g. negative values in a column of counts), columns
        that held only integers in training are rounded, and the result is a DataFrame
        with the training columns when the model was fitted on one.

        Parameters
        ----------
        z : np.ndarray of shape (n, latent_dim_)
        decode : {"mean", "sample"}
        rng : numpy.random.Generator, required for ``decode="sample"``

        Returns
        -------
        np.ndarray of shape (n, n_features_in_), or a DataFrame
        """
        if decode not in DECODES:
            raise ValueError(f"decode must be one of {DECODES}; got {decode!r}")
        if decode == "sample" and not self._is_variational:
            raise ValueError("decode='sample' needs a decoder distribution; an autoencoder "
                             "only has decode='mean'")
        z = np.asarray(z, dtype=np.float64).reshape(-1, self.latent_dim_)
        if getattr(self, "layout_", None) is not None:
            seed = None if rng is None else int(rng.integers(np.iinfo(np.int32).max))
            return self.decode_rows(z, sample=decode == "sample", random_state=seed)
        out = np.empty((z.shape[0], self.n_features_in_))
        with torch.no_grad(), torch_threads(self.n_jobs):
            net = self._scoring_network()
            for start in range(0, z.shape[0], _DECODE_BATCH):
                zb = torch.from_numpy(np.ascontiguousarray(z[start:start + _DECODE_BATCH]))
                mean, logvar = self._decode_latent(net, zb.to(torch.device(self.device_)))
                rows = mean.cpu().numpy()
                if decode == "sample":
                    sd = np.exp(0.5 * logvar.cpu().numpy())
                    rows = rows + sd * rng.standard_normal(rows.shape)
                out[start:start + len(rows)] = rows
        out = out * self.scale_ + self.mean_
        if hasattr(self, "data_min_"):
            out = np.clip(out, self.data_min_, self.data_max_)
        integer = getattr(self, "integer_columns_", None)
        if integer is not None and np.any(integer):
            out[:, integer] = np.round(out[:, integer])
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return out
        frame = pd.DataFrame(out, columns=list(names))
        if integer is not None:
            for j in np.flatnonzero(integer):
                frame[names[j]] = frame[names[j]].astype(np.int64)
        return frame

    def _one_code(self, row, name: str) -> np.ndarray:
        if isinstance(row, pd.Series):
            row = row.to_frame().T
        elif not isinstance(row, pd.DataFrame):
            row = np.asarray(row, dtype=np.float64)
            row = row.reshape(1, -1) if row.ndim == 1 else row
        if row.shape[0] != 1:
            raise ValueError(f"{name} must be one row; got {row.shape[0]} rows")
        return self.encode(row)[0]

    # -- public methods ------------------------------------------------------------------
    def encode(
        self, X, return_variance: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Latent means of the rows (and, on request, their posterior variances).

        For dimensionality reduction: ``encode(X)`` equals ``transform(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
        return_variance : bool, default=False
            Also return the diagonal of each row's posterior covariance. The
            autoencoder's encoder is deterministic: its variances are 0.

        Returns
        -------
        mean : np.ndarray of shape (n_samples, latent_dim_)
        variance : np.ndarray of shape (n_samples, latent_dim_)
            Only when ``return_variance`` is true.
        """
        mu, var = self._posterior(self._prepare(X))
        return (mu, var) if return_variance else mu

    def sample(self, n: int, random_state=None, source: str | None = None,
               decode: str = "mean", X=None) -> Rows:
        """Generate ``n`` new rows in the training data's schema and units.

        Parameters
        ----------
        n : int
            Number of rows.
        random_state : int, numpy Generator or RandomState, or None, default=None
            Seeds the latent draws (and the decoder noise); the same int gives the same
            rows. Global random state is never used.
        source : {"prior", "aggregate_posterior"} or None, default=None
            Where latent points come from. ``"prior"``: ``N(0, I)``, the VAE's prior.
            ``"aggregate_posterior"``: the distribution of the training rows' codes,
            ``q(z) = (1/n) sum_i q(z|x_i)``, summarised in ``fit`` by a Gaussian mixture
            of at most 10 components (``latent_mixture_``), or, when ``X`` is given,
            the exact mixture of the posteriors of the rows of ``X``. ``None`` means
            ``"aggregate_posterior"`` when ``X`` is given or the model is an AE (which
            has no prior), else ``"prior"``.
        decode : {"mean", "sample"}, default="mean"
            ``"mean"`` returns the decoder's mean (smooth, typical rows); ``"sample"``
            also draws from the decoder's per-feature distribution (VAE only), which
            restores the data's noise.
        X : array-like of shape (m, n_features_in_), optional
            Rows whose aggregate posterior to sample (with
            ``source="aggregate_posterior"``), e.g. the rows of one class to generate
            more like them.

        Returns
        -------
        np.ndarray of shape (n, n_features_in_), or a DataFrame with the training
        columns when the model was fitted on a DataFrame. Integer columns hold integers.
        """
        check_is_fitted(self, "module_")
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative int; got {n!r}")
        if source is None:
            variational_default = "prior" if X is None else "aggregate_posterior"
            source = variational_default if self._is_variational else "aggregate_posterior"
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
        rng = as_generator(random_state)
        if X is not None:
            if source != "aggregate_posterior":
                raise ValueError("X is only used with source='aggregate_posterior'")
            z = sample_posterior_mixture(*self.encode(X, return_variance=True), n, rng)
        elif source == "prior":
            if not self._is_variational:
                raise ValueError("an autoencoder has no prior; use "
                                 "source='aggregate_posterior'")
            z = sample_prior(n, self.latent_dim_, rng)
        else:
            mixture = getattr(self, "latent_mixture_", None)
            if mixture is None:
                raise ValueError("this model has no stored aggregate-posterior summary "
                                 "(saved by an older latentwatch); pass X, the rows to use")
            z = mixture.sample(n, rng)
        return self._decode_to_rows(z, decode, rng)

    def interpolate(self, a, b, steps: int = 8, path: str = "linear",
                    return_latent: bool = False) -> Rows | tuple[Rows, np.ndarray]:
        """Decode evenly spaced points on a latent path between two rows.

        The path joins the latent means of ``a`` and ``b`` (see ``linear_path`` and
        ``spherical_path``); each point is decoded at the decoder's mean.

        Parameters
        ----------
        a, b : array-like of shape (n_features_in_,), or a one-row DataFrame / Series
            The end rows.
        steps : int, default=8
            Number of rows returned, end points included (at least 2).
        path : {"linear", "spherical"}, default="linear"
        return_latent : bool, default=False
            Also return the latent points.

        Returns
        -------
        rows : np.ndarray of shape (steps, n_features_in_), or a DataFrame
            Row 0 decodes ``a``'s code, the last row ``b``'s.
        z : np.ndarray of shape (steps, latent_dim_)
            Only when ``return_latent`` is true.
        """
        z = latent_path(self._one_code(a, "a"), self._one_code(b, "b"), steps, path)
        rows = self._decode_to_rows(z)
        return (rows, z) if return_latent else rows

    def attribute_vector(self, X_with, X_without) -> np.ndarray:
        """Latent direction of an attribute: mean code of ``X_with`` minus that of
        ``X_without``.

        Parameters
        ----------
        X_with, X_without : array-like of shape (n_i, n_features_in_)
            Rows that have the attribute and rows that do not.

        Returns
        -------
        np.ndarray of shape (latent_dim_,)
        """
        return attribute_vector(self.encode(X_with), self.encode(X_without))

    def apply_attribute(self, X, vector, strength: float = 1.0) -> Rows:
        """Add an attribute to rows: decode ``encode(X) + strength * vector``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
        vector : array-like of shape (latent_dim_,)
            From ``attribute_vector``.
        strength : float, default=1.0
            ``0`` gives ``denoise(X)``; negative values remove the attribute.

        Returns
        -------
        np.ndarray of shape (n_samples, n_features_in_), or a DataFrame
        """
        vector = np.asarray(vector, dtype=np.float64).ravel()
        if vector.shape != (self.latent_dim_,):
            raise ValueError(f"vector must have latent_dim_ = {self.latent_dim_} values; "
                             f"got {vector.shape[0]}")
        return self._decode_to_rows(self.encode(X) + float(strength) * vector)

    def denoise(self, X) -> Rows:
        """Project rows onto the model's manifold: decode the posterior mean.

        Like ``reconstruct`` but in the training schema (integer columns rounded, a
        DataFrame when fitted on one).

        Returns
        -------
        np.ndarray of shape (n_samples, n_features_in_), or a DataFrame
        """
        return self._decode_to_rows(self.encode(X))
