"""The VAE as a generative model: sampling, latent paths, attribute vectors, denoising.

Pure functions on latent codes (paths, the attribute vector) and the generative
operations over a fitted detector. Every latent point they turn into data goes through
the detector's ``decode_rows``, the one decode path, so every row is valid data for the
training schema. Latent densities (the prior, the aggregate posterior's mixture) are in
:mod:`latentwatch.models.priors`.

Randomness always comes from a ``numpy.random.Generator`` built from the caller's
``random_state``; no global random state (numpy's or torch's) is read or changed.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from latentwatch.models.priors import sample_posterior_mixture, sample_prior

PATHS = ("linear", "spherical")
SOURCES = ("prior", "aggregate_posterior")
DECODES = ("mean", "sample")


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


# -- the public API on the detectors -----------------------------------------------------


# -- operations over a fitted detector --------------------------------------------------
def sample(model: Any, n: int, *, random_state=None, source: str | None = None,
           decode: str = "mean", X=None):
    """Generate ``n`` new rows in the training data's schema and units.

    Parameters
    ----------
    model : fitted AutoEncoderDetector or VAEDetector
    n : int
        Number of rows.
    random_state : int, numpy Generator or RandomState, or None, default=None
        Seeds the latent draws and the decoder's; the same int gives the same rows.
    source : {"prior", "aggregate_posterior"} or None, default=None
        ``"prior"``: ``N(0, I)``, the VAE's prior. ``"aggregate_posterior"``: the
        distribution of the training rows' codes, ``q(z) = (1/n) sum_i q(z|x_i)``,
        summarised in ``fit`` by a Gaussian mixture (``prior_``), or, when ``X`` is
        given, the exact mixture of the posteriors of the rows of ``X``. ``None``:
        ``"aggregate_posterior"`` when ``X`` is given or for an AE (no prior), else
        ``"prior"``.
    decode : {"mean", "sample"}, default="mean"
        ``"mean"``: the most probable row at each latent point (smooth, typical rows);
        ``"sample"`` (VAE only): draw every column from the decoder's distribution,
        gaps at the modelled rate included, which is what makes a table realistic.
    X : array-like or DataFrame, optional
        Rows whose aggregate posterior to sample (with ``source="aggregate_posterior"``).

    Returns
    -------
    pandas.DataFrame with the training columns (np.ndarray for a model fitted on an
    array); every value valid for the training schema.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import VAEDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    >>> sample(model, 2, random_state=0, decode="sample").shape
    (2, 3)
    """
    check_is_fitted(model, "module_")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int; got {n!r}")
    variational = model.module_.variational
    if source is None:
        source = "prior" if variational and X is None else "aggregate_posterior"
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {DECODES}; got {decode!r}")
    if decode == "sample" and not variational:
        raise ValueError("decode='sample' needs a decoder distribution; an autoencoder only "
                         "has decode='mean'")
    rng = as_generator(random_state)
    if X is not None:
        if source != "aggregate_posterior":
            raise ValueError("X is only used with source='aggregate_posterior'")
        z = sample_posterior_mixture(*model.encode(X, return_variance=True), n, rng)
    elif source == "prior":
        if not variational:
            raise ValueError("an autoencoder has no prior; use source='aggregate_posterior'")
        z = sample_prior(n, model.latent_dim_, rng)
    else:
        z = model.prior_.sample(n, rng)
    return model.decode_rows(z, sample=decode == "sample", random_state=rng)


def _one_code(model: Any, row, name: str) -> np.ndarray:
    if isinstance(row, pd.Series):
        # one row of a table: each value keeps its own type (a NaT stays a datetime)
        row = pd.DataFrame([row.to_dict()], index=[row.name])
    elif not isinstance(row, pd.DataFrame):
        row = np.asarray(row)
        row = row.reshape(1, -1) if row.ndim == 1 else row
    if row.shape[0] != 1:
        raise ValueError(f"{name} must be one row; got {row.shape[0]} rows")
    return model.encode(row)[0]


def interpolate(model: Any, a, b, *, steps: int = 8, path: str = "linear",
                return_latent: bool = False):
    """Decode evenly spaced points on a latent path between two rows.

    The path joins the latent means of ``a`` and ``b`` (see :func:`linear_path` and
    :func:`spherical_path`); each point is decoded at the decoder's mean, so the first
    and last rows are the reconstructions of ``a`` and ``b``.

    Parameters
    ----------
    a, b : one-row DataFrame, Series or array of shape (n_features_in_,)
    steps : int, default=8
        Rows returned, end points included (at least 2).
    path : {"linear", "spherical"}, default="linear"
    return_latent : bool, default=False
        Also return the latent points ``(steps, latent_dim_)``.
    """
    z = latent_path(_one_code(model, a, "a"), _one_code(model, b, "b"), steps, path)
    rows = model.decode_rows(z)
    return (rows, z) if return_latent else rows


def apply_attribute(model: Any, X, vector, strength: float = 1.0):
    """Add an attribute to rows: decode ``encode(X) + strength * vector``.

    ``strength=0`` gives ``denoise(X)``; negative values remove the attribute.
    """
    check_is_fitted(model, "module_")
    vector = np.asarray(vector, dtype=np.float64).ravel()
    if vector.shape != (model.latent_dim_,):
        raise ValueError(f"vector must have latent_dim_ = {model.latent_dim_} values; "
                         f"got {vector.shape[0]}")
    return model.decode_rows(model.encode(X) + float(strength) * vector)
