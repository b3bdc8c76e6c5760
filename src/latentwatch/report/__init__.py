"""A self-contained HTML report on a fitted detector, and optionally on scored data.

:func:`build_report` returns one HTML document; :func:`write_report` writes it. Every
plot is a PNG drawn with matplotlib's Agg renderer (no display needed) and embedded as a
``data:`` URI; the styles are inline and there are no scripts. The file therefore opens
offline, in any browser, and can be mailed or attached to a ticket as it is.

The report works for every model kind (autoencoder or VAE, fitted on a numeric array, a
numeric DataFrame or a mixed-type table) because it reads rows only through the one
scoring path, :func:`latentwatch.service.score_table`, and the model's codec: rows that
cannot be scored are listed, not raised.

Sections: summary; rows not scored (when there are any); threshold; score distribution
(by label when labels are given); ROC and precision-recall curves and the evaluation
table (with labels); the most anomalous rows with their top contributing columns,
observed and expected; a 2-D map of the latent space; per-column reconstruction quality;
training and validation loss; the schema and parameters. A time-series model's report
adds a time-series view after the summary (:mod:`~latentwatch.report.series_section`);
given a ``time_column``, a drift-over-time panel ends the page
(:mod:`~latentwatch.report.drift_section`).

Modules: :mod:`~latentwatch.report.scored` (the data, computed once),
:mod:`~latentwatch.report.data_sections` and :mod:`~latentwatch.report.model_sections`
(one function per section), :mod:`~latentwatch.report.page` (style, figures, tables).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from latentwatch.report import data_sections, model_sections
from latentwatch.report.drift_section import drift_section
from latentwatch.report.page import CSS, esc
from latentwatch.report.scored import Scored, score_for_report
from latentwatch.report.series_section import series_section

__all__ = ["MAX_MAP_POINTS", "build_report", "write_report"]

# Most points drawn in the latent map; more rows are subsampled (seeded).
MAX_MAP_POINTS = 5000


def build_report(
    model: Any,
    X: Any = None,
    y: Any = None,
    *,
    title: str | None = None,
    data_name: str | None = None,
    top: int = 10,
    random_state: int = 0,
    max_map_points: int = MAX_MAP_POINTS,
    time_column: str | None = None,
    every: str = "1d",
) -> str:
    """The HTML report of a fitted detector, on data if given.

    Parameters
    ----------
    model : AutoEncoderDetector or VAEDetector
        A fitted detector.
    X : pandas.DataFrame, array-like of shape (n_samples, n_columns), or None
        Rows to score: a DataFrame with the columns the model reads (others are ignored),
        or an array with one column per data column of the model, in training order.
        Without them the report shows the model, its training and its calibration scores.
    y : array-like of shape (n_samples,) or None, default=None
        Labels (1 = anomaly) for the ROC/PR curves and the evaluation table.
    title : str or None, default=None
        Page title; by default the model's class.
    data_name : str or None, default=None
        How to name the data in the report (e.g. its file name); error messages start
        with it.
    top : int, default=10
        Number of most anomalous rows listed.
    random_state : int, default=0
        Seeds the subsampling of the latent map.
    max_map_points : int, default=MAX_MAP_POINTS
        Most rows drawn in the latent map (a seeded random subsample beyond).
    time_column : str or None, default=None
        A column of ``X`` (a DataFrame) with times: adds a drift-over-time panel, the
        drift test of each period of ``every`` (:mod:`~latentwatch.report.drift_section`).
    every : str, default="1d"
        The periods of the drift panel: any pandas offset.

    Returns
    -------
    str
        A complete HTML document with every image embedded.

    Raises
    ------
    ValueError
        When labels come without data, are not 0/1 or do not have one per row.
    latentwatch.DataError
        When the data lack a column the model reads. Rows with bad values do not raise:
        the report lists them.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
    >>> build_report(model, X[:50]).startswith("<!DOCTYPE html>")
    True
    """
    from latentwatch import __version__

    if y is not None and X is None:
        raise ValueError("labels were given without data: pass the rows they label as X")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    scored = score_for_report(model, X, y, source=data_name) if X is not None else None
    name = type(model).__name__
    title = title or f"latentwatch report: {name}"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = [name, f"latentwatch {__version__}", f"generated {generated}"]
    if scored is not None:
        subtitle.append(f"data: {data_name or 'rows given'} ({scored.n_rows} rows)")
    body = "".join(f'<section id="{key}"><h2>{esc(heading)}</h2>{content}</section>'
                   for key, heading, content in sections(model, scored, top, random_state,
                                                         max_map_points))
    nav = "".join(f'<a href="#{key}">{esc(heading)}</a>'
                  for key, heading in _headings(model, scored))
    if time_column is not None and X is not None:
        content = drift_section(model, X, time_column, every, source=data_name)
        body += f'<section id="drift"><h2>Drift over time</h2>{content}</section>'
        nav += '<a href="#drift">Drift over time</a>'
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>"
        f"<div class=\"sub\">{esc(' · '.join(subtitle))}</div></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        f"<footer>Generated by latentwatch {esc(__version__)}. Self-contained: "
        "no scripts, no network.</footer></body></html>\n"
    )


def _headings(model: Any, scored: Scored | None) -> list[tuple[str, str]]:
    """``(id, heading)`` of the sections present, in page order."""
    out = [("summary", "Summary")]
    if scored is not None and scored.problems:
        out.append(("unscored", "Rows not scored"))
    if scored is not None and getattr(model, "window_", None) is not None:
        out.append(("series", "Time series"))
    out += [("threshold", "Threshold"), ("scores", "Score distribution")]
    if scored is not None and scored.y is not None:
        out.append(("evaluation", "Evaluation against labels"))
    out += [("rows", "Most anomalous rows"), ("latent", "Latent space"),
            ("columns", "Per-column reconstruction quality"), ("training", "Training"),
            ("model", "Schema and parameters")]
    return out


def sections(model: Any, scored: Scored | None, top: int = 10, random_state: int = 0,
             max_map_points: int = MAX_MAP_POINTS) -> list[tuple[str, str, str]]:
    """``(id, heading, HTML)`` of every section of the report, in page order."""
    render = {
        "summary": lambda: model_sections.summary_section(model, scored),
        "unscored": lambda: data_sections.unscored_section(scored),
        "series": lambda: series_section(model, scored),
        "threshold": lambda: model_sections.threshold_section(model, scored),
        "scores": lambda: data_sections.scores_section(model, scored),
        "evaluation": lambda: data_sections.evaluation_section(model, scored),
        "rows": lambda: data_sections.rows_section(model, scored, top),
        "latent": lambda: data_sections.latent_section(model, scored, random_state,
                                                       max_map_points),
        "columns": lambda: data_sections.columns_section(model, scored),
        "training": lambda: model_sections.training_section(model),
        "model": lambda: model_sections.model_section(model),
    }
    return [(key, heading, render[key]()) for key, heading in _headings(model, scored)]


def write_report(model: Any, path: str | Path, X: Any = None, y: Any = None,
                 **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) and return the path.

    The document is built first, then written to a temporary file beside ``path`` and
    moved onto it in one step, with the mode a new file gets under the user's umask: a
    failure leaves no partial file (and an existing one untouched).

    Parameters
    ----------
    model, X, y, **kwargs
        As for :func:`build_report`.
    path : str or Path
        The HTML file to write; parent folders are created.

    Returns
    -------
    Path
    """
    from latentwatch.atomic import replace_atomically

    path = Path(path)
    document = build_report(model, X, y, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(document)
        replace_atomically(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
