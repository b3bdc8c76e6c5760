"""Dequantisation of near-discrete numeric columns in the training batches.

A column whose training values take few distinct values (counts, pixel levels, coded
measurements) lets a Gaussian decoder shrink its variance onto the grid, and a value
between two grid points then costs far more than its distance says. Training on
``x + u``, ``u ~ U(-r/2, r/2)`` with ``r`` the column's resolution (the median gap between
its consecutive distinct values, in standardised units, when at most ``MAX_STEP``), fits
a density of the binned data instead (Theis et al., 2016): the decoder's variance cannot
fall much below ``r^2 / 12`` on that column. Only training batches are changed (fresh noise
each epoch); held-out rows and scoring read the values as they are. It is an option
(``training={"dequantise": True}`` on the estimators), off by default: on the ADBench dev
suite it moved the means by less than the seed noise (see ``docs/detection.md``).
"""

from __future__ import annotations

import numpy as np
import torch

from latentwatch.data.protocol import Codec

#: A column is near-discrete when its distinct training values are at most this share of
#: its observed training values.
DISCRETE_SHARE = 0.5
#: Only a grid finer than this many standard deviations is dequantised: the noise's
#: variance ``r^2 / 12`` stays within 2% of the column's. A coarse grid (a binary column, a
#: code with a few levels) keeps its sharp levels, which a wrong level is told apart by.
MAX_STEP = 0.5


def column_resolution(values: np.ndarray, share: float = DISCRETE_SHARE) -> float:
    """The resolution of one column's observed values: the median gap between consecutive
    distinct values when they number at most ``share`` of the values (and at least two),
    else 0 (a continuous column).

    Examples
    --------
    >>> column_resolution(np.array([0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0]))
    1.0
    >>> column_resolution(np.array([0.1, 0.25, 0.3, 0.7]))
    0.0
    """
    distinct = np.unique(values)
    if len(distinct) < 2 or len(distinct) > share * len(values):
        return 0.0
    return float(np.median(np.diff(distinct)))


def resolutions(codec: Codec, rows: np.ndarray, share: float = DISCRETE_SHARE,
                max_step: float = MAX_STEP) -> np.ndarray:
    """Each numeric block's resolution ``(len(codec.numeric),)`` over the observed entries
    of packed training ``rows`` (:func:`column_resolution`), in standardised units; 0 (left
    as it is) for a continuous column and for a grid coarser than ``max_step``.

    Examples
    --------
    >>> import pandas as pd
    >>> from latentwatch.data import TableCodec
    >>> frame = pd.DataFrame({"count": [0.0, 1, 1, 2, 2, 3] * 5, "real": np.linspace(0, 1, 30)})
    >>> codec = TableCodec().fit(frame)
    >>> steps = resolutions(codec, codec.encode(frame).packed, max_step=2.0)
    >>> bool(np.isclose(steps[0], 1 / codec.blocks[0].scale)), float(steps[1])
    (True, 0.0)
    >>> float(resolutions(codec, codec.encode(frame).packed)[0])  # 1.04 sd: too coarse
    0.0
    """
    target0, observed0 = codec.input_width, codec.input_width + codec.n_blocks
    out = np.zeros(len(codec.numeric))
    for k, j in enumerate(codec.numeric):
        seen = rows[:, observed0 + j] > 0
        if seen.any():
            out[k] = column_resolution(rows[seen, target0 + j], share)
    return np.where(out <= max_step, out, 0.0)


def dequantise(codec: Codec, batch: torch.Tensor, steps: np.ndarray,
               gen: torch.Generator) -> torch.Tensor:
    """A packed training ``batch`` ``(n, packed_width)`` with uniform noise of each numeric
    block's resolution ``steps`` (:func:`resolutions`) added to its observed entries, input
    and target alike; a new tensor.

    ``x'_ij = x_ij + r_j (u_ij - 1/2)``, ``u_ij ~ U(0, 1)`` drawn from ``gen`` (on the CPU),
    for observed ``x_ij`` of a numeric block ``j`` with ``r_j > 0``; every other entry is
    unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> from latentwatch.data import TableCodec
    >>> frame = pd.DataFrame({"count": [0.0, 1, 1, 2, 2, 3] * 5, "real": np.linspace(0, 1, 30)})
    >>> codec = TableCodec().fit(frame)
    >>> rows = torch.from_numpy(codec.encode(frame).packed)
    >>> steps = resolutions(codec, rows.numpy(), max_step=2.0)
    >>> noisy = dequantise(codec, rows, steps, torch.Generator().manual_seed(0))
    >>> moved = (noisy - rows).abs()
    >>> target = codec.input_width  # the target copy of the input column 0
    >>> bool(moved[:, 0].max() <= steps[0] / 2), bool(torch.equal(moved[:, 0], moved[:, target]))
    (True, True)
    >>> float(moved[:, 1].max())  # the continuous column is left alone
    0.0
    """
    picked = np.flatnonzero(steps > 0)
    if not len(picked) or not len(batch):
        return batch
    blocks = torch.as_tensor(np.asarray(codec.numeric)[picked], dtype=torch.long)
    width = torch.as_tensor(steps[picked], dtype=batch.dtype)
    noise = (torch.rand((len(batch), len(picked)), generator=gen, dtype=batch.dtype)
             - 0.5) * width
    noise = noise.to(batch.device)
    blocks = blocks.to(batch.device)
    target0 = codec.input_width
    observed = batch[:, target0 + codec.n_blocks + blocks]
    noise = noise * (observed > 0)
    out = batch.clone()
    out[:, target0 + blocks] += noise
    out[:, torch.as_tensor(codec.input_start, dtype=torch.long).to(batch.device)[blocks]] += noise
    return out
