"""The report's time-series view: the channels, the score with the threshold, and the
flagged intervals (and the labelled ones, with labels), over time.

Only for a model fitted with a ``time_column`` or a ``window``; the x axis is the time
column (or the row number without one). The score panel's axis shows the bulk and the
threshold region (higher peaks are drawn at its top, :func:`score_axis`). The table lists
the events (maximal runs of flagged scored rows, :func:`latentwatch.series.alarm_events`),
each with its peak score, the channels that carry the event's nats and the steps that
carry the peak row's score (see :func:`latentwatch.series.describe_channels`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentwatch.report.model_sections import score_cut
from latentwatch.report.page import esc, figure, fmt, img, note, table
from latentwatch.report.scored import Scored
from latentwatch.series import alarm_events, by_channel, describe_channels
from latentwatch.series_evaluation import events

# Channels drawn (the first ones of the model); flagged intervals listed.
MAX_CHANNELS_DRAWN = 8
MAX_INTERVALS_LISTED = 20
FLAGGED, LABELLED, SCORE, LINE = "#d62728", "#ff7f0e", "#1f77b4", "#444444"


def _times(model: Any, scored: Scored) -> tuple[np.ndarray, str]:
    column = model.codec_.time_column
    if column is None or column not in scored.frame.columns:
        return scored.positions + 1, "row"
    raw = scored.frame[column].iloc[scored.positions]
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64), column
    return pd.to_datetime(raw, errors="coerce", utc=True).dt.tz_localize(None).to_numpy(), column


def _spans(x: np.ndarray, mask: np.ndarray) -> list[tuple[Any, Any, int, int]]:
    """``(x_start, x_end, i_start, i_end)`` of the runs of ``mask``."""
    return [(x[a], x[b - 1], a, b) for a, b in events(mask)]


def _label(value: Any) -> str:
    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value))
    return fmt(value) if isinstance(value, float | np.floating) else str(value)


def score_axis(scores: np.ndarray, cut: float | None) -> tuple[float, float]:
    """The score panel's y range: the bulk and the threshold region, not the highest peak.

    From the lowest score to ``max(q75 + 3 * (q75 - q25), cut + 2 * (cut - median))``
    (the bulk, and the threshold's distance to the median twice again above it), or to the
    highest score when that is lower, with a margin of 3%; scores above the range are
    drawn at its top.

    Examples
    --------
    >>> [round(v, 2) for v in score_axis(np.r_[np.linspace(0.0, 1.0, 200), 1e4], cut=2.0)]
    [0.0, 5.14]
    """
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    q25, median, q75 = np.quantile(finite, [0.25, 0.5, 0.75])
    top = float(q75 + 3.0 * (q75 - q25))
    if cut is not None:
        low = min(low, cut)
        top = max(top, cut + 2.0 * abs(cut - float(median)))
    top = min(top, high) if high > low else low + 1.0
    pad = 0.03 * (top - low or 1.0)
    return low - (pad if low < 0 or low > pad else low), top + pad


def series_section(model: Any, scored: Scored | None) -> str:
    if scored is None or scored.n_scored == 0:
        return note("Needs scored data.")
    codec = model.codec_
    x, xlabel = _times(model, scored)
    channels = codec.channels[:MAX_CHANNELS_DRAWN]
    rows = scored.frame.iloc[scored.positions]
    cut = score_cut(model)
    flagged = scored.flagged if scored.flagged is not None else np.zeros(len(x), bool)
    flagged_spans = _spans(x, flagged)
    labelled_spans = _spans(x, scored.y == 1) if scored.y is not None else []
    fig = figure(10.0, 1.1 * len(channels) + 2.0)[0]
    fig.clear()
    axes = fig.subplots(len(channels) + 1, 1, sharex=True,
                        gridspec_kw={"height_ratios": [1] * len(channels) + [1.6]})
    for ax, name in zip(axes[:-1], channels, strict=False):
        ax.plot(x, pd.to_numeric(rows[name], errors="coerce").to_numpy(), color=LINE, lw=0.7)
        ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    ax = axes[-1]
    ax.plot(x, scored.scores, color=SCORE, lw=0.8, label="anomaly score")
    finite_cut = cut if cut is not None and np.isfinite(cut) else None
    if finite_cut is not None:
        ax.axhline(cut, color=FLAGGED, ls="--", lw=1.2, label=f"threshold ({fmt(cut)})")
    bottom, top = score_axis(scored.scores, finite_cut)
    above = scored.scores > top
    if above.any():
        ax.plot(x[above], np.full(int(above.sum()), top), ls="none", marker="^",
                color=FLAGGED, ms=3, clip_on=False, label=f"above {fmt(top)} (drawn at the top)")
    ax.set_ylim(bottom, top)
    ax.set_ylabel("score (nats)", fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    for axis in axes:
        axis.spines[["top", "right"]].set_visible(False)
        axis.tick_params(labelsize=7)
        for start, end, _, _ in labelled_spans:
            axis.axvspan(start, end, color=LABELLED, alpha=0.18, lw=0)
        for start, end, _, _ in flagged_spans:
            axis.axvspan(start, end, color=FLAGGED, alpha=0.25, lw=0)
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles.append(Patch(color=FLAGGED, alpha=0.25))
    labels.append("flagged")
    if labelled_spans:
        handles.append(Patch(color=LABELLED, alpha=0.18))
        labels.append("labelled anomaly")
    ax.legend(handles, labels, frameon=False, fontsize=7, ncol=4, loc="upper left")
    caption = (f"Each row is scored on the window of its last {codec.window} steps of "
               f"{len(codec.channels)} channels ({esc(codec.window_rule)}). Shaded red: the "
               f"{len(flagged_spans)} flagged intervals")
    caption += (f"; orange: the {len(labelled_spans)} labelled ones." if scored.y is not None
                else ".")
    if len(codec.channels) > len(channels):
        caption += f" The first {len(channels)} channels are drawn."
    if above.any():
        caption += (f" The score axis shows the threshold region: {int(above.sum())} scores "
                    f"above {fmt(top)} are drawn as triangles at its top.")
    found = alarm_events(codec.channels, flagged, scored.scores,
                         by_channel(codec, scored.parts))
    listed = []
    for event in sorted(found, key=lambda e: -e.peak_score)[:MAX_INTERVALS_LISTED]:
        listed.append([esc(_label(x[event.start])), esc(_label(x[event.end])),
                       f"{event.rows}", fmt(event.peak_score), esc(_label(x[event.peak])),
                       esc(event.channel_text()),
                       esc(describe_channels(codec, scored.parts[event.peak]))])
    intervals = (table(["from", "to", "rows", "peak score", "peak at",
                        "channels (share of the event's nats)",
                        "channels at the peak (steps)"],
                       listed, [False, False, True, True, False, False, False])
                 if listed else note("No interval was flagged."))
    return img(fig, "Series, score, threshold and flagged intervals") + note(caption) + intervals
