"""The report's drift-over-time panel: the drift test (:mod:`latentwatch.drift`) of each
period of the data's time column, as a plot of the p-values against the level and a table
of the periods with the column that moved most.

Only when the report is given a ``time_column`` (and data holding it); the periods are
those of ``every``, any pandas offset. A model without a drift reference (a file saved
before latentwatch kept one) gets a note saying what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from latentwatch.report.page import esc, figure, fmt, img, note, table

DRIFT, QUIET, LEVEL_LINE = "#d62728", "#1f77b4", "#444444"
#: Periods listed in the table (the drifting ones first, then the latest).
MAX_PERIODS_LISTED = 30


def drift_section(model: Any, X: Any, time_column: str, every: str = "1d",
                  level: float = 0.05, source: str | None = None) -> str:
    """The panel's HTML: a plot of each period's p-value and a table of the periods."""
    from latentwatch import service

    if not isinstance(X, pd.DataFrame) or time_column not in X.columns:
        return note(f"Needs data with the time column {esc(time_column)!s}.")
    try:
        model.drift_reference()
    except NotFittedError as exc:
        return note(esc(str(exc)))
    periods = service.drift_over_time(model, X, time_column, every, level=level,
                                      source=source)
    tested = [(start, r) for start, r in periods if r.p_value is not None]
    if not tested:
        return note(f"No period of {esc(every)} has enough rows for a test.")
    starts = np.array([pd.Timestamp(s).to_datetime64() for s, _ in tested])
    p = np.array([max(r.p_value, 1e-300) for _, r in tested])
    drifted = np.array([r.drift for _, r in tested])
    fig, ax = figure(9, 2.8)
    ax.plot(starts, p, color=QUIET, lw=1, zorder=1)
    ax.scatter(starts[~drifted], p[~drifted], s=14, color=QUIET, label="no drift", zorder=2)
    ax.scatter(starts[drifted], p[drifted], s=18, color=DRIFT, label="drift", zorder=3)
    ax.axhline(level, color=LEVEL_LINE, ls="--", lw=1, label=f"level {level:g}")
    ax.set_yscale("log")
    ax.set_ylabel("p-value (log)", fontsize=8)
    ax.set_xlabel(f"{time_column}, periods of {every}", fontsize=8)
    ax.legend(fontsize=7, loc="lower left")
    listed = sorted(periods, key=lambda item: (not item[1].drift, -pd.Timestamp(
        item[0]).value))[:MAX_PERIODS_LISTED]
    listed.sort(key=lambda item: pd.Timestamp(item[0]))
    rows = [[esc(start), f"{r.n_rows:,}", fmt(r.p_value),
             "<b>drift</b>" if r.drift else ("too few rows" if r.p_value is None else "no"),
             esc(f"{r.columns[0].column} ({r.columns[0].shift:+.3f})") if r.columns else ""]
            for start, r in listed]
    n_drift = int(sum(r.drift for _, r in periods))
    summary = note(
        f"{n_drift} of {len(tested)} tested periods drifted at level {level:g} (each "
        "period is tested on its own: about level x periods alarms are expected on "
        "unchanged data). A period's p-value combines a test of its conformal p-values' "
        "uniformity and a test per column of its share of the score; the column named "
        "moved most (shift in [-1, 1], positive: it explains more of the score).")
    return (img(fig, "p-value of the drift test per period") + summary
            + table(["period start", "rows", "p-value", "drift", "top column (shift)"],
                    rows, [False, True, True, False, False]))
