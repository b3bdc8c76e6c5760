"""Model-space values back to data: the ONE place where standardised numbers, category
indices, 0/1 flags and gaps become valid values of the training table (see
:mod:`latentwatch.data.codec` for the rule).

>>> from latentwatch.data.blocks import Block
>>> block = Block("n", "n", "numeric", integer=True, mean=10.0, scale=2.0, low=0.0, high=20.0)
>>> decode_column(block, np.array([0.4, 99.0]), np.zeros(2, dtype=bool)).tolist()
[11, 20]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block, DateColumn
from latentwatch.data.cells import WEEKDAYS
from latentwatch.data.quantiles import from_normal_scores


def decode_column(block: Block, values: np.ndarray, missing: np.ndarray,
                  rng: np.random.Generator | None = None) -> pd.Series:
    """One block's model-space values as valid data in the original units and labels.

    A value that is not a number (NaN) decodes as missing, as does every value of a
    numeric column that had no value in training (it has no range).
    """
    missing = missing | np.isnan(values)
    if block.kind == "numeric":
        low, high = block.low, block.high
        if low is None or high is None:
            missing, low, high = np.ones(len(values), dtype=bool), 0.0, 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            numbers = values * block.scale + block.mean
            if block.log:
                numbers = np.expm1(numbers)
            if block.quantiles is not None:
                numbers = from_normal_scores(numbers, block.quantiles)
        numbers = np.clip(np.nan_to_num(numbers, nan=low), low, high)
        if block.integer:
            rounded = pd.array(np.round(numbers).astype(np.int64), dtype="Int64")
            rounded[missing] = pd.NA
            return pd.Series(rounded)
        if block.decimals is not None:
            numbers = np.round(numbers, block.decimals)
        return pd.Series(np.where(missing, np.nan, numbers))
    labels = list(block.categories)
    top = 1 if block.kind == "boolean" else len(labels)
    codes = np.clip(np.round(np.nan_to_num(values)), 0, top).astype(np.int64)
    if block.kind == "boolean":
        out = np.array(labels, dtype=object)[codes]
        out[missing] = None
        if block.label_type == "bool":
            return pd.Series(out, dtype="boolean")
        if block.label_type == "int":
            return pd.Series(pd.array(out, dtype="Int64"))
        return pd.Series(out, dtype=object)
    out = np.empty(len(codes), dtype=object)
    known = codes < len(labels)
    out[known] = np.array(labels, dtype=object)[codes[known]] if labels else None
    out[~known] = _rare_draws(block, int((~known).sum()), rng)
    out[missing] = None
    if block.label_type == "int":
        return pd.Series(pd.array(out, dtype="Int64"))
    if block.label_type == "float":
        return pd.Series(pd.array(out, dtype="Float64"))
    return pd.Series(out, dtype=object)


def _rare_draws(block: Block, n: int, rng: np.random.Generator | None) -> np.ndarray:
    """``n`` values for a decoded rare bucket: pooled training values, by frequency."""
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    if not block.rare_labels:  # a bucket that pooled nothing: the first label, a valid one
        out[:] = block.categories[0] if block.categories else None
        return out
    if rng is None:
        out[:] = block.rare_labels[0]
        return out
    counts = np.asarray(block.rare_counts, dtype=np.float64)
    picks = rng.choice(len(block.rare_labels), size=n, p=counts / counts.sum())
    out[:] = np.array(block.rare_labels, dtype=object)[picks]
    return out


def assemble_datetimes(column: DateColumn, parts: dict[str, pd.Series],
                       rng: np.random.Generator | None = None) -> pd.Series:
    """Timestamps with the decoded ``hour``/``weekday``/``month`` of a datetime column.

    The date is a day of the training period ``[first, last]`` with the decoded weekday
    and month: drawn uniformly among those days with ``rng``, else the one nearest the
    middle of the period. When no day of the period matches (a short period), the search
    widens by a year on each side. The time is the decoded hour (midnight without an
    hour feature) plus, with ``rng``, uniformly drawn minutes and seconds. A row whose
    features are missing is missing (``NaT``).
    """
    first = pd.Timestamp(column.first).tz_localize(None).normalize()
    last = pd.Timestamp(column.last).tz_localize(None).normalize()
    n = len(next(iter(parts.values())))
    missing = np.zeros(n, dtype=bool)
    for series in parts.values():
        missing |= series.isna().to_numpy()
    weekday = parts.get("weekday")
    month = parts.get("month")
    hour = parts.get("hour")
    wanted_wd = (np.full(n, -1) if weekday is None else
                 weekday.map(lambda v: WEEKDAYS.index(v) if v in WEEKDAYS else -1).to_numpy())
    wanted_m = (np.full(n, -1) if month is None else
                month.astype("Float64").fillna(-1).to_numpy(dtype=np.float64).astype(int))
    days = np.empty(n, dtype="datetime64[D]")
    middle = first + (last - first) / 2
    for wd, m in set(zip(wanted_wd.tolist(), wanted_m.tolist(), strict=True)):
        rows = np.flatnonzero((wanted_wd == wd) & (wanted_m == m))
        for widen in (0, 366, 3 * 366):
            span = pd.date_range(first - pd.Timedelta(days=widen),
                                 last + pd.Timedelta(days=widen), freq="D")
            ok = np.ones(len(span), dtype=bool)
            if wd >= 0:
                ok &= span.day_of_week.to_numpy() == wd
            if m >= 1:
                ok &= span.month.to_numpy() == m
            if ok.any():
                candidates = span[ok]
                break
        else:
            candidates = pd.DatetimeIndex([middle.normalize()])
        if rng is None:
            nearest = int(np.argmin(np.abs((candidates - middle).total_seconds())))
            days[rows] = candidates[nearest].to_datetime64()
        else:
            days[rows] = candidates[rng.integers(len(candidates), size=len(rows))].to_numpy()
    seconds = np.zeros(n)
    if hour is not None:
        seconds += 3600.0 * hour.astype("Float64").fillna(0).to_numpy(dtype=np.float64)
    if rng is not None and hour is not None:
        seconds += rng.integers(0, 3600, size=n)
    stamps = pd.Series(days.astype("datetime64[ns]")) + pd.to_timedelta(seconds, unit="s")
    stamps[missing] = pd.NaT
    return stamps.dt.tz_localize("UTC") if column.utc else stamps
