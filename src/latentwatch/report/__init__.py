"""A self-contained HTML report on a fitted detector, and optionally on scored data.

:func:`build_report` returns one HTML document; :func:`write_report` writes it. Every
plot is a PNG drawn with matplotlib's Agg renderer (no display needed) and embedded
as a ``data:`` URI; the styles are inline. The file therefore opens offline, in any
browser, and can be mailed or attached to a ticket as it is.

Sections: summary; threshold; score distribution with the threshold (by label when
labels are given); ROC and precision-recall curves and the evaluation table (with
labels); the most anomalous rows with their top contributing columns; a 2-D map of the
latent space; per-feature reconstruction quality; training and validation loss; the
schema and parameters.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from latentwatch.evaluation import Evaluation, binary_labels, evaluate_scores
from latentwatch.thresholds import conformal_p_values, describe_threshold

NORMAL = "#4C72B0"
ANOMALY = "#D1495B"
THRESHOLD = "#1F2933"
MUTED = "#8A94A6"
# Most points drawn in the latent map; more rows are subsampled (seeded).
MAX_MAP_POINTS = 5000
# Most features drawn in the per-feature chart and listed in the schema table.
MAX_FEATURES_SHOWN = 40

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --accent:#2f5d8a;
        --anomaly:#d1495b; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial,
       sans-serif; color:var(--ink); background:var(--bg); }
header { background:var(--accent); color:#fff; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:600; }
header .sub { opacity:.85; font-size:13px; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 32px; font-size:13px; }
nav a { color:var(--accent); margin-right:16px; text-decoration:none; }
main { max-width:1180px; margin:0 auto; padding:18px 32px 40px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px;
          padding:16px 20px; margin:16px 0; }
h2 { font-size:18px; margin:0 0 10px; }
p.note { color:var(--muted); margin:6px 0; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(118px, 1fr)); gap:10px;
         margin:4px 0 0; }
.card { background:var(--bg); border-radius:6px; padding:10px 12px; }
.card .v { font-size:22px; font-weight:600; white-space:nowrap; }
.card .v small { font-size:13px; font-weight:400; }
.card .k { color:var(--muted); font-size:12px; }
.card.alert .v { color:var(--anomaly); }
img { max-width:100%; height:auto; display:block; margin:8px auto; }
table { border-collapse:collapse; width:100%; font-size:13px; margin:8px 0; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line);
         vertical-align:top; }
th { background:var(--bg); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.flag { color:var(--anomaly); font-weight:600; }
.feat { font-weight:600; }
.muted { color:var(--muted); }
.two { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
code { background:var(--bg); padding:1px 4px; border-radius:3px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:0 0 24px; }
"""


@dataclass
class _Scored:
    """Everything the data sections need, computed once."""

    X: pd.DataFrame
    y: np.ndarray | None
    scores: np.ndarray
    parts: np.ndarray
    flagged: np.ndarray | None
    p_values: np.ndarray | None
    expected: np.ndarray
    evaluation: Evaluation | None


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
) -> str:
    """The HTML report of a fitted detector, on data if given.

    Parameters
    ----------
    model : AutoEncoderDetector or VAEDetector
        A fitted detector.
    X : array-like of shape (n_samples, n_features) or None, default=None
        Rows to score. Without them the report shows the model, its training and its
        calibration scores only.
    y : array-like of shape (n_samples,) or None, default=None
        Labels (1 = anomaly) for the ROC/PR curves and the evaluation table.
    title : str or None, default=None
        Page title; by default the model's class.
    data_name : str or None, default=None
        How to name the data in the report (e.g. its file name).
    top : int, default=10
        Number of most anomalous rows listed.
    random_state : int, default=0
        Seeds the subsampling of the latent map.
    max_map_points : int, default=MAX_MAP_POINTS
        Most rows drawn in the latent map (a seeded random subsample beyond).

    Returns
    -------
    str
        A complete HTML document with every image embedded.
    """
    from latentwatch import __version__

    if y is not None and X is None:
        raise ValueError("labels were given without data")
    scored = _score(model, X, y) if X is not None else None
    name = type(model).__name__
    title = title or f"latentwatch report: {name}"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = [name, f"latentwatch {__version__}", f"generated {generated}"]
    if scored is not None:
        subtitle.append(f"data: {data_name or 'rows given'} ({len(scored.X)} rows)")

    sections = [
        ("summary", "Summary", _summary(model, scored)),
        ("threshold", "Threshold", _threshold_section(model, scored)),
        ("scores", "Score distribution", _scores_section(model, scored)),
    ]
    if scored is not None and scored.evaluation is not None:
        sections.append(("evaluation", "Evaluation against labels", _evaluation_section(scored)))
    sections += [
        ("rows", "Most anomalous rows", _rows_section(model, scored, top)),
        ("latent", "Latent space",
         _latent_section(model, scored, random_state, max_map_points)),
        ("features", "Per-feature reconstruction quality", _features_section(model, scored)),
        ("training", "Training", _training_section(model)),
        ("model", "Schema and parameters", _model_section(model)),
    ]
    nav = "".join(f'<a href="#{key}">{html.escape(heading)}</a>' for key, heading, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{html.escape(heading)}</h2>{content}</section>'
                   for key, heading, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>"
        f"<div class=\"sub\">{html.escape(' · '.join(subtitle))}</div></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        f"<footer>Generated by latentwatch {html.escape(__version__)}. Self-contained: "
        "no scripts, no network.</footer></body></html>\n"
    )


def write_report(model: Any, path: str | Path, X: Any = None, y: Any = None,
                 **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) and return the path.

    Parameters
    ----------
    model, X, y, **kwargs
        As for :func:`build_report`.
    path : str or Path
        The HTML file to write; parent folders are created.
    """
    path = Path(path)
    document = build_report(model, X, y, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path


# -- scoring --------------------------------------------------------------------------------
def _score(model: Any, X: Any, y: Any) -> _Scored:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(
        np.asarray(X), columns=_feature_names(model))
    # the model wants a DataFrame only if it was fitted on one (else sklearn warns)
    model_X = X if hasattr(model, "feature_names_in_") else np.asarray(X)
    scores, parts = model._scores_standardized(model._prepare(model_X))
    try:
        flagged = model.predict(model_X) == -1
    except Exception:  # an uncalibrated false_alarm_rate threshold: no decisions yet
        flagged = None
    calibration = getattr(model, "calibration_scores_", None)
    p_values = None if calibration is None else conformal_p_values(calibration, scores)
    labels = None if y is None else binary_labels(y)
    if labels is not None and len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels for {len(scores)} rows")
    evaluation = None
    if labels is not None and flagged is not None:
        evaluation = evaluate_scores(labels, scores, flagged, threshold=describe_threshold(model))
    return _Scored(frame, labels, scores, parts, flagged, p_values,
                   model.reconstruct(model_X), evaluation)


def _feature_names(model: Any) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"x{i}" for i in range(model.n_features_in_)]


def _score_threshold(model: Any) -> float | None:
    """The anomaly-score cut: rows scoring above it are flagged."""
    offset = getattr(model, "offset_", None)
    return None if offset is None else -float(offset)


# -- sections -------------------------------------------------------------------------------
def _summary(model: Any, scored: _Scored | None) -> str:
    cards = [("features", f"{model.n_features_in_}", False),
             ("latent dimensions", f"{model.latent_dim_}", False),
             ("epochs trained", f"{model.n_epochs_}", False)]
    if scored is not None:
        cards.append(("rows scored", f"{len(scored.scores)}", False))
        if scored.flagged is not None:
            n = int(scored.flagged.sum())
            cards.append(("rows flagged", f"{n} <small>({n / len(scored.scores):.1%})</small>",
                          n > 0))
        if scored.y is not None:
            cards.append(("labelled anomalies", f"{int(scored.y.sum())}", False))
        if scored.evaluation is not None:
            for key, value in (("AUC-ROC", scored.evaluation.auc_roc),
                               ("AUC-PR", scored.evaluation.auc_pr)):
                cards.append((key, "n/a" if value is None else f"{value:.3f}", False))
    html_cards = "".join(  # the values are numbers formatted here, hence not escaped
        f'<div class="card{" alert" if alert else ""}"><div class="v">{v}</div>'
        f'<div class="k">{html.escape(k)}</div></div>' for k, v, alert in cards)
    note = "" if scored is not None else (
        '<p class="note">No data given: pass a data file (<code>latentwatch report MODEL '
        'DATA</code>) to see scores, the latent map, the most anomalous rows and '
        'per-feature reconstruction quality.</p>')
    return f'<div class="cards">{html_cards}</div>{note}'


def _threshold_section(model: Any, scored: _Scored | None) -> str:
    cut = _score_threshold(model)
    rows = [("meaning", describe_threshold(model)),
            ("anomaly-score threshold",
             "not set: calibrate(X_normal) first" if cut is None
             else f"{_fmt(cut)} (rows scoring above it are flagged)")]
    calibration = getattr(model, "calibration_scores_", None)
    if calibration is not None:
        source = {"calibration_split": "a calibration split held out of training",
                  "calibrate": "normal rows passed to calibrate()",
                  "validation": "the early-stopping validation rows (approximate)"}.get(
            getattr(model, "calibration_source_", None) or "", "unknown")
        rows.append(("p-values", f"conformal, against {len(calibration)} calibration scores "
                                 f"from {source}; the smallest possible p-value is "
                                 f"1/{len(calibration) + 1} = {1 / (len(calibration) + 1):.3g}"))
    if scored is not None and scored.p_values is not None:
        rows.append(("rows with p ≤ 0.01 / 0.05",
                     f"{int(np.sum(scored.p_values <= 0.01))} / "
                     f"{int(np.sum(scored.p_values <= 0.05))}"))
    return _kv_table(rows)


def _training_section(model: Any) -> str:
    history = getattr(model, "history_", {}) or {}
    train, val = history.get("train_loss", []), history.get("val_loss", [])
    if not train:
        return '<p class="note">No training history stored.</p>'
    fig, ax = _figure(7.5, 3.0)
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, color=NORMAL, label="training loss", lw=1.8)
    monitored = train
    if val:
        ax.plot(epochs[:len(val)], val, color=ANOMALY, label="validation loss", lw=1.8)
        monitored = val
    best = int(np.argmin(monitored)) + 1
    ax.axvline(best, color=MUTED, ls=":", lw=1.2, label=f"best epoch ({best}), restored")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per row")
    losses = np.r_[train, val]
    if losses.min() > 0 and losses.max() > 10 * losses.min():
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    loss = ("negative ELBO" if type(model).__name__ == "VAEDetector"
            else "mean squared reconstruction error")
    return (_img(fig, "Training and validation loss per epoch")
            + f'<p class="note">Loss: {loss} on standardised rows. Training stopped after '
              f"{len(train)} epochs; the weights of epoch {best} were kept.</p>")


def _scores_section(model: Any, scored: _Scored | None) -> str:
    cut = _score_threshold(model)
    if scored is None:
        calibration = getattr(model, "calibration_scores_", None)
        if calibration is None:
            return '<p class="note">No data and no calibration scores to show.</p>'
        groups = [("calibration rows", np.asarray(calibration), NORMAL)]
        caption = "Anomaly scores of the calibration rows stored with the model."
    elif scored.y is None:
        groups = [("all rows", scored.scores, NORMAL)]
        caption = "Anomaly scores of the rows given (higher = more anomalous)."
    else:
        groups = [(f"normal (n={int(np.sum(scored.y == 0))})", scored.scores[scored.y == 0],
                   NORMAL),
                  (f"anomaly (n={int(np.sum(scored.y == 1))})", scored.scores[scored.y == 1],
                   ANOMALY)]
        caption = "Anomaly scores by label; each histogram is normalised to unit area."
    everything = np.concatenate([g[1] for g in groups])
    everything = everything[np.isfinite(everything)]
    finite_cut = cut if cut is not None and np.isfinite(cut) else None
    low, high = float(np.min(everything)), float(np.max(everything))
    bulk = groups[0][1][np.isfinite(groups[0][1])]  # the normal rows when labelled
    zoom_high = float(np.quantile(bulk, 0.98)) if len(bulk) else high
    if finite_cut is not None:
        low, high = min(low, finite_cut), max(high, finite_cut)
        zoom_high = max(zoom_high, finite_cut)
    zoom_high += 0.15 * (zoom_high - low or 1.0)
    ranges = [(low, high)]
    if high > zoom_high + 0.5 * (zoom_high - low):  # a long tail: add a zoom on the bulk
        ranges.append((low, zoom_high))
    fig, axes = _figure(4.6 * len(ranges), 3.0, ncols=len(ranges))
    for ax, (left, right) in zip(np.atleast_1d(axes), ranges, strict=True):
        bins = np.linspace(left, right if right > left else left + 1.0, 51)
        for label, values, colour in groups:
            values = values[np.isfinite(values)]
            shown = values[values <= right]
            if len(shown):  # densities are of the whole group, also in the zoom
                weight = 1.0 / (len(values) * (bins[1] - bins[0])) if len(groups) > 1 else 1.0
                ax.hist(shown, bins=bins, color=colour, alpha=0.55, label=label,
                        weights=np.full(len(shown), weight))
        if cut is not None:
            ax.axvline(cut, color=THRESHOLD, lw=1.6, ls="--", label=f"threshold ({_fmt(cut)})")
        ax.set_xlabel("anomaly score")
        ax.set_ylabel("density" if len(groups) > 1 else "rows")
    axes = np.atleast_1d(axes)
    axes[0].legend(frameon=False, fontsize=8)
    if len(ranges) > 1:
        axes[0].set_title("all rows", fontsize=10)
        axes[1].set_title("zoom on the bulk and the threshold", fontsize=10)
        beyond = int(np.sum(everything > zoom_high))
        caption += (f" Right: scores up to {_fmt(zoom_high)}; {beyond} rows score higher.")
    return _img(fig, "Score distribution with the threshold") + f'<p class="note">{caption}</p>'


def _evaluation_section(scored: _Scored) -> str:
    from sklearn.metrics import precision_recall_curve, roc_curve

    evaluation = scored.evaluation
    assert evaluation is not None and scored.y is not None
    content = ""
    if evaluation.auc_roc is not None:
        fig, (roc, pr) = _figure(9.0, 3.6, ncols=2)
        fpr, tpr, _ = roc_curve(scored.y, scored.scores)
        roc.plot(fpr, tpr, color=NORMAL, lw=1.8, label=f"AUC-ROC {evaluation.auc_roc:.3f}")
        roc.plot([0, 1], [0, 1], color=MUTED, lw=1, ls=":")
        precision, recall, _ = precision_recall_curve(scored.y, scores := scored.scores)
        pr.plot(recall, precision, color=NORMAL, lw=1.8,
                label=f"AUC-PR {evaluation.auc_pr:.3f}")
        pr.axhline(scored.y.mean(), color=MUTED, lw=1, ls=":", label="chance")
        if evaluation.false_alarm_rate is not None and evaluation.recall is not None:
            roc.plot(evaluation.false_alarm_rate, evaluation.recall, "o", color=ANOMALY,
                     label="at the threshold")
        if evaluation.precision is not None and evaluation.recall is not None:
            pr.plot(evaluation.recall, evaluation.precision, "o", color=ANOMALY,
                    label="at the threshold")
        roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC",
                xlim=(0, 1), ylim=(0, 1.02))
        pr.set(xlabel="recall", ylabel="precision", title="Precision-recall",
               xlim=(0, 1), ylim=(0, 1.02))
        roc.legend(frameon=False, fontsize=8, loc="lower right")
        pr.legend(frameon=False, fontsize=8, loc="lower left")
        del scores
        content += _img(fig, "ROC and precision-recall curves")
    else:
        content += '<p class="note">The labels hold a single class: no ROC or PR curve.</p>'
    return content + _kv_table(evaluation.rows())


def _latent_section(
    model: Any, scored: _Scored | None, random_state: int, max_points: int
) -> str:
    if scored is None:
        return '<p class="note">Needs data.</p>'
    n = len(scored.scores)
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(random_state).choice(n, max_points, replace=False))
    codes = model.transform(scored.X.iloc[rows] if hasattr(model, "feature_names_in_")
                            else scored.X.to_numpy()[rows])  # same rule as in _score
    if codes.shape[1] == 1:
        xy = np.c_[codes[:, 0], scored.scores[rows]]
        axes = ("latent dimension 1", "anomaly score")
        how = "the single latent dimension against the anomaly score"
    elif codes.shape[1] == 2:
        xy, axes = codes, ("latent dimension 1", "latent dimension 2")
        how = "the two latent dimensions (posterior means for the VAE)"
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=random_state).fit(codes)
        xy = pca.transform(codes)
        share = pca.explained_variance_ratio_
        axes = (f"PC 1 ({share[0]:.0%} of latent variance)",
                f"PC 2 ({share[1]:.0%} of latent variance)")
        how = (f"a PCA projection of the {codes.shape[1]} latent dimensions "
               f"({share.sum():.0%} of their variance)")
    order = np.argsort(scored.scores[rows])  # draw the most anomalous last, on top
    xy = xy[order]
    rank = (np.argsort(np.argsort(scored.scores)) / max(1, n - 1))[rows][order]
    panels = 2 if scored.y is not None else 1
    fig, axs = _figure(4.6 * panels, 3.9, ncols=panels)
    axs = np.atleast_1d(axs)
    size = 8 if len(rows) > 2000 else 14
    points = axs[0].scatter(xy[:, 0], xy[:, 1], c=rank, cmap="viridis", s=size, lw=0)
    fig.colorbar(points, ax=axs[0], label="anomaly-score percentile", fraction=0.05)
    if scored.flagged is not None and scored.flagged[rows].any():
        flagged = scored.flagged[rows][order]
        axs[0].scatter(xy[flagged, 0], xy[flagged, 1], s=size * 3, facecolors="none",
                       edgecolors=ANOMALY, lw=0.9, label="flagged")
        axs[0].legend(frameon=False, fontsize=8, loc="upper right")
    axs[0].set_title("coloured by score", fontsize=10)
    if scored.y is not None:
        labels = scored.y[rows][order]
        axs[1].scatter(xy[labels == 0, 0], xy[labels == 0, 1], color=NORMAL, s=size, lw=0,
                       alpha=0.6, label="normal")
        axs[1].scatter(xy[labels == 1, 0], xy[labels == 1, 1], color=ANOMALY, s=size * 1.8,
                       lw=0, label="anomaly")
        axs[1].legend(frameon=False, fontsize=8)
        axs[1].set_title("coloured by label", fontsize=10)
    for ax in axs:
        ax.set(xlabel=axes[0], ylabel=axes[1])
    note = f"Each point is a row, placed by {how}."
    if len(rows) < n:
        note += f" {len(rows)} of {n} rows drawn at random."
    return _img(fig, "Latent space map") + f'<p class="note">{html.escape(note)}</p>'


def _rows_section(model: Any, scored: _Scored | None, top: int) -> str:
    if scored is None:
        return '<p class="note">Needs data.</p>'
    order = np.argsort(-scored.scores, kind="stable")[:top]
    columns = list(scored.X.columns)
    values = scored.X.to_numpy()
    head = ["row", "score"]
    if scored.p_values is not None:
        head.append("p-value")
    if scored.flagged is not None:
        head.append("flagged")
    if scored.y is not None:
        head.append("label")
    head.append("top contributing columns: observed value (expected value, share of score)")
    body = []
    for row in order:
        cells = [f'<td class="num">{row}</td>', f'<td class="num">{_fmt(scored.scores[row])}</td>']
        if scored.p_values is not None:
            cells.append(f'<td class="num">{_fmt(scored.p_values[row])}</td>')
        if scored.flagged is not None:
            cells.append('<td class="flag">yes</td>' if scored.flagged[row] else "<td>no</td>")
        if scored.y is not None:
            cells.append('<td class="flag">anomaly</td>' if scored.y[row] else "<td>normal</td>")
        parts = scored.parts[row]
        total = np.sum(np.abs(parts)) or 1.0
        why = []
        for j in np.argsort(-parts, kind="stable")[:3]:
            why.append(f'<span class="feat">{html.escape(str(columns[j]))}</span> = '
                       f"{_fmt(values[row, j])} <span class=\"muted\">(expected "
                       f"{_fmt(scored.expected[row, j])}, {abs(parts[j]) / total:.0%})</span>")
        cells.append(f"<td>{'; '.join(why)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (f"<table><tr>{header}</tr>{''.join(body)}</table>"
            '<p class="note">Row numbers count data rows from 0. A column\'s share is its '
            "part of the row's anomaly score (its squared error for the autoencoder, its "
            "negative log-likelihood for the VAE); the expected value is the model's "
            "reconstruction."
            + ("" if scored.p_values is None else
               " The smallest possible p-value is 1 / (calibration rows + 1) = "
               f"{_fmt(1 / (len(model.calibration_scores_) + 1))}.")
            + "</p>")


def _features_section(model: Any, scored: _Scored | None) -> str:
    if scored is None:
        return '<p class="note">Needs data.</p>'
    normal = np.ones(len(scored.scores), bool) if scored.y is None else scored.y == 0
    values = scored.X.to_numpy()
    if not normal.any():
        normal = np.ones(len(scored.scores), bool)
    residual = values[normal] - scored.expected[normal]
    spread = np.sum((values[normal] - values[normal].mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(spread > 0, 1.0 - np.sum(residual**2, axis=0) / spread, np.nan)
    mae = np.mean(np.abs(residual), axis=0)
    contribution_normal = scored.parts[normal].mean(axis=0)
    contribution_anomaly = (scored.parts[scored.y == 1].mean(axis=0)
                            if scored.y is not None and (scored.y == 1).any() else None)
    names = [str(c) for c in scored.X.columns]
    order = np.argsort(np.nan_to_num(r2, nan=np.inf), kind="stable")  # worst first
    shown = order[:MAX_FEATURES_SHOWN]
    fig, ax = _figure(7.5, max(2.2, 0.22 * len(shown) + 0.8))
    bars = np.clip(np.nan_to_num(r2[shown], nan=1.0), -1.0, 1.0)
    ax.barh(np.arange(len(shown)), bars,
            color=[ANOMALY if b < 0.5 else NORMAL for b in bars])
    ax.set_yticks(np.arange(len(shown)), [names[j] for j in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, float(bars.min()) - 0.05), 1.0)
    ax.axvline(0, color=MUTED, lw=0.8)
    ax.set_xlabel("R² of the reconstruction" + (" (normal rows)" if scored.y is not None else ""))
    who = "normal rows" if scored.y is not None else "all rows"
    head = ["feature", f"R² ({who})", f"mean |error| ({who})", f"mean score part ({who})"]
    if contribution_anomaly is not None:
        head.append("mean score part (anomalies)")
    body = []
    for j in shown:
        cells = [html.escape(names[j]), "n/a (constant)" if np.isnan(r2[j]) else f"{r2[j]:.3f}",
                 _fmt(mae[j]), _fmt(contribution_normal[j])]
        if contribution_anomaly is not None:
            cells.append(_fmt(contribution_anomaly[j]))
        body.append("<tr>" + "".join(
            f'<td class="{"" if i == 0 else "num"}">{c}</td>' for i, c in enumerate(cells))
            + "</tr>")
    note = ("R² = 1 − (squared reconstruction error) / (variance): 1 is a perfect "
            "reconstruction, 0 no better than the column mean. Red bars: below 0.5. Worst "
            "reconstructed features first")
    note += (f"; the {len(shown)} worst of {len(names)} shown." if len(shown) < len(names)
             else ".")
    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    return (_img(fig, "Per-feature reconstruction quality") + f'<p class="note">{note}</p>'
            + table + "".join(body) + "</table>")


def _model_section(model: Any) -> str:
    names = _feature_names(model)
    fitted = [("class", type(model).__name__),
              ("architecture", f"{model.n_features_in_} → "
               + " → ".join(str(h) for h in model.hidden_dims_)
               + f" → {model.latent_dim_} (and mirrored back)"),
              ("epochs trained", str(model.n_epochs_)),
              ("seed drawn in fit", str(getattr(model, "seed_", "n/a"))),
              ("feature names", "from the training DataFrame"
               if hasattr(model, "feature_names_in_") else "none (array input): x0, x1, ...")]
    params = []
    for key, value in sorted(model.get_params(deep=False).items()):
        if hasattr(value, "describe"):
            value = value.describe()
        params.append((key, value if isinstance(value, str) else json.dumps(value, default=str)))
    schema_rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td class=\"num\">{_fmt(m)}</td>"
        f"<td class=\"num\">{_fmt(s)}</td></tr>"
        for n, m, s in list(zip(names, model.mean_, model.scale_, strict=True))[
            :MAX_FEATURES_SHOWN * 5])
    more = len(names) - MAX_FEATURES_SHOWN * 5
    schema = ("<table><tr><th>feature</th><th>training mean</th><th>training standard "
              "deviation</th></tr>" + schema_rows + "</table>"
              + (f'<p class="note">{more} more features not listed.</p>' if more > 0 else ""))
    return (f'<div class="two"><div><h3>Fitted model</h3>{_kv_table(fitted)}'
            f'<h3>Parameters</h3>{_kv_table(params)}</div>'
            f"<div><h3>Schema ({len(names)} numeric features)</h3>{schema}</div></div>")


# -- helpers --------------------------------------------------------------------------------
def _figure(width: float, height: float, ncols: int = 1):
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, ncols)
    for ax in np.atleast_1d(axes):
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25, lw=0.6)
    return fig, axes


def _img(fig: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _kv_table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows) + "</table>"


def _fmt(value: Any) -> str:
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"
