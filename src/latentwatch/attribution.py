"""Which cell makes a row unusual: each column judged given the others, by counterfactuals.

The per-column parts of a score (``feature_scores``) sum to it, but they blame the wrong
column when one value is extreme: the extreme input drags the latent code away, every
other column is then reconstructed badly, and its part grows with the dragged code
(``Seniority = 1e6`` gave ``Age`` the largest part). Here each cell is judged given the
other cells of its row, with two counterfactual rows per cell ``j`` of a packed row ``x``:

* ``x`` with cell ``j``'s encoder input *masked* (written as the codec writes a gap: a
  standardised 0, an all-zero one-hot, a 0 boolean, and the missingness indicator on
  where the column had gaps), its target kept. Encoded and decoded, it gives
  ``e_j = E[x_j | x_-j]``, the value the model expects of cell ``j`` given the others
  (numeric: the decoder mean; categorical or boolean: the most probable value), and the
  probability of the observed category given the others. ``iterations`` more passes
  write ``e_j`` into the input and decode again (a fixed-point imputation; 1 by default).
* ``x`` with cell ``j`` *repaired*: its input and target set to ``e_j``.

The attribution of cell ``j`` is how much the score falls when the cell is repaired::

    a_j = s(x) - s(x with x_j := e_j)

An extreme cell gives nearly the whole excess of the score (the repaired row is normal),
while repairing any other cell leaves the extreme one in place and the score high. The
attributions do not sum to the score (the parts do); they rank the cells.

Two comparisons the benchmark measures (``benchmarks/detection/explain_attribution.py``):
leave-one-column-out, ``s(x) - s(x without j)`` (cell ``j`` masked and not scored), and
the conditional part ``part_j(x with j's input masked)``. Unobserved cells of columns
without modelled gaps (the masked steps of a window) are not judged (0).

Everything here works on packed rows through the codec's layout and the estimator's
``score_encoded``: tables and windows, every model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from latentwatch.engine import scoring

# Packed float64 values the counterfactual rows of one chunk may hold (32 MB).
CHUNK_VALUES = 2**22


@dataclass(frozen=True)
class Attribution:
    """Counterfactual judgement of every cell of some packed rows.

    Attributes
    ----------
    scores : np.ndarray of shape (n,)
        The rows' scores ``s(x)``.
    attribution : np.ndarray of shape (n, n_blocks)
        ``s(x) - s(x with x_j := e_j)`` in nats (0 for a cell not judged).
    expected : np.ndarray of shape (n, n_blocks)
        ``e_j``, the model-space value expected of each cell given the others.
    probability : np.ndarray of shape (n, n_blocks)
        Probability of the observed category or boolean given the others (NaN for
        numbers and gaps).
    judged : np.ndarray of bool, shape (n, n_blocks)
        The cells judged: those with a likelihood term (observed, or in a column with
        modelled gaps).
    """

    scores: np.ndarray
    attribution: np.ndarray
    expected: np.ndarray
    probability: np.ndarray
    judged: np.ndarray

    def ranking(self) -> np.ndarray:
        """``(n, n_blocks)`` block indices of each row, largest attribution first, the
        cells not judged last."""
        return np.argsort(-np.where(self.judged, self.attribution, -np.inf), axis=1,
                          kind="stable")


def _block_slots(codec: Any, j: int) -> tuple[int, int, int | None]:
    """Start and width of block ``j``'s value inputs, and the input index of its
    missingness indicator (None without modelled gaps)."""
    gaps = np.flatnonzero(np.asarray(codec.with_missing) == j)
    indicator = int(codec.n_values + gaps[0]) if len(gaps) else None
    return int(codec.input_start[j]), int(codec.blocks[j].width), indicator


def mask_inputs(codec: Any, rows: np.ndarray, j: int) -> np.ndarray:
    """Copies of packed ``rows`` whose block ``j`` is written to the encoder as a gap:
    its value inputs 0 and its missingness indicator (if modelled) 1; targets and
    observed flags are kept, so the row is still scored on the cell's value.

    Examples
    --------
    >>> import pandas as pd
    >>> from latentwatch.data.codec import TableCodec
    >>> frame = pd.DataFrame({"a": [0.5, 1.5] * 30, "c": ["x", "y", "z"] * 20})
    >>> codec = TableCodec().fit(frame)
    >>> rows = codec.encode(frame.iloc[[1]]).packed  # a = 1.5, c = "y"
    >>> codec.input_width, rows[0, :5].round(2).tolist()
    (5, [1.0, 0.0, 1.0, 0.0, 0.0])
    >>> mask_inputs(codec, rows, 1)[0, :5].round(2).tolist()
    [1.0, 0.0, 0.0, 0.0, 0.0]
    """
    start, width, indicator = _block_slots(codec, j)
    out = rows.copy()
    out[:, start:start + width] = 0.0
    if indicator is not None:
        out[:, indicator] = 1.0
    return out


def write_inputs(codec: Any, rows: np.ndarray, j: int, values: np.ndarray) -> np.ndarray:
    """Copies of packed ``rows`` whose block ``j``'s encoder inputs hold the model-space
    ``values`` ``(n,)`` as observed (a standardised number; a category index as a one-hot;
    a 0/1 flag as -1/+1); targets and observed flags are kept."""
    start, width, indicator = _block_slots(codec, j)
    kind = codec.blocks[j].kind
    out = rows.copy()
    values = np.asarray(values, dtype=np.float64)
    if kind == "categorical":
        out[:, start:start + width] = 0.0
        codes = np.clip(np.rint(values), 0, width - 1).astype(np.int64)
        out[np.arange(len(out)), start + codes] = 1.0
    elif kind == "boolean":
        out[:, start] = 2.0 * values - 1.0
    else:
        out[:, start] = values
    if indicator is not None:
        out[:, indicator] = 0.0
    return out


def write_cells(codec: Any, rows: np.ndarray, j: int, values: np.ndarray) -> np.ndarray:
    """Copies of packed ``rows`` with cell ``j`` set to the model-space ``values``:
    encoder inputs (:func:`write_inputs`), target and observed flag."""
    out = write_inputs(codec, rows, j, values)
    out[:, codec.input_width + j] = values
    out[:, codec.input_width + codec.n_blocks + j] = 1.0
    return out


def _judged(codec: Any, rows: np.ndarray) -> np.ndarray:
    """``(n, n_blocks)``: cells with a likelihood term, observed or with modelled gaps."""
    observed = rows[:, codec.input_width + codec.n_blocks:
                    codec.input_width + 2 * codec.n_blocks] > 0.5
    observed[:, np.asarray(codec.with_missing, dtype=np.int64)] = True
    return observed


def _pairs(codec: Any, n: int):
    """The ``(row, block)`` pairs of ``n`` rows, row-major, in chunks whose copies of the
    packed rows hold at most ``CHUNK_VALUES`` values: ``(rows, blocks)`` index arrays."""
    d = codec.n_blocks
    step = max(1, CHUNK_VALUES // max(1, codec.packed_width))
    for start in range(0, n * d, step):
        k = np.arange(start, min(n * d, start + step))
        yield k // d, k % d


def _per_block(rows: np.ndarray, blocks: np.ndarray, write, values: np.ndarray | None = None
               ) -> np.ndarray:
    """``rows`` with ``write(rows[at], j[, values[at]])`` applied where ``blocks == j``."""
    out = rows.copy()
    for j in np.unique(blocks):
        at = blocks == j
        out[at] = write(rows[at], int(j)) if values is None else write(rows[at], int(j),
                                                                      values[at])
    return out


def _conditional(model: Any, copies: np.ndarray, blocks: np.ndarray, iterations: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``E[x_j | x_-j]`` and the probability of the observed value given the others, of
    cell ``blocks[k]`` of each packed row ``copies[k]``."""
    codec = model.codec_
    masked = _per_block(copies, blocks, lambda r, j: mask_inputs(codec, r, j))
    index = np.arange(len(copies))
    values, probability = scoring.expectations(model.module_, model.heads_, masked,
                                               model.device_)
    expected = values[index, blocks]
    for _ in range(iterations):
        refined = _per_block(masked, blocks, lambda r, j, v: write_inputs(codec, r, j, v),
                             expected)
        values, probability = scoring.expectations(model.module_, model.heads_, refined,
                                                   model.device_)
        expected = values[index, blocks]
    return expected, probability[index, blocks]


def conditional_expectations(model: Any, rows: np.ndarray, iterations: int = 1
                             ) -> tuple[np.ndarray, np.ndarray]:
    """``E[x_j | x_-j]`` of every cell of packed ``rows`` (model space, ``(n, n_blocks)``)
    and the probability of each observed category or boolean given the others.

    Cell ``j``'s input is masked (:func:`mask_inputs`), the row encoded at its posterior
    mean and decoded; ``iterations`` further passes write the expectation into the input
    and decode again.
    """
    codec = model.codec_
    rows = np.asarray(rows, dtype=np.float64)
    expected = np.zeros((len(rows), codec.n_blocks))
    probability = np.full((len(rows), codec.n_blocks), np.nan)
    for i, j in _pairs(codec, len(rows)):
        expected[i, j], probability[i, j] = _conditional(model, rows[i], j, iterations)
    return expected, probability


def counterfactual_attribution(model: Any, rows: np.ndarray, iterations: int = 1,
                               scores: np.ndarray | None = None) -> Attribution:
    """Judge every cell of packed ``rows`` given the others (see the module).

    Parameters
    ----------
    model : fitted detector
    rows : np.ndarray of shape (n, packed_width)
        Packed rows that can be scored (``Encoded.good``).
    iterations : int, default=1
        Extra imputation passes of ``E[x_j | x_-j]``.
    scores : np.ndarray of shape (n,) or None
        The rows' scores when already computed.

    Returns
    -------
    Attribution

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=400)
    >>> frame = pd.DataFrame({"a": a, "b": a + 0.1 * rng.normal(size=400),
    ...                       "c": rng.normal(size=400)})
    >>> model = AutoEncoderDetector(max_epochs=30, random_state=0).fit(frame)
    >>> odd = frame.iloc[:1].assign(b=1e6)
    >>> judged = counterfactual_attribution(model, model.read_rows(odd).good)
    >>> int(judged.attribution[0].argmax())  # column b
    1
    """
    codec = model.codec_
    d = codec.n_blocks
    rows = np.asarray(rows, dtype=np.float64)
    if scores is None:
        scores = model.score_encoded(rows)[0] if len(rows) else np.empty(0)
    scores = np.asarray(scores, dtype=np.float64)
    after = np.zeros((len(rows), d))
    expected = np.zeros((len(rows), d))
    probability = np.full((len(rows), d), np.nan)
    for i, j in _pairs(codec, len(rows)):
        copies = rows[i]
        e, probability[i, j] = _conditional(model, copies, j, iterations)
        repaired = _per_block(copies, j, lambda r, b, v: write_cells(codec, r, b, v), e)
        after[i, j] = model.score_encoded(repaired)[0]
        expected[i, j] = e
    judged = _judged(codec, rows)
    attribution = np.where(judged, scores[:, None] - after, 0.0)
    return Attribution(scores, attribution, expected, probability, judged)


def leave_one_out(model: Any, rows: np.ndarray, scores: np.ndarray | None = None
                  ) -> np.ndarray:
    """``s(x) - s(x without j)`` ``(n, n_blocks)``: the fall of the score when cell ``j`` is
    masked and not scored (its observed flag 0; a column with modelled gaps then scores
    the gap). The leave-one-column-out baseline of the benchmark."""
    codec = model.codec_
    rows = np.asarray(rows, dtype=np.float64)
    if scores is None:
        scores = model.score_encoded(rows)[0]

    def without(r: np.ndarray, j: int) -> np.ndarray:
        out = mask_inputs(codec, r, j)
        out[:, codec.input_width + j] = 0.0
        out[:, codec.input_width + codec.n_blocks + j] = 0.0
        return out

    after = np.zeros((len(rows), codec.n_blocks))
    for i, j in _pairs(codec, len(rows)):
        after[i, j] = model.score_encoded(_per_block(rows[i], j, without))[0]
    return np.where(_judged(codec, rows), scores[:, None] - after, 0.0)


def conditional_parts(model: Any, rows: np.ndarray) -> np.ndarray:
    """``part_j(x with j's input masked)`` ``(n, n_blocks)``: each cell's part of the score
    of its row when the encoder does not see it (a comparison of the benchmark)."""
    codec = model.codec_
    rows = np.asarray(rows, dtype=np.float64)
    out = np.zeros((len(rows), codec.n_blocks))
    for i, j in _pairs(codec, len(rows)):
        masked = _per_block(rows[i], j, lambda r, b: mask_inputs(codec, r, b))
        out[i, j] = model.score_encoded(masked)[1][np.arange(len(j)), j]
    return out
