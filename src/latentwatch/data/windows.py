"""Windows of a time series: one packed row per time step, holding its last ``W`` steps.

A :class:`WindowCodec` reads an ordered table of ``C`` numeric channels (every numeric
column other than the time, id and excluded columns) and gives, for each input row at
time step ``t``, the window of steps ``t - W + 1 .. t`` of every channel, flattened step
by step (``W * C`` values, oldest step first), each standardised by its channel's training
mean and scale. It is a codec beside the :class:`~latentwatch.data.codec.TableCodec`
(both satisfy :class:`~latentwatch.data.protocol.Codec`): its blocks are the
``(step, channel)`` entries of the window (``Pressure[t-3]``), all Gaussian, laid out as a
table's (:class:`~latentwatch.data.blocks.PackedLayout`), so the heads, the models and the
engine read windows as they read tables. Its capabilities differ: ``context_rows`` is
``W - 1``, ``can_decode`` is False, ``training_rows`` adds partial windows and
``block_weights`` scores a row by the newest ``score_steps`` steps of its window.

Entries without a value are masked (``observed = 0``, input 0) and add nothing to the
likelihood (Donut's modified ELBO, Xu et al. 2018): a gap (NaN) in a channel, a step the
timestamps skip, and the ``W - 1`` steps before the series starts. So every row that can
be read gets a window, and a finite score, from its first step on.

A row's score is the nats of the newest ``K`` steps of its window (``score_steps``, 5 by
default; :meth:`WindowCodec.block_weights`), the model having read all ``W``: the steps
that cause a surprise are charged for it, so a short fault gives a short alarm instead of
one as long as the window, and a partial window (the series start, after a hole) is scored
on the same ``K`` newest steps as a full one.

Time steps come from the time column: the sampling interval ``dt`` is the median gap
between consecutive training timestamps, and row ``i`` sits ``clip(round((t_i -
t_{i-1}) / dt), 1, W)`` steps after the row before it (a longer gap masks the whole
window, so the steps are never more than ``W`` apart and no input row is ever dropped or
merged). Without a time column the rows are consecutive steps.

A row cannot be used (a :class:`~latentwatch.data.codec.Problem`, as for tables) when its
time is missing or not a time, when it is before the time of the last usable row before it
(an unsorted time column), or when a channel holds text or an infinite value. It gets no
score and does not enter other rows' windows. A row whose time *equals* the time of the
usable row before it (a daylight-saving change written in local time, a double write) is
kept, in file order, one step after that row, with a :class:`RepeatedTimeWarning`.

Times with a UTC offset (``...T01:00:00-05:00``, ``...Z``) are converted to UTC, so the
same instant written with two offsets is the same time; times without one are read as
they are, on the clock the training data used.

Streaming: a row's window reaches back at most ``W - 1`` usable rows, so encoding a chunk
with the last ``W - 1`` usable rows of the previous chunks as ``context`` gives the same
packed rows as encoding the whole series at once.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block, DateColumn, LaidOut
from latentwatch.data.cells import in_utc, to_numbers
from latentwatch.data.codec import TableCodec
from latentwatch.data.problems import Encoded, Problem
from latentwatch.data.schema import ColumnSpec, TableSchema, parse_datetimes
from latentwatch.data.statistics import ColumnStatistics
from latentwatch.errors import DataError, where

# Bounds of the window a rule chooses (``window="auto"``), in steps.
MIN_WINDOW = 8
MAX_WINDOW = 256
# The auto window when the autocorrelation shows no period.
DEFAULT_WINDOW = 32
# A period is a local maximum of the mean autocorrelation at least this high.
MIN_PERIOD_CORRELATION = 0.3
# The auto window leaves at least this many windows' worth of rows: W <= n_rows / this.
ROWS_PER_WINDOW = 4
# Training needs at least this many windows' worth of rows: n_rows >= this * W.
MIN_ROWS_PER_WINDOW = 2
# Share of the training windows added again with their oldest steps masked.
PARTIAL_SHARE = 0.5
# A row's score is the nats of its window's newest this many steps (at most W).
SCORE_STEPS = 5
# Packed float64 values one chunk of a streamed score may hold (256 MB).
CHUNK_VALUES = 2**25


def step_name(channel: str, lag: int) -> str:
    """``"Pressure[t]"``, ``"Pressure[t-3]"``: the block of ``channel`` ``lag`` steps back."""
    return f"{channel}[t]" if lag == 0 else f"{channel}[t-{lag}]"


def parse_times(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Times as float seconds (numbers as they are) and the mask of unreadable ones.

    Numbers are read as numbers (any unit); other values as timestamps (ISO 8601 or
    ``datetime64``; time-zone aware ones in UTC), in seconds since 1970.
    """
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        times = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(times)
        return np.where(bad, np.nan, times), bad
    stamps = parse_datetimes(raw)
    stamps = in_utc(stamps)
    bad = stamps.isna().to_numpy()
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
    return np.where(bad, np.nan, ns / 1e9), bad


def detect_interval(times: np.ndarray) -> float:
    """The sampling interval: the median of the positive gaps between consecutive finite
    times (1 when there is none)."""
    finite = times[np.isfinite(times)]
    gaps = np.diff(finite)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 1.0


def autocorrelation(values: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean over channels of the sample autocorrelation ``r(k)``, ``k = 0 .. max_lag``.

    ``r(k) = sum_t x_t x_{t+k} / sum_t x_t^2`` of each standardised channel (gaps as 0),
    computed with the FFT; constant channels are left out.
    """
    x = np.where(np.isfinite(values), values, np.nan)
    mean = np.nanmean(x, axis=0)
    sd = np.nanstd(x, axis=0)
    keep = np.isfinite(sd) & (sd > 0)
    if not keep.any():
        return np.zeros(max_lag + 1)
    x = np.nan_to_num((x[:, keep] - mean[keep]) / sd[keep])
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(x, size, axis=0)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size, axis=0)[:max_lag + 1]
    acf = acf / np.maximum(acf[:1], 1e-300)
    return acf.mean(axis=1)


def choose_window(values: np.ndarray) -> tuple[int, str]:
    """The window of ``window="auto"`` and the reason, in words.

    The dominant period: the first lag ``k >= MIN_WINDOW`` where the mean autocorrelation
    of the channels is a local maximum of at least ``MIN_PERIOD_CORRELATION``; without
    one, ``DEFAULT_WINDOW``. Then clipped to ``[MIN_WINDOW, min(MAX_WINDOW, n /
    ROWS_PER_WINDOW)]``.
    """
    n = len(values)
    high = max(MIN_WINDOW, min(MAX_WINDOW, n // ROWS_PER_WINDOW))
    max_lag = min(n - 2, 2 * MAX_WINDOW)
    period = None
    if max_lag > MIN_WINDOW + 1:
        acf = autocorrelation(values, max_lag)
        for k in range(MIN_WINDOW, max_lag):
            if acf[k] >= MIN_PERIOD_CORRELATION and acf[k] >= acf[k - 1] and acf[k] > acf[k + 1]:
                period = k
                break
    if period is None:
        window = int(np.clip(DEFAULT_WINDOW, MIN_WINDOW, high))
        return window, (f"no period found in the autocorrelation: the default {window} "
                        "steps")
    window = int(np.clip(period, MIN_WINDOW, high))
    bound = "" if window == period else f", bounded to {window}"
    return window, f"the dominant period, {period} steps (autocorrelation){bound}"


def channel_names(frame: pd.DataFrame, time_column: str | None, schema: Any,
                  source: str | None = None) -> tuple[list[str], tuple[str, ...],
                                                      tuple[str, ...]]:
    """The channels (every column but the time, id and excluded ones), ids and excluded.

    Raises
    ------
    DataError
        For a schema that names column kinds (a series reads numbers only), a missing
        time column, a channel that is not numeric, or no channel at all.
    """
    if isinstance(schema, TableSchema):
        schema = {"id_columns": list(schema.id_columns),
                  "exclude": [name for name, _ in schema.excluded]}
    schema = schema or {}
    allowed = {"id_columns", "exclude", "exclude_reasons"}
    if not isinstance(schema, dict) or schema.get("columns") or not set(schema) <= allowed:
        raise DataError(where(source, "a time series reads every channel as a number: its "
                                      "schema may only set id and excluded columns aside"))
    ids = tuple(dict.fromkeys(schema.get("id_columns", ())))
    excluded = tuple(dict.fromkeys(schema.get("exclude", ())))
    if time_column is not None and time_column not in frame.columns:
        raise DataError(where(source, f"time column {time_column!r} is not in the data (it "
                                      f"has: {', '.join(map(str, frame.columns[:12]))})"))
    aside = {time_column, *ids, *excluded}
    channels = [str(c) for c in frame.columns if c not in aside]
    for name in channels:
        bad = to_numbers(frame[name])[1]
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(where(source, (
                f"column {name!r} is not numeric (row {row + 1}: {frame[name].iat[row]!r}); "
                "every column but the time, id (-i) and excluded (-x) ones is a channel: "
                "exclude it or give it as an id")))
    if not channels:
        raise DataError(where(source, "no channel left to model: the series needs a numeric "
                                      "column that is not the time, an id or excluded"))
    return channels, ids, excluded


class WindowCodec(LaidOut):
    """Reads an ordered series into one packed window per row (see the module docstring).

    Parameters
    ----------
    time_column : str or None
        The column of times (numbers or timestamps); ``None``: rows are consecutive steps.
    window : int
        ``W``, the steps in a window.
    interval : float or None
        The sampling interval in the time column's units (seconds for timestamps);
        ``None``: detected in :meth:`fit`.
    schema : dict or None
        Only ``id_columns`` and ``exclude``.
    window_rule : str
        How the window was chosen, in words.
    score_steps : int or None
        ``K``: a row's score is the nats of its window's newest ``K`` steps
        (:meth:`block_weights`); None: ``min(SCORE_STEPS, window)``.

    Attributes (after ``fit``)
    --------------------------
    channels : list of str
    channel_blocks : list of Block
        One numeric block per channel, with its scale and range.
    steps : TableCodec
        The table codec of the window's ``(step, channel)`` blocks: their layout and
        :meth:`block_frame`.
    """

    kind = "window"
    can_decode = False

    def __init__(self, time_column: str | None = None, window: int = DEFAULT_WINDOW,
                 interval: float | None = None, schema: Any = None,
                 window_rule: str = "given", score_steps: int | None = None) -> None:
        self.schema = schema
        self.time_column = time_column
        self.window = int(window)
        self.interval = interval
        self.window_rule = window_rule
        self.score_steps = int(min(SCORE_STEPS, self.window) if score_steps is None
                               else min(score_steps, self.window))

    # -- fitting -------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, source: str | None = None, *,
            gaps_in: pd.DataFrame | None = None) -> WindowCodec:
        """Learn each channel's standardisation and range, and the sampling interval.

        ``gaps_in`` is accepted for the table codec's signature and not needed: a gap in
        a channel is always a masked entry of the window (Donut's modified ELBO), never a
        refused row.

        Raises
        ------
        DataError
            If the time column is missing, a channel is not numeric or has no value, or
            there are fewer than ``MIN_ROWS_PER_WINDOW * window`` rows.
        """
        channels, ids, excluded = channel_names(frame, self.time_column, self.schema, source)
        if len(frame) < MIN_ROWS_PER_WINDOW * self.window:
            raise DataError(where(source, (
                f"{len(frame)} rows are too few for a window of {self.window} steps: training "
                f"needs at least {MIN_ROWS_PER_WINDOW * self.window}; pass a smaller window")))
        if self.interval is None:
            self.interval = (detect_interval(parse_times(frame[self.time_column])[0])
                             if self.time_column is not None else 1.0)
        blocks = []
        for name in channels:
            statistics = ColumnStatistics(ColumnSpec(name, "numeric"))
            statistics.update(frame[name])
            if not statistics.numeric.count:
                raise DataError(where(source, f"channel {name!r} has no value in the training "
                                              "rows; exclude it (-x) or give it values"))
            block = statistics.blocks(TableSchema(columns=()))[0]
            blocks.append(replace(block, missing=False))  # a gap is a masked entry
        reason = f"time column: windows of {self.window} steps ({self.window_rule})"
        schema = TableSchema(
            columns=tuple(ColumnSpec(name, "numeric", note="channel") for name in channels),
            id_columns=ids,
            excluded=((((self.time_column, reason),) if self.time_column else ())
                      + tuple((name, "") for name in excluded if name not in ids)))
        return self._set_channels(schema, blocks)

    def _set_channels(self, schema: TableSchema, channel_blocks: list[Block]) -> WindowCodec:
        self.channel_blocks = list(channel_blocks)
        self.channels = [b.name for b in channel_blocks]
        steps = [Block(**{**asdict(b), "name": step_name(b.name, lag)})
                 for lag in range(self.window - 1, -1, -1) for b in channel_blocks]
        self.schema_ = schema
        self.steps = TableCodec.from_blocks(schema, steps)
        self.layout = self.steps.layout
        self.dates: list[DateColumn] = []  # a series writes no datetime column back
        self.sources = ([self.time_column] if self.time_column else []) + self.channels
        return self

    @property
    def column_blocks(self) -> list[Block]:
        """The blocks that describe the data's columns: one per channel."""
        return self.channel_blocks

    def block_frame(self, values: np.ndarray, missing: np.ndarray | None = None,
                    rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Model-space values to one column per ``(step, channel)`` block, in the
        channels' units (see :meth:`TableCodec.block_frame`)."""
        return self.steps.block_frame(values, missing, rng)

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "schema": self.schema_.to_dict(),
                "time_column": self.time_column, "window": self.window,
                "interval": self.interval, "window_rule": self.window_rule,
                "score_steps": self.score_steps,
                "channels": [asdict(b) for b in self.channel_blocks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowCodec:
        schema = TableSchema.from_dict(data["schema"])
        codec = cls(data["time_column"], data["window"], data["interval"],
                    window_rule=data.get("window_rule", "given"),
                    score_steps=data.get("score_steps", data["window"]))
        codec.schema = schema
        return codec._set_channels(schema, [Block(**b) for b in data["channels"]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WindowCodec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        if not self.is_fitted():
            return f"WindowCodec(time_column={self.time_column!r}, window={self.window})"
        return (f"WindowCodec({self.window} steps x {', '.join(self.channels)}; "
                f"time {self.time_column!r})")

    # -- series to windows ---------------------------------------------------------------
    def rows_per_chunk(self, chunk_rows: int) -> int:
        """Rows of a streamed chunk whose packed windows fit in ``CHUNK_VALUES``."""
        return max(1, min(chunk_rows, CHUNK_VALUES // self.packed_width))

    @property
    def context_rows(self) -> int:
        """Usable rows a chunk needs from before it: ``W - 1``."""
        return self.window - 1

    def training_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The training windows and, appended, ``PARTIAL_SHARE`` of them again with their
        oldest ``k`` steps masked (``k`` uniform in ``1 .. W - 1``).

        A window at the series start or after a gap has its oldest steps masked; without
        such windows in training the encoder never sees them (Donut's missing-data
        injection serves the same end for isolated gaps).
        """
        if self.window < 2 or not len(rows):
            return rows
        pick = np.sort(rng.choice(len(rows), max(1, int(PARTIAL_SHARE * len(rows))),
                                  replace=False))
        extra = rows[pick].copy()
        lags = rng.integers(1, self.window, size=len(pick)) * len(self.channels)
        masked = np.arange(self.n_blocks)[None, :] < lags[:, None]
        for start in (0, self.n_blocks, 2 * self.n_blocks):
            part = extra[:, start:start + self.n_blocks]
            part[masked] = 0.0
        return np.concatenate([rows, extra])

    def block_weights(self, rows: np.ndarray) -> np.ndarray:
        """Weights ``(n, W * C)`` of a window's parts in its row's score: the newest steps.

        A row's score is the nats of the newest ``K = score_steps`` steps of its window,
        the model having read the whole window: ``score = K * C / n_observed_K *
        sum(parts of the newest K steps)`` (``n_observed_K``: the observed entries among
        them, at least 1), the older steps weighing 0. So a fault of ``L`` steps raises
        the scores of at most ``L + K - 1`` rows (every window that holds it sees it, but
        only those whose newest steps hold it are charged), and a gap in a channel is
        scored as if its entry were like the observed ones. ``K = W`` scores the whole
        window (:meth:`full_window_scale`).
        """
        newest = self.score_steps * len(self.channels)
        observed = rows[:, self.input_width + self.n_blocks:][:, self.n_blocks - newest:]
        weights = np.zeros((len(rows), self.n_blocks))
        weights[:, self.n_blocks - newest:] = (newest / np.maximum(observed.sum(axis=1),
                                                                   1.0))[:, None]
        return weights

    def full_window_scale(self, rows: np.ndarray) -> np.ndarray:
        """``n_blocks / n_observed`` of each packed row (1 for a row without any entry).

        A window's score sums its observed entries only, so a partial window (the series
        start, after a gap) would score on fewer terms than a full one: lower when the
        entries' nats are positive, higher when a tight fit makes them negative. Scaling the
        score and its parts by this factor scores a partial window as a full one whose
        missing entries are like its observed ones (the mean observed entry times ``W * C``).
        """
        observed = rows[:, self.input_width + self.n_blocks:].sum(axis=1)
        return self.n_blocks / np.maximum(observed, 1.0)

    def encode(self, frame: pd.DataFrame, source: str | None = None, keep_shown: bool = False,
               context: pd.DataFrame | None = None) -> Encoded:
        """One packed window per row of ``frame`` (see the module docstring).

        Parameters
        ----------
        frame : pandas.DataFrame
            The series, ordered by time; must hold the time column and the channels.
        source : str or None
            Name of the data, for messages.
        keep_shown : bool, default=False
            Also return every window's values in the channels' units (for explanations).
        context : pandas.DataFrame or None
            Usable rows just before ``frame`` (the last ``context_rows`` are enough): the
            windows reach into them; no row is returned for them.

        Returns
        -------
        Encoded
            ``len(frame)`` rows, in order; unusable rows are listed in ``problems``.
        """
        missing_columns = [c for c in self.sources if c not in frame.columns]
        if missing_columns:
            raise DataError(where(source, f"column {missing_columns[0]!r} is missing (the model "
                                          f"reads: {', '.join(self.sources)})"))
        k = 0
        if context is not None and len(context):
            context = context.iloc[-self.context_rows:] if self.context_rows else context.iloc[:0]
            k = len(context)
            frame_all = pd.concat([context[self.sources], frame[self.sources]],
                                  ignore_index=True)
        else:
            frame_all = frame
        n_all, n_channels = len(frame_all), len(self.channels)
        problems: dict[int, Problem] = {}
        values = np.empty((n_all, n_channels))
        for c, name in enumerate(self.channels):
            messages: dict = {}
            values[:, c], bad = to_numbers(frame_all[name], messages, c)
            for (row, _), (value, message) in messages.items():
                problems.setdefault(row, Problem(row, name, value, message))
        if self.time_column is not None:
            raw = frame_all[self.time_column]
            times, bad_time = parse_times(raw)
            for row in np.flatnonzero(bad_time):
                value = raw.iat[row]
                text = "is missing" if pd.isna(value) else f"{_quote(value)} is not a time"
                problems[int(row)] = Problem(int(row), self.time_column, value,
                                             f"time {text}" if pd.isna(value) else text)
        else:
            times = np.arange(n_all, dtype=np.float64)
        usable = np.ones(n_all, dtype=bool)
        usable[list(problems)] = False
        # a usable row must come after the last usable row before it: the running maximum
        # of earlier candidates' times is that row's time (see the module docstring)
        candidate_times = np.where(usable, times, -np.inf)
        before = np.concatenate([[-np.inf], np.maximum.accumulate(candidate_times)[:-1]])
        late = usable & (times < before)
        warn_repeated_times(usable & (times == before), k, frame_all, self.time_column, source)
        in_order = np.where(usable & ~late, np.arange(n_all), -1)
        last_in_order = np.maximum.accumulate(in_order)
        for row in np.flatnonzero(late):
            last = int(last_in_order[row - 1])
            column = frame_all[self.time_column]
            problems[int(row)] = Problem(int(row), self.time_column, column.iat[row], (
                f"time {_quote(column.iat[row])} is before the time of an earlier row "
                f"({_quote(column.iat[last])}): the series must be sorted by time"))
        usable &= ~late
        good = np.flatnonzero(usable)
        width = self.window * n_channels
        packed = np.zeros((n_all, self.packed_width))
        shown = np.full((n_all, width), np.nan) if keep_shown else None
        if len(good):
            steps = np.ones(len(good), dtype=np.int64)
            if len(good) > 1:
                gaps = np.diff(times[good]) / self.interval
                steps[1:] = np.clip(np.rint(gaps), 1, self.window).astype(np.int64)
            position = np.cumsum(steps) - 1 + (self.window - 1)
            grid = np.full((int(position[-1]) + 1, n_channels), np.nan)
            grid[position] = values[good]
            windows = np.lib.stride_tricks.sliding_window_view(grid, self.window, axis=0)
            raw_windows = windows[position - (self.window - 1)].transpose(0, 2, 1).reshape(
                len(good), width)
            mean = np.tile([b.mean for b in self.channel_blocks], self.window)
            scale = np.tile([b.scale for b in self.channel_blocks], self.window)
            observed = ~np.isnan(raw_windows)
            standard = np.where(observed, (raw_windows - mean) / scale, 0.0)
            packed[good, :width] = standard
            packed[good, width:2 * width] = standard
            packed[good, 2 * width:] = observed
            if shown is not None:
                shown[good] = raw_windows
        bad = ~usable[k:]
        listed = []
        for row in sorted(p for p in problems if p >= k):
            problems[row].position = row - k
            listed.append(problems[row])
        return Encoded(packed[k:], np.zeros((n_all - k, self.n_blocks), dtype=bool), listed,
                       bad, None if shown is None else pd.DataFrame(shown[k:],
                                                                    columns=self.names))

    def decode(self, values: np.ndarray, missing: np.ndarray | None = None,
               rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Not defined for windows (``can_decode`` is False): a decoded window is not a row
        of the series."""
        raise ValueError("a windowed model does not decode rows: its rows are windows of "
                         f"{self.window} steps (use anomaly_score, explain or the report)")


def warn_repeated_times(repeated: np.ndarray, skip: int, frame: pd.DataFrame,
                        time_column: str | None, source: str | None) -> None:
    """Warn, in one line, of rows whose time repeats the time of the usable row before them.

    The rule: such a row is kept, in file order, one step after the row before it (a
    daylight-saving change written in local time, a double write); its window is read as
    if the clock had moved on by one sampling interval. The first ``skip`` rows (context)
    are not counted.
    """
    rows = np.flatnonzero(repeated[skip:])
    if not len(rows) or time_column is None:
        return
    first = int(rows[0])
    value = frame[time_column].iat[first + skip]
    warnings.warn(where(source, (
        f"{len(rows)} row{'s repeat' if len(rows) > 1 else ' repeats'} the time of the row "
        f"before ({'first: ' if len(rows) > 1 else ''}row {first + 1}, {_quote(value)}); "
        "kept in file order, each one step after "
        "the row before it; remove or aggregate them first to read them otherwise")),
        RepeatedTimeWarning, stacklevel=3)


class RepeatedTimeWarning(UserWarning):
    """A series repeats a time: the rows are kept in file order, one step apart."""


def _quote(value: Any) -> str:
    """A time as a message quotes it: numbers plainly, anything else by its repr."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_):
        return f"{float(value):.15g}"
    return repr(str(value)) if isinstance(value, pd.Timestamp) else repr(value)


def window_codec(frame: pd.DataFrame, time_column: str | None, window: int | str | None,
                 schema: Any = None, source: str | None = None,
                 score_steps: int | None = None) -> WindowCodec:
    """The (unfitted) codec of a series, with ``window="auto"`` resolved on ``frame`` and
    the sampling interval detected on all of its rows."""
    channels, _, _ = channel_names(frame, time_column, schema, source)
    interval = None
    if time_column is not None:
        interval = detect_interval(parse_times(frame[time_column])[0])
    if window in (None, "auto"):
        values = np.column_stack([to_numbers(frame[c])[0] for c in channels])
        window, rule = choose_window(values)
        return WindowCodec(time_column, window, interval, schema, f"auto: {rule}",
                           score_steps)
    return WindowCodec(time_column, int(window), interval, schema, score_steps=score_steps)
