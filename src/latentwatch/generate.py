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
# What VAEDetector(purpose="generate") fits with where its parameters are left at None or
# "auto": the recipe benchmarks/generation/generative_quality.py measured best for synthetic rows.
GENERATIVE_RECIPE = {
    # normal scores of the training quantiles for discrete and zero-heavy numeric columns
    # (exact point masses), standardised values (after the schema's log) for the others
    "numeric_transform": "mixed",
    "beta": 0.5,                      # KL weight: a tighter posterior, less blur
    "latent_factor": 1.5,             # latent size: this many times the default one
    "max_epochs": 60,                 # early stopping may end training sooner
    "auto_steps_per_epoch": 8,        # with batch_size="auto": mini-batches an epoch
}
# sample(decode="sample") draws numbers with this times the decoder's standard deviation
# (below 1 keeps more of the correlations that its independent noise dilutes, but narrows
# the marginals; 1 measured best over the four tables of
# benchmarks/generation/generative_quality.py).
SAMPLE_TEMPERATURE = 1.0
# Conditional sampling draws at most this many rows per row asked for (plus a floor),
# in batches of at least BATCH_ROWS, before it gives up.
MAX_DRAWS_PER_ROW = 200
MIN_DRAWS = 20_000
BATCH_ROWS = 2048


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
           decode: str | None = None, X=None, conditions: dict | None = None,
           max_draws: int | None = None, temperature: float | None = None):
    """Generate ``n`` new rows in the training data's schema and units.

    With no options this gives the most realistic rows the generative benchmark
    (``benchmarks/generation/generative_quality.py``) measured: latent points from the aggregate
    posterior's mixture, every column drawn from the decoder's distribution with its
    numbers' spread at ``SAMPLE_TEMPERATURE`` (a VAE; an autoencoder decodes its mean).

    Parameters
    ----------
    model : fitted AutoEncoderDetector or VAEDetector
    n : int
        Number of rows.
    random_state : int, numpy Generator or RandomState, or None, default=None
        Seeds the latent draws and the decoder's; the same int gives the same rows.
    source : {"prior", "aggregate_posterior"} or None, default=None
        ``"aggregate_posterior"``: the distribution of the training rows' codes,
        ``q(z) = (1/n) sum_i q(z|x_i)``, summarised in ``fit`` by a Gaussian mixture
        (``prior_``), or, when ``X`` is given, the exact mixture of the posteriors of the
        rows of ``X``; ``"prior"``: ``N(0, I)``, the VAE's prior (the aggregate posterior
        is nearer the data where the KL term did not pull every code to the prior).
        ``None``: ``"aggregate_posterior"``.
    decode : {"mean", "sample"} or None, default=None
        ``"sample"`` (VAE only): draw every column from the decoder's distribution, gaps
        at the modelled rate included, which is what makes a table realistic; ``"mean"``:
        the most probable row at each latent point (smooth, typical rows: the spread of
        every column shrinks). ``None``: ``"sample"`` for a VAE, ``"mean"`` for an AE.
    X : array-like or DataFrame, optional
        Rows whose aggregate posterior to sample (with ``source="aggregate_posterior"``).
    conditions : dict or None, default=None
        ``{column: value}`` rows must hold, e.g. ``{"country": "DE"}``; a value is a
        training category or boolean, a number, or a ``(low, high)`` range (both
        included) for a numeric column. Rows are drawn by rejection: batches are sampled
        as above and the rows that hold every condition are kept, so the kept rows follow
        the model's own distribution given the conditions exactly, and their other
        columns its conditional distribution.
    max_draws : int or None, default=None
        Rows drawn at most before conditional sampling gives up (``ValueError``);
        ``None``: ``max(20,000, 200 n)``.
    temperature : float or None, default=None
        With ``decode="sample"``: numbers are ``mean + temperature * sigma * eps`` (1: the
        decoder's own spread; less keeps more of the correlations between columns, which
        its independent noise dilutes). ``None``: ``SAMPLE_TEMPERATURE`` (1).

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
    >>> sample(model, 2, random_state=0).shape
    (2, 3)
    >>> rows = sample(model, 5, random_state=0, conditions={"x0": (0.0, 1.0)})
    >>> bool(((rows[:, 0] >= 0) & (rows[:, 0] <= 1)).all())
    True
    """
    check_is_fitted(model, "module_")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int; got {n!r}")
    variational = model.module_.variational
    source = "aggregate_posterior" if source is None else source
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    decode = ("sample" if variational else "mean") if decode is None else decode
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {DECODES}; got {decode!r}")
    if decode == "sample" and not variational:
        raise ValueError("decode='sample' needs a decoder distribution; an autoencoder only "
                         "has decode='mean'")
    if X is not None and source != "aggregate_posterior":
        raise ValueError("X is only used with source='aggregate_posterior'")
    if source == "prior" and not variational:
        raise ValueError("an autoencoder has no prior; use source='aggregate_posterior'")
    temperature = SAMPLE_TEMPERATURE if temperature is None else temperature
    if not isinstance(temperature, numbers.Real) or not temperature >= 0:
        raise ValueError(f"temperature must be a number >= 0; got {temperature!r}")
    rng = as_generator(random_state)
    posterior = model.encode(X, return_variance=True) if X is not None else None

    def draw(m: int):
        if posterior is not None:
            z = sample_posterior_mixture(*posterior, m, rng)
        elif source == "prior":
            z = sample_prior(m, model.latent_dim_, rng)
        else:
            z = model.prior_.sample(m, rng)
        return model.decode_rows(z, sample=decode == "sample", random_state=rng,
                                 temperature=temperature)

    if not conditions:
        return draw(n)
    checks = condition_checks(model.codec_, conditions)
    budget = max(MIN_DRAWS, MAX_DRAWS_PER_ROW * n) if max_draws is None else int(max_draws)
    return _rejection_sample(model, draw, checks, n, budget, conditions)


def condition_checks(codec, conditions: dict) -> list[tuple[str, Any]]:
    """``[(column, test)]`` for ``conditions``: each test maps a decoded column to a mask.

    Raises ``ValueError`` (one line) for a column the model does not generate, a datetime
    column, a category or boolean never seen in training, or a number or range outside the
    training range.
    """
    if not isinstance(conditions, dict):
        raise ValueError(f"conditions must be a dict {{column: value}}; got {conditions!r}")
    blocks = {}
    for block in codec.blocks:
        blocks.setdefault(block.source, []).append(block)
    checks = []
    for column, value in conditions.items():
        if column not in blocks:
            raise ValueError(f"condition on {column!r}: the model generates no such column "
                             f"(its columns: {', '.join(codec.sources)})")
        block = blocks[column][0]
        if block.derive is not None:
            raise ValueError(f"condition on {column!r}: a datetime column cannot be a "
                             "condition (condition on other columns)")
        checks.append((column, _condition_test(block, value)))
    return checks


def _condition_test(block, value):
    column = block.source
    if block.kind == "numeric":
        low, high = (value if isinstance(value, tuple | list) else (value, value))
        try:
            low, high = float(low), float(high)
        except (TypeError, ValueError):
            raise ValueError(f"condition on {column!r}: {value!r} is not a number or a "
                             "(low, high) range") from None
        if not low <= high:
            raise ValueError(f"condition on {column!r}: the range {value!r} is empty "
                             "(low > high)")
        if block.low is None or high < block.low or low > block.high:
            raise ValueError(f"condition on {column!r}: {value!r} is outside the training "
                             f"range {block.low:g} to {block.high:g}")

        def test(col):
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64,
                                                              na_value=np.nan)
            return (x >= low) & (x <= high)

        return test
    labels = [*block.categories, *(block.rare_labels if block.kind == "categorical" else [])]
    boolean = block.kind == "boolean"
    match = next((label for label in labels if _same_label(label, value, boolean)), None)
    if match is None:
        shown = ", ".join(repr(label) for label in labels[:10])
        raise ValueError(f"condition on {column!r}: {value!r} was never seen in training "
                         f"(values: {shown}{', ...' if len(labels) > 10 else ''})")

    def test(col):
        return col.map(lambda v: v is not None and v is not pd.NA and v == match).to_numpy(
            dtype=bool, na_value=False)

    return test


FLAG_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
              "t": True, "f": False, "y": True, "n": False}


def _flag(value) -> bool | None:
    """A boolean's truth from ``True``, ``1``, ``"yes"``...; None when it is none of them."""
    if isinstance(value, bool | np.bool_ | numbers.Number):
        return bool(value) if value in (0, 1) else None
    return FLAG_WORDS.get(str(value).strip().lower())


def _same_label(label, value, boolean: bool = False) -> bool:
    """A training label equals the condition's value: a boolean's by truth (``"true"``,
    ``1`` and ``True`` alike), others as they are or as text (so the command line's ``"1"``
    matches a label 1)."""
    if boolean:
        return _flag(label) is not None and _flag(label) == _flag(value)
    if label == value:
        return True
    return str(label) == str(value).strip()


def _rejection_sample(model: Any, draw, checks, n: int, budget: int, conditions: dict):
    """Batches from ``draw`` until ``n`` rows hold every check; ValueError past ``budget``."""
    kept, drawn, held = [], 0, 0
    while held < n:
        rate = (held + 1) / (drawn + 1)
        m = int(min(max(BATCH_ROWS, 1.2 * (n - held) / rate), budget - drawn))
        if m <= 0:
            raise ValueError(
                f"conditions {conditions!r} held on {held:,} of {drawn:,} rows drawn "
                f"({held / max(drawn, 1):.2%}): fewer than the {n:,} asked for within "
                f"max_draws={budget:,}; ask for fewer rows, loosen the conditions or raise "
                "max_draws")
        rows = draw(m)
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(
            rows, columns=model.codec_.sources)
        ok = np.ones(len(frame), dtype=bool)
        for column, test in checks:
            ok &= test(frame[column])
        drawn += m
        held += int(ok.sum())
        kept.append(rows[ok])
    if isinstance(kept[0], pd.DataFrame):
        return pd.concat(kept, ignore_index=True).iloc[:n]
    return np.concatenate(kept)[:n]


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

    ``strength=0`` gives ``reconstruct(X)``; negative values remove the attribute.
    """
    check_is_fitted(model, "module_")
    vector = np.asarray(vector, dtype=np.float64).ravel()
    if vector.shape != (model.latent_dim_,):
        raise ValueError(f"vector must have latent_dim_ = {model.latent_dim_} values; "
                         f"got {vector.shape[0]}")
    return model.decode_rows(model.encode(X) + float(strength) * vector)


def kept_cells(relative: np.ndarray, tolerance: float) -> np.ndarray:
    """Entries typical enough to keep: ``relative >= -tolerance^2 / 2``.

    ``relative`` is ``log p(x_j | z) - max_v log p(v | z)``; for a numeric column the rule
    keeps values within ``tolerance`` decoder standard deviations of the reconstruction,
    for a category or boolean those at least ``exp(-tolerance^2 / 2)`` times as probable as
    the most probable value (0.135 for ``tolerance=2``).
    """
    return np.asarray(relative) >= -0.5 * float(tolerance) ** 2


def denoise(model: Any, X, *, tolerance: float | None = 2.0):
    """Rows with their atypical cells replaced by the model's reconstruction.

    Each row is encoded to its posterior mean ``z`` and decoded; a cell is replaced only
    where its value is unlikely under that reconstruction (see :func:`kept_cells`): a
    number more than ``tolerance`` decoder standard deviations from the decoded mean, a
    category or boolean less than ``exp(-tolerance^2 / 2)`` times as probable as the most
    probable one. Other cells, gaps included, come back as given, so a clean row is left
    (nearly) as it is and a corrupted cell is put back on the model's manifold. A datetime
    column is replaced when any of its features is.

    Parameters
    ----------
    model : fitted AutoEncoderDetector or VAEDetector
    X : array-like or DataFrame
    tolerance : float or None, default=2.0
        ``None``: replace every cell (the reconstruction, ``reconstruct(X)``).

    Returns
    -------
    pandas.DataFrame with the training columns (np.ndarray for a model fitted on an
    array), one row per row of ``X`` in order.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import VAEDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    >>> denoise(model, X[:4]).shape
    (4, 3)
    """
    check_is_fitted(model, "module_")
    if tolerance is None:
        return model.reconstruct(X)
    if not isinstance(tolerance, numbers.Real) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0 or None; got {tolerance!r}")
    from latentwatch.engine import scoring

    frame = model.as_frame(X)
    rows = model.read_rows(frame).packed
    with model_threads(model):
        expected, relative = scoring.cell_fit(model.module_, model.heads_, rows,
                                              model.device_)
    codec = model.codec_
    reconstructed = codec.decode(expected)
    keep = kept_cells(relative, tolerance)
    out = {}
    for source in codec.sources:
        blocks = [j for j, b in enumerate(codec.blocks) if b.source == source]
        replace = ~keep[:, blocks].all(axis=1)
        out[source] = _merge_column(frame[source].reset_index(drop=True),
                                    reconstructed[source], replace)
    return model.as_output(pd.DataFrame(out))


def _merge_column(original: pd.Series, reconstructed: pd.Series, replace: np.ndarray
                  ) -> pd.Series:
    """``original`` with the ``replace`` entries taken from ``reconstructed``, in the
    reconstruction's dtype where the kept values fit it."""
    if not replace.any():
        merged = original.copy()
    elif replace.all():
        return reconstructed
    else:
        merged = original.astype(object).copy()
        merged[replace] = reconstructed[replace].astype(object).to_numpy()
    try:
        cast = merged.astype(reconstructed.dtype)
    except (TypeError, ValueError):
        return merged
    same = cast.astype(object).where(cast.notna(), None)
    given = merged.astype(object).where(merged.notna(), None)
    return cast if all(a == b or (a is None and b is None) for a, b in zip(
        same, given, strict=True)) else merged


def model_threads(model: Any):
    """The torch threads of a detector (``n_jobs``), as a context."""
    from latentwatch.engine.device import torch_threads

    return torch_threads(model.n_jobs)
