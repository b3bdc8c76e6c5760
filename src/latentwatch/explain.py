"""Why a row scores high: the cells that make it unusual, what was observed and what the
model expected of them given the other columns, in words (``amount: 4,120.00 (expected
about 38)``) and as tables.

Cells are ranked by their counterfactual attribution (:mod:`latentwatch.attribution`):
how much the row's score falls when the cell holds the value the model expects of it
given the other cells. The per-column parts of the score (which sum to it) are kept in
:attr:`Contribution.nats`; ranked by them, an extreme value blames the wrong columns (it
drags the latent code, and every other column is reconstructed badly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from latentwatch.attribution import counterfactual_attribution
from latentwatch.data.codec import Encoded

# Magnitudes from which numbers are written in scientific notation (1.0e308), and below
# which (other than 0) too (1.0e-6).
SCIENTIFIC_FROM = 1e12
SCIENTIFIC_BELOW = 1e-4


@dataclass(frozen=True)
class Contribution:
    """One column's part of a row's score.

    Attributes
    ----------
    column : str
        The modelled column (``ts.hour`` for a datetime feature).
    nats : float
        Its part of the score (the parts of a row sum to its score; nats).
    observed : object
        The value in the data (``None`` when missing).
    expected : object
        What the model expects of the cell given the row's other cells: the decoder's
        mean in the original units, or the most probable category or boolean.
    kind : str
        ``"numeric"``, ``"categorical"`` or ``"boolean"``.
    probability : float or None
        Model probability of the observed category or boolean, given the other cells.
    unseen : bool
        The observed category is not one the model learned (new, or rare in training).
    integer : bool
        The column holds integers.
    attribution : float
        How much the row's score falls (nats) when the cell holds ``expected``: what
        explanations are ranked by (see :mod:`latentwatch.attribution`).
    """

    column: str
    nats: float
    observed: Any
    expected: Any
    kind: str
    probability: float | None = None
    unseen: bool = False
    integer: bool = False
    attribution: float = math.nan

    def __str__(self) -> str:
        if _missing(self.observed):
            return f"{self.column}: missing (expected {self._expected()})"
        if self.kind == "numeric":
            return (f"{self.column}: {format_number(self.observed, self.integer)} "
                    f"(expected about {self._expected()})")
        notes = ["new or rare value"] if self.unseen else []
        if self.probability is not None:
            notes.append(f"p={format_probability(self.probability)}")
        notes.append(f"expected {self._expected()}")
        return f"{self.column}: {_label(self.observed)} ({', '.join(notes)})"

    def _expected(self) -> str:
        if _missing(self.expected):
            return "nothing in particular"
        if self.kind == "numeric":
            return about(float(self.expected))
        return _label(self.expected)


@dataclass(frozen=True)
class RowExplanation:
    """The score of one row and its largest contributions.

    Attributes
    ----------
    row : int
        Position of the row in the table explained (from 0).
    score : float
        Anomaly score (nats for a VAE or a table model).
    is_anomaly : bool
        Above the model's threshold.
    contributions : list of Contribution
        Largest attribution first.
    """

    row: int
    score: float
    is_anomaly: bool
    contributions: list[Contribution]

    def __str__(self) -> str:
        return "; ".join(str(c) for c in self.contributions)

    def to_dict(self, verdict: bool = True) -> dict[str, Any]:
        """A JSON-able dict: ``row`` (from 1), ``score``, ``is_anomaly`` (None without
        ``verdict``, a model with no threshold yet) and the ``contributions``, each with
        its ``attribution`` (what they are ranked by), ``nats`` (its part of the score)
        and text."""
        return {"row": self.row + 1, "score": float(self.score),
                "is_anomaly": bool(self.is_anomaly) if verdict else None,
                "contributions": [{
                    "column": c.column, "attribution": json_value(float(c.attribution)),
                    "nats": float(c.nats), "observed": json_value(c.observed),
                    "expected": json_value(c.expected), "kind": c.kind,
                    "probability": json_value(c.probability), "unseen": bool(c.unseen),
                    "text": str(c)} for c in self.contributions]}


def json_value(value: Any) -> Any:
    """A JSON-safe Python value: missing (None, NA, NaN) -> None, numpy scalars -> Python,
    datetimes -> ISO text, anything else -> its text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, str | int | bool):
        return value
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _label(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def scientific(value: float, digits: int = 3) -> str:
    """``value`` in scientific notation with ``digits`` significant digits at most and a
    plain exponent: ``1.0e308``, ``4.74e9``, ``-2.5e-7``.

    Examples
    --------
    >>> scientific(1e308), scientific(4.74e9), scientific(-2.5e-7, 2)
    ('1.0e308', '4.74e9', '-2.5e-7')
    """
    mantissa, exponent = f"{float(value):.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0")
        mantissa += "0" if mantissa.endswith(".") else ""
    return f"{mantissa}e{int(exponent)}"


def _scientific_size(value: float) -> bool:
    return value != 0 and not SCIENTIFIC_BELOW <= abs(value) < SCIENTIFIC_FROM


def format_number(value: Any, integer: bool = False) -> str:
    """A value of the data: ``4,120.00`` from 1 up, ``0.0596`` below 1 (3 significant
    digits); integers without decimals (``1,000,000``); from ``SCIENTIFIC_FROM`` up and
    below ``SCIENTIFIC_BELOW`` in scientific notation (``1.0e308``, ``1.0e-6``).

    Examples
    --------
    >>> [format_number(v) for v in (4120.0, 0.0596, 1e308, 1e-6)]
    ['4,120.00', '0.0596', '1.0e308', '1.0e-6']
    >>> format_number(1e6, integer=True), format_number(1e308, integer=True)
    ('1,000,000', '1.0e308')
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if _scientific_size(value):
        return scientific(value)
    if integer and value.is_integer():
        return f"{int(value):,}"
    if value == 0 or abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def about(value: float, digits: int = 2) -> str:
    """``value`` to ``digits`` significant digits with thousands separators: 38, 4,100,
    0.034; scientific from ``SCIENTIFIC_FROM`` up and below ``SCIENTIFIC_BELOW``.

    Examples
    --------
    >>> about(38.4), about(4123.0), about(0.0341), about(1e308)
    ('38', '4,100', '0.034', '1.0e308')
    """
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if _scientific_size(value):
        return scientific(value, max(digits, 2))
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, decimals)
    if decimals <= 0:
        return f"{int(rounded):,}"
    return f"{rounded:,.{decimals}f}"


def format_nats(value: float, sign: bool = False) -> str:
    """A score or an attribution in nats, to 3 significant digits (4 when ``sign`` is
    False): ``+501``, ``+1,570``, ``4.74e9`` (scientific from 1e6 up).

    Examples
    --------
    >>> format_nats(1567.2, sign=True), format_nats(4.74e9, sign=True), format_nats(12.345)
    ('+1,570', '+4.74e9', '12.35')
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    digits = 3 if sign else 4
    text = (scientific(abs(value), digits) if abs(value) >= 1e6
            else about(abs(value), digits))
    return ("-" if value < 0 else "+" if sign else "") + text


def format_probability(p: float) -> str:
    """``12%``, ``0.4%``, ``0.003%``."""
    percent = 100.0 * p
    if percent >= 10 or percent == 0:
        return f"{percent:.0f}%"
    return f"{about(percent, 1)}%"


def check_top_k(top_k: Any) -> None:
    """Refuse a ``top_k`` that is not a non-negative int."""
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative int (columns named per row); got "
                         f"{top_k!r}")


def explain_rows(model, X, top_k: int = 3) -> list[RowExplanation]:
    """The ``top_k`` cells that make each row of ``X`` unusual, in row order: largest
    counterfactual attribution first (see the module), each with its part of the score,
    the value observed and the value expected given the other columns.

    Raises
    ------
    DataError
        If a row cannot be encoded (the message names the column and the row).

    Examples
    --------
    >>> import pandas as pd
    >>> from latentwatch import VAEDetector
    >>> frame = pd.DataFrame({"a": range(100), "b": ["x", "y"] * 50})
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(frame)
    >>> len(explain_rows(model, frame.iloc[:2], top_k=1)[0].contributions)
    1
    """
    check_is_fitted(model, "module_")
    check_top_k(top_k)
    return explain_encoded(model, model.read_rows(X, keep_shown=True), top_k)


def explain_encoded(model, encoded: Encoded, top_k: int = 3,
                    scores: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> list[RowExplanation]:
    """Explanations of the good rows of an encoded table (in row order): the ``top_k``
    cells of largest counterfactual attribution.

    ``scores`` are the good rows' scores and parts when already computed.
    """
    check_top_k(top_k)
    codec = model.codec_
    rows = encoded.good
    row_scores, parts = scores if scores is not None else model.score_encoded(rows)
    good = np.flatnonzero(~encoded.bad)
    offset = model.offset_
    if top_k and len(rows):
        judged = counterfactual_attribution(model, rows, scores=row_scores)
        attribution, probabilities = judged.attribution, judged.probability
        ranking = judged.ranking()
        expected = codec.block_frame(judged.expected)
    shown = encoded.shown.iloc[good] if encoded.shown is not None else None
    out = []
    for i, position in enumerate(good):
        items = []
        if top_k:
            for j in ranking[i, :top_k]:
                block = codec.blocks[j]
                observed = shown.iat[i, j] if shown is not None else None
                p = probabilities[i, j]
                items.append(Contribution(
                    column=block.name, nats=float(parts[i, j]),
                    observed=None if _missing(observed) else _python(observed),
                    expected=_python(expected.iat[i, j]), kind=block.kind,
                    probability=None if math.isnan(p) else float(p),
                    unseen=bool(encoded.unseen[position, j]), integer=block.integer,
                    attribution=float(attribution[i, j]),
                ))
        out.append(RowExplanation(int(position), float(row_scores[i]),
                                  offset is not None and bool(row_scores[i] > -offset), items))
    return out


def _python(value: Any) -> Any:
    if value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value
