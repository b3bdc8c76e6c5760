"""What a time-series model's scores say per channel, per step and per alarm.

A windowed model's per-block parts (``feature_scores``) are the nats of each
``(step, channel)`` entry of a row's window, oldest step first (the newest
``score_steps`` steps carry a row's score, the older ones weigh 0); here they are summed
by channel, the steps that carry most of a channel's nats are named (by their time when
the row's time is known), and consecutive flagged rows are gathered into **events**: an
alarm from its first to its last flagged row, with its peak and the channels behind it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.series_evaluation import events as runs

# Steps named per channel in a description.
STEPS_NAMED = 3
# Channels named per event, and the least share of its nats a named channel carries.
EVENT_CHANNELS = 3
MIN_SHARE = 0.01


def by_channel(codec, parts: np.ndarray) -> np.ndarray:
    """Nats per channel ``(n, C)``: ``sum_s parts[:, s, c]`` over the window's steps.

    Parameters
    ----------
    codec : latentwatch.data.windows.WindowCodec
    parts : np.ndarray of shape (n, W * C)
        Per-block parts, in the codec's block order (step-major).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> codec = SimpleNamespace(window=2, channels=["a", "b"])
    >>> by_channel(codec, np.array([[1.0, 2.0, 3.0, 4.0]])).tolist()
    [[4.0, 6.0]]
    """
    parts = np.asarray(parts, dtype=np.float64)
    return parts.reshape(len(parts), codec.window, len(codec.channels)).sum(axis=1)


def step_label(codec, lag: int, when: Any = None) -> str:
    """The step ``lag`` steps before a row: ``"t-3"``, or its time when the row's time
    ``when`` is given (``when - lag * interval``; a timestamp in ISO form, a number as is).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> codec = SimpleNamespace(interval=60.0)
    >>> step_label(codec, 2), step_label(codec, 2, pd.Timestamp("2024-01-01 10:00"))
    ('t-2', '2024-01-01T09:58:00')
    """
    if when is None or (not isinstance(when, str) and pd.isna(when)):
        return "t" if lag == 0 else f"t-{lag}"
    if isinstance(when, int | float | np.integer | np.floating):
        return f"{float(when) - lag * codec.interval:.15g}"
    return (pd.Timestamp(when) - pd.Timedelta(seconds=lag * codec.interval)).isoformat()


def describe_channels(codec, parts: np.ndarray, limit: int = 3, when: Any = None) -> str:
    """``"b 41.2 nats (t, t-1, t-3); a 2.1 nats (t-2, ...)"``: the channels of one row's
    window by their nats, largest first, each with the steps that carry most of them
    (named by their time when the row's time ``when`` is given, see :func:`step_label`);
    steps that carry nothing are left out."""
    parts = np.asarray(parts, dtype=np.float64).reshape(codec.window, len(codec.channels))
    totals = parts.sum(axis=0)
    out = []
    for c in np.argsort(-totals, kind="stable")[:limit]:
        steps = [s for s in np.argsort(-parts[:, c], kind="stable")[:STEPS_NAMED]
                 if parts[s, c] != 0] or [codec.window - 1]
        lags = ", ".join(step_label(codec, codec.window - 1 - s, when) for s in steps)
        out.append(f"{codec.channels[c]} {totals[c]:.3g} nats ({lags})")
    return "; ".join(out)


@dataclass(frozen=True)
class Event:
    """An alarm: a run of consecutive flagged rows of a series.

    Attributes
    ----------
    start, end : int
        Its first and last flagged rows (positions from 0 in the scored data).
    peak : int
        The row of its highest score.
    peak_score : float
    rows : int
        Flagged rows in it (``end - start + 1``).
    channels : list of (str, float)
        The channels that carry most of its nats above their usual level (summed over
        its rows, less each channel's mean over the unflagged rows), largest first, with
        their share of them (at most ``EVENT_CHANNELS``, each with at least
        ``MIN_SHARE``).
    start_time, end_time, peak_time : str or None
        Their times (the time column's values), when the model has a time column.
    """

    start: int
    end: int
    peak: int
    peak_score: float
    rows: int
    channels: list[tuple[str, float]] = field(default_factory=list)
    start_time: str | None = None
    end_time: str | None = None
    peak_time: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["channels"] = [{"channel": c, "share": round(s, 4)} for c, s in self.channels]
        return out

    def channel_text(self) -> str:
        """``"b 81%, a 12%"``."""
        return ", ".join(f"{c} {100 * s:.0f}%" for c, s in self.channels)


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


class EventCollector:
    """Gathers the events of a series scored in pieces, in order (see :func:`alarm_events`).

    Examples
    --------
    >>> collector = EventCollector(["a", "b"])
    >>> nats = np.array([[0.0, 1.0], [1.0, 9.0], [0.0, 1.0], [5.0, 5.0]])
    >>> collector.add(np.array([False, True, True]), np.array([1.0, 10.0, 3.0]), nats[:3])
    >>> collector.add(np.array([True]), np.array([4.0]), nats[3:])
    >>> [(e.start, e.end, e.peak, e.channel_text()) for e in collector.events()]
    [(1, 3, 1, 'b 67%, a 33%')]
    """

    def __init__(self, channels: list[str]) -> None:
        self.channels = list(channels)
        self._flags: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self._nats: dict[int, np.ndarray] = {}
        self._times: dict[int, Any] = {}
        self._quiet_sum = np.zeros(len(self.channels))
        self._quiet_rows = 0
        self.n_rows = 0

    def add(self, flags: np.ndarray, scores: np.ndarray, channel_nats: np.ndarray,
            times: Any = None) -> None:
        """The next rows: their flags (False where not scored), scores, nats per channel
        ``(n, C)`` and times (or None)."""
        flags = np.asarray(flags, dtype=bool)
        quiet = ~flags & np.isfinite(np.asarray(scores, dtype=np.float64))
        self._quiet_sum += np.asarray(channel_nats, dtype=np.float64)[quiet].sum(axis=0)
        self._quiet_rows += int(quiet.sum())
        for i in np.flatnonzero(flags):
            self._nats[self.n_rows + int(i)] = np.asarray(channel_nats[i], dtype=np.float64)
            if times is not None:
                self._times[self.n_rows + int(i)] = times[i]
        self._flags.append(flags)
        self._scores.append(np.asarray(scores, dtype=np.float64))
        self.n_rows += len(flags)

    def events(self) -> list[Event]:
        """The events so far, in order."""
        if not self._flags:
            return []
        flags, scores = np.concatenate(self._flags), np.concatenate(self._scores)
        out = []
        for a, b in runs(flags):
            peak = a + int(np.nanargmax(scores[a:b]))
            nats = sum(self._nats[i] for i in range(a, b))
            if self._quiet_rows:
                excess = nats - (b - a) * self._quiet_sum / self._quiet_rows
                nats = excess if (excess > 0).any() else nats
            nats = np.clip(nats, 0.0, None)
            total = float(nats.sum())
            order = np.argsort(-nats, kind="stable")[:EVENT_CHANNELS]
            channels = [(self.channels[c], float(nats[c]) / total) for c in order
                        if total > 0 and nats[c] >= MIN_SHARE * total]
            out.append(Event(a, b - 1, peak, float(scores[peak]), b - a, channels,
                             _text(self._times.get(a)), _text(self._times.get(b - 1)),
                             _text(self._times.get(peak))))
        return out


def alarm_events(channels: list[str], flags: np.ndarray, scores: np.ndarray,
                 channel_nats: np.ndarray, times: Any = None) -> list[Event]:
    """The events of one scored series: runs of consecutive flagged rows, each with its
    peak and the channels carrying most of its nats above their level on the unflagged
    rows (their share of the event's positive excess, see :class:`Event`).

    Examples
    --------
    >>> events = alarm_events(["a"], np.array([0, 1, 1, 0, 1], bool),
    ...                       np.array([1.0, 5, 7, 1, 6]), np.ones((5, 1)),
    ...                       times=["t0", "t1", "t2", "t3", "t4"])
    >>> [(e.start, e.end, e.peak_time) for e in events]
    [(1, 2, 't2'), (4, 4, 't4')]
    """
    collector = EventCollector(channels)
    collector.add(flags, scores, channel_nats, times)
    return collector.events()
