"""Which rows train, which stop training early and which calibrate the threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentwatch.maths import hashed_uniforms

# Below this many fitting rows there is no validation split: early stopping watches the
# training loss.
MIN_ROWS_FOR_VALIDATION = 50


@dataclass(frozen=True)
class RowSplits:
    """Row indices (sorted, into the data given to ``fit``).

    Attributes
    ----------
    fit : rows the codec and the network learn from (all but ``calibration``)
    train : the rows of ``fit`` that the optimiser sees
    validation : the rows of ``fit`` held out for early stopping (may be empty)
    calibration : rows held out of everything, for a conformal threshold (may be empty)
    """

    fit: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    calibration: np.ndarray


def split_rows(n_rows: int, calibration_fraction: float, validation_fraction: float,
               rng: np.random.Generator,
               min_rows_for_validation: int = MIN_ROWS_FOR_VALIDATION) -> RowSplits:
    """Draw the calibration rows, then the validation rows among the others.

    ``round(calibration_fraction * n_rows)`` calibration rows; of the remaining ``m``
    rows, ``round(validation_fraction * m)`` validation rows when ``m`` is at least
    ``min_rows_for_validation``, else none.
    """
    order = rng.permutation(n_rows)
    n_cal = round(calibration_fraction * n_rows)
    calibration, rest = np.sort(order[:n_cal]), order[n_cal:]
    n_val = round(validation_fraction * len(rest)) if len(rest) >= min_rows_for_validation else 0
    return RowSplits(np.sort(rest), np.sort(rest[n_val:]), np.sort(rest[:n_val]), calibration)


def stream_shares(n_rows: int, calibration_fraction: float, validation_fraction: float,
                  max_calibration_rows: int, max_validation_rows: int,
                  min_rows_for_validation: int = MIN_ROWS_FOR_VALIDATION
                  ) -> tuple[float, float]:
    """Shares of the rows of a stream that calibrate and that validate.

    ``calibration = min(calibration_fraction, max_calibration_rows / n_rows)`` and, of the
    rest, ``validation_fraction`` (as :func:`split_rows`), at most ``max_validation_rows``
    rows; none when fewer than ``min_rows_for_validation`` rows remain. The counts are then
    about these shares of ``n_rows`` (each row is drawn on its own).

    >>> stream_shares(1_000_000, 0.0, 0.1, 50_000, 50_000)
    (0.0, 0.05)
    """
    n = max(n_rows, 1)
    calibration = min(calibration_fraction, max_calibration_rows / n)
    rest = n * (1 - calibration)
    if rest < min_rows_for_validation:
        return calibration, 0.0
    return calibration, min(validation_fraction * (1 - calibration), max_validation_rows / n)


__all__ = ["RowSplits", "hashed_uniforms", "split_rows", "stream_shares"]
