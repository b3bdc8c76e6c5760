"""Sections about scored rows: rows not scored, score distribution, evaluation, the most
anomalous rows, the latent map and per-column reconstruction quality.

Each takes the fitted detector and the :class:`~latentwatch.report.scored.Scored` rows
(or None without data) and returns the section's HTML. Row numbers count the rows given
from 1 (the first row after a file's header), as every command does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentwatch.attribution import counterfactual_attribution
from latentwatch.explain import about, format_number, format_probability
from latentwatch.report.model_sections import score_cut
from latentwatch.report.page import (
    ANOMALY,
    MUTED,
    NEEDS_DATA,
    NORMAL,
    THRESHOLD,
    esc,
    figure,
    fmt,
    img,
    kv_table,
    note,
    table,
)
from latentwatch.report.scored import Scored

# Most rows listed in the "rows not scored" table.
MAX_PROBLEMS_SHOWN = 50
# Most columns drawn in the per-column chart and listed in its table.
MAX_COLUMNS_SHOWN = 40
# Columns named per row in the most-anomalous table.
TOP_COLUMNS = 3
NOTHING_SCORED = note("No row could be scored.")


def unscored_section(scored: Scored) -> str:
    rows = []
    for problem in scored.problems[:MAX_PROBLEMS_SHOWN]:
        value = "missing" if _missing(problem.value) else repr(_python(problem.value))
        rows.append([str(problem.position + 1), f'<span class="feat">{esc(problem.column)}'
                     "</span>", esc(value), esc(problem.message)])
    more = len(scored.problems) - MAX_PROBLEMS_SHOWN
    text = (f"{len(scored.problems)} of {scored.n_rows} rows could not be scored; each is "
            "listed with its first bad value. They are left out of every other section.")
    if more > 0:
        text += f" The first {MAX_PROBLEMS_SHOWN} are listed; {more} more are not."
    return note(esc(text)) + table(["row", "column", "value", "why"], rows,
                                   [True, False, False, False])


def scores_section(model: Any, scored: Scored | None) -> str:
    cut = score_cut(model)
    if scored is None:
        calibration = model.calibration_scores_
        if calibration is None:
            return note("No data and no calibration scores to show.")
        groups = [("calibration rows", np.asarray(calibration, dtype=np.float64), NORMAL)]
        caption = "Anomaly scores of the calibration rows stored with the model."
    elif scored.n_scored == 0:
        return NOTHING_SCORED
    elif scored.y is None:
        groups = [("all rows", scored.scores, NORMAL)]
        caption = "Anomaly scores of the rows given (higher = more anomalous)."
    else:
        groups = [(f"{label} (n={int(np.sum(scored.y == value))})",
                   scored.scores[scored.y == value], colour)
                  for label, value, colour in (("normal", 0, NORMAL), ("anomaly", 1, ANOMALY))
                  if np.any(scored.y == value)]
        caption = "Anomaly scores by label; each histogram is normalised to unit area."
    everything = np.concatenate([g[1] for g in groups])
    everything = everything[np.isfinite(everything)]
    if not len(everything):
        return note("No finite score to show.")
    finite_cut = cut if cut is not None and np.isfinite(cut) else None
    low, high = float(np.min(everything)), float(np.max(everything))
    bulk = groups[0][1][np.isfinite(groups[0][1])]  # the normal rows when labelled
    zoom_high = bulk_high(bulk) if len(bulk) else high
    if finite_cut is not None:
        low, high = min(low, finite_cut), max(high, finite_cut)
        zoom_high = max(zoom_high, finite_cut)
    zoom_high += 0.15 * (zoom_high - low or 1.0)
    ranges = [(low, high)]
    if high > zoom_high + 0.5 * (zoom_high - low):  # a long tail: add a zoom on the bulk
        ranges.append((low, zoom_high))
    fig, axes = figure(4.6 * len(ranges), 3.0, ncols=len(ranges))
    axes = np.atleast_1d(axes)
    for ax, (left, right) in zip(axes, ranges, strict=True):
        bins = np.linspace(left, right if right > left else left + 1.0, 51)
        for label, values, colour in groups:
            values = values[np.isfinite(values)]
            shown = values[values <= right]
            if len(shown):  # densities are of the whole group, also in the zoom
                weight = 1.0 / (len(values) * (bins[1] - bins[0])) if len(groups) > 1 else 1.0
                ax.hist(shown, bins=bins, color=colour, alpha=0.55, label=label,
                        weights=np.full(len(shown), weight))
        if finite_cut is not None:
            ax.axvline(finite_cut, color=THRESHOLD, lw=1.6, ls="--",
                       label=f"threshold ({fmt(finite_cut)})")
        ax.set_xlabel("anomaly score (nats)")
        ax.set_ylabel("density" if len(groups) > 1 else "rows")
    axes[0].legend(frameon=False, fontsize=8)
    if len(ranges) > 1:
        axes[0].set_title("all rows", fontsize=10)
        axes[1].set_title("zoom on the bulk and the threshold", fontsize=10)
        beyond = int(np.sum(everything > zoom_high))
        caption += f" Right: scores up to {fmt(zoom_high)}; {beyond} rows score higher."
    return img(fig, "Score distribution with the threshold") + note(esc(caption))


def bulk_high(values: np.ndarray) -> float:
    """The right end of the zoom on the bulk: ``min(q98, q75 + 3 * (q75 - q25))``, so that
    a long tail of normal rows (a drifting series) does not stretch the zoom.

    Examples
    --------
    >>> bulk_high(np.r_[np.arange(100.0), np.full(10, 1e4)])
    245.25
    """
    q25, q75, q98 = np.quantile(values, [0.25, 0.75, 0.98])
    return float(min(q98, q75 + 3.0 * (q75 - q25)))


def evaluation_section(model: Any, scored: Scored) -> str:
    from sklearn.metrics import precision_recall_curve, roc_curve

    evaluation = scored.evaluation
    if evaluation is None or scored.y is None:
        return NOTHING_SCORED
    y, scores = scored.y, scored.scores
    with_threshold = scored.flagged is not None
    content = ""
    if evaluation.auc_roc is not None and evaluation.auc_pr is not None:
        fig, (roc, pr) = figure(9.0, 3.6, ncols=2)
        fpr, tpr, _ = roc_curve(y, scores)
        roc.plot(fpr, tpr, color=NORMAL, lw=1.8, label=f"AUC-ROC {evaluation.auc_roc:.3f}")
        roc.plot([0, 1], [0, 1], color=MUTED, lw=1, ls=":")
        precision, recall, _ = precision_recall_curve(y, scores)
        pr.plot(recall, precision, color=NORMAL, lw=1.8, label=f"AUC-PR {evaluation.auc_pr:.3f}")
        pr.axhline(y.mean(), color=MUTED, lw=1, ls=":", label="chance")
        if with_threshold and evaluation.false_alarm_rate is not None \
                and evaluation.recall is not None:
            roc.plot(evaluation.false_alarm_rate, evaluation.recall, "o", color=ANOMALY,
                     label="at the threshold")
        if with_threshold and evaluation.precision is not None \
                and evaluation.recall is not None:
            pr.plot(evaluation.recall, evaluation.precision, "o", color=ANOMALY,
                    label="at the threshold")
        roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC",
                xlim=(0, 1), ylim=(0, 1.02))
        pr.set(xlabel="recall", ylabel="precision", title="Precision-recall",
               xlim=(0, 1), ylim=(0, 1.02))
        roc.legend(frameon=False, fontsize=8, loc="lower right")
        pr.legend(frameon=False, fontsize=8, loc="lower left")
        content += img(fig, "ROC and precision-recall curves")
    else:
        content += note("The labels of the scored rows hold a single class: no ROC or PR "
                        "curve.")
    rows = evaluation.rows()
    if not with_threshold:
        ranking = ("rows", "labelled anomalies", "AUC-ROC", "AUC-PR (average precision)")
        rows = [r for r in rows if r[0] in ranking or r[0].startswith("precision at k")]
        content += note("The model has no threshold yet (calibrate it on normal rows): only "
                        "the ranking metrics are shown.")
    if scored.problems:
        content += note(f"Over the {scored.n_scored} scored rows; {len(scored.problems)} rows "
                        "that could not be scored are left out.")
    content += kv_table(rows)
    if evaluation.operating_points:
        content += operating_points_table(evaluation)
    return content


def operating_points_table(evaluation: Any) -> str:
    """The operating points of ``latentwatch evaluate`` (the same
    :func:`latentwatch.evaluation.operating_points`) as an HTML table."""
    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    head = ["threshold", "alerts / 10,000 rows", "flagged", "precision", "recall",
            "false-alarm rate", ""]
    body = [[esc(f"{p.threshold:.6g}"), f"{p.alerts_per_10000:.1f}", str(p.flagged),
             number(p.precision), number(p.recall), number(p.false_alarm_rate),
             "&larr; the model's threshold" if p.source == "model" else ""]
            for p in evaluation.operating_points]
    text = ("Operating points: rows with a score above the threshold are flagged; fit "
            "--threshold alerts:N/10000 sets the threshold from a budget of N alerts per "
            "10,000 normal rows.")
    return (note(esc(text)) + table(head, body, [True] * 6 + [False]))


def rows_section(model: Any, scored: Scored | None, top: int) -> str:
    if scored is None:
        return NEEDS_DATA
    if scored.n_scored == 0:
        return NOTHING_SCORED
    codec = model.codec_
    order = np.argsort(-scored.scores, kind="stable")[:top]
    head = ["row"]
    if scored.ids is not None:
        head += list(scored.ids.columns)
    head.append("score")
    if scored.p_values is not None:
        head.append("p-value")
    if scored.flagged is not None:
        head.append("flagged")
    if scored.y is not None:
        head.append("label")
    head.append("top contributing columns: observed value (expected value; part of the "
                "score)")
    numeric = [True] + [False] * (len(head) - 1)
    numeric[head.index("score")] = True
    if "p-value" in head:
        numeric[head.index("p-value")] = True
    body = []
    judged = counterfactual_attribution(model, scored.rows[order], scores=scored.scores[order])
    expected = codec.block_frame(judged.expected)
    ranked_cells = judged.ranking()
    for k, i in enumerate(order):
        cells = [str(int(scored.positions[i]) + 1)]
        if scored.ids is not None:
            cells += [esc(_python(v)) for v in scored.ids.iloc[i]]
        cells.append(fmt(scored.scores[i]))
        if scored.p_values is not None:
            cells.append(fmt(scored.p_values[i]))
        if scored.flagged is not None:
            cells.append('<span class="flag">yes</span>' if scored.flagged[i] else "no")
        if scored.y is not None:
            cells.append('<span class="flag">anomaly</span>' if scored.y[i] else "normal")
        why = [_contribution(codec.blocks[j], scored, i, j, expected.iat[k, j],
                             judged.probability[k, j])
               for j in ranked_cells[k, :TOP_COLUMNS]]
        cells.append("; ".join(why))
        body.append(cells)
    text = ("Row numbers count the rows given from 1 (the first row after a file's header), "
            "as every command does. A column's part is its share of the "
            "row's anomaly score, in nats (its point error for the autoencoder, its "
            "negative log-likelihood for the VAE). The expected value is the model's most "
            "probable value, decoded like a reconstruction (a datetime column is shown by "
            "its modelled features, such as its hour).")
    text += (" Columns are ranked by how much the row's score would fall if the cell held "
             "the value the model expects of it given the other columns (the expected value "
             "shown).")
    if scored.p_values is not None:
        smallest = 1 / (len(model.calibration_scores_) + 1)
        text += f" The smallest possible p-value is 1 / (calibration rows + 1) = {fmt(smallest)}."
    return table(head, body, numeric) + note(esc(text))


def _contribution(block: Any, scored: Scored, i: int, j: int, expected: Any,
                  probability: float) -> str:
    """``<b>column</b> = observed (expected ...; 3.2 nats)`` for row ``i``, block ``j``, with
    the value ``expected`` given the other columns and the ``probability`` of the observed
    category given them."""
    present = bool(scored.present[i, j])
    observed = scored.observed.iat[i, j] if j < scored.observed.shape[1] else None
    notes = []
    if block.kind == "numeric":
        shown = format_number(observed, block.integer) if present else "missing"
        notes.append("expected " + ("nothing in particular" if _missing(expected)
                                    else f"about {about(float(expected))}"))
    else:
        shown = _label(observed) if present else "missing"
        if present and block.kind == "categorical" \
                and round(scored.targets[i, j]) == len(block.categories):
            notes.append("new or rare value")
        p = probability
        if present and np.isfinite(p):
            notes.append(f"p={format_probability(float(p))}")
        notes.append("expected " + ("nothing in particular" if _missing(expected)
                                    else _label(expected)))
    notes_text = ", ".join(notes)
    return (f'<span class="feat">{esc(block.name)}</span> = {esc(shown)} '
            f'<span class="muted">({esc(notes_text)}; {fmt(scored.parts[i, j])} nats)</span>')


def latent_section(model: Any, scored: Scored | None, random_state: int, max_points: int
                   ) -> str:
    if scored is None:
        return NEEDS_DATA
    n = scored.n_scored
    if n == 0:
        return NOTHING_SCORED
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(random_state).choice(n, max_points, replace=False))
    codes = np.asarray(model.transform(scored.frame.iloc[scored.positions[rows]]))
    if codes.shape[1] == 1:
        xy = np.c_[codes[:, 0], scored.scores[rows]]
        axes = ("latent dimension 1", "anomaly score")
        how = "the single latent dimension against the anomaly score"
    elif codes.shape[1] == 2 or len(rows) < 3:
        xy, axes = codes[:, :2], ("latent dimension 1", "latent dimension 2")
        how = "the two latent dimensions (posterior means for the VAE)"
        if codes.shape[1] > 2:
            how = "its first two latent dimensions (too few rows for a projection)"
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=random_state).fit(codes)
        xy = pca.transform(codes)
        ratio = np.nan_to_num(pca.explained_variance_ratio_)
        axes = (f"PC 1 ({ratio[0]:.0%} of latent variance)",
                f"PC 2 ({ratio[1]:.0%} of latent variance)")
        how = (f"a PCA projection of the {codes.shape[1]} latent dimensions "
               f"({ratio.sum():.0%} of their variance)")
    order = np.argsort(scored.scores[rows], kind="stable")  # the most anomalous on top
    xy = xy[order]
    rank = (np.argsort(np.argsort(scored.scores, kind="stable"), kind="stable")
            / max(1, n - 1))[rows][order]
    panels = 2 if scored.y is not None else 1
    fig, axs = figure(4.6 * panels, 3.9, ncols=panels)
    axs = np.atleast_1d(axs)
    size = 8 if len(rows) > 2000 else 14
    points = axs[0].scatter(xy[:, 0], xy[:, 1], c=rank, cmap="viridis", s=size, lw=0,
                            vmin=0, vmax=1)
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
    text = f"Each point is a row, placed by {how}."
    if len(rows) < n:
        text += f" {len(rows)} of {n} rows drawn at random."
    return img(fig, "Latent space map") + note(esc(text))


def column_quality(model: Any, scored: Scored) -> pd.DataFrame:
    """Per modelled column (block): how well the model's most probable value matches the
    data, over the normal rows when labelled (else every scored row).

    Columns: ``column``, ``kind``, ``measure`` (``"R²"`` or ``"accuracy"``), ``quality``
    (R² of the numbers in their original units, or the share of entries whose most
    probable category/boolean is the observed one), ``baseline`` (accuracy of always
    guessing the most frequent value; NaN for numbers), ``mean_abs_error`` (original
    units; NaN for categories), ``entries`` (observed entries used), ``part_normal``
    and ``part_anomaly`` (mean score part, nats).
    """
    normal = np.ones(scored.n_scored, bool) if scored.y is None else scored.y == 0
    if not normal.any():
        normal = np.ones(scored.n_scored, bool)
    anomalies = None if scored.y is None or not np.any(scored.y == 1) else scored.y == 1
    records = []
    for j, block in enumerate(model.codec_.blocks):
        used = normal & scored.present[:, j]
        record = {"column": block.name, "kind": block.kind, "entries": int(used.sum()),
                  "quality": np.nan, "baseline": np.nan, "mean_abs_error": np.nan,
                  "part_normal": float(np.mean(scored.parts[normal, j])),
                  "part_anomaly": (np.nan if anomalies is None
                                   else float(np.mean(scored.parts[anomalies, j])))}
        if block.kind == "numeric":
            record["measure"] = "R²"
            observed = pd.to_numeric(scored.observed.iloc[:, j], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)[used]
            expected = pd.to_numeric(scored.expected.iloc[:, j], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)[used]
            ok = np.isfinite(observed) & np.isfinite(expected)
            observed, expected = observed[ok], expected[ok]
            if len(observed):
                residual = observed - expected
                spread = float(np.sum((observed - observed.mean()) ** 2))
                if spread > 0:
                    record["quality"] = 1.0 - float(np.sum(residual ** 2)) / spread
                record["mean_abs_error"] = float(np.mean(np.abs(residual)))
        else:
            record["measure"] = "accuracy"
            codes = np.round(scored.targets[used, j])
            if len(codes):
                record["quality"] = float(np.mean(
                    codes == np.round(scored.expected_codes[used, j])))
                record["baseline"] = float(np.max(np.unique(codes, return_counts=True)[1])
                                           / len(codes))
        records.append(record)
    return pd.DataFrame.from_records(records, columns=[
        "column", "kind", "measure", "quality", "baseline", "mean_abs_error", "entries",
        "part_normal", "part_anomaly"])


def columns_section(model: Any, scored: Scored | None) -> str:
    if scored is None:
        return NEEDS_DATA
    if scored.n_scored == 0:
        return NOTHING_SCORED
    quality = column_quality(model, scored)
    weak = np.where(quality["measure"] == "R²", quality["quality"] < 0.5,
                    quality["quality"] <= quality["baseline"])
    # worst first: lowest quality, columns without a measure last
    order = np.argsort(quality["quality"].fillna(np.inf).to_numpy(), kind="stable")
    shown = order[:MAX_COLUMNS_SHOWN]
    has_numbers = bool((quality["measure"] == "R²").any())
    has_labels = bool((quality["measure"] == "accuracy").any())
    measure = "R² or accuracy" if has_numbers and has_labels else (
        "R²" if has_numbers else "accuracy")
    names = [f"{quality.at[j, 'column']} ({quality.at[j, 'measure']})"
             if has_numbers and has_labels else str(quality.at[j, "column"]) for j in shown]
    who = "normal rows" if scored.y is not None else "all rows"
    height = max(2.2, 0.24 * len(shown) + 0.9)
    fig, (left, right) = figure(9.0, height, ncols=2)
    bars = np.clip(quality["quality"].to_numpy()[shown], -1.0, 1.0)
    colours = [ANOMALY if weak[j] else NORMAL for j in shown]
    positions = np.arange(len(shown))
    left.barh(positions, np.nan_to_num(bars, nan=0.0), color=colours)
    baseline = quality["baseline"].to_numpy()[shown]
    has_baseline = np.isfinite(baseline)
    if has_baseline.any():
        left.plot(baseline[has_baseline], positions[has_baseline], "|", color=THRESHOLD,
                  ms=10, mew=1.6)
    left.set_yticks(positions, names, fontsize=8)
    left.invert_yaxis()
    finite = bars[np.isfinite(bars)]
    left.set_xlim(min(0.0, float(finite.min()) - 0.05) if len(finite) else 0.0, 1.0)
    left.axvline(0, color=MUTED, lw=0.8)
    left.set_xlabel(f"{measure} of the most probable value ({who})")
    parts = quality["part_normal"].to_numpy()[shown]
    right.barh(positions, parts, color=MUTED)
    right.set_yticks(positions, [""] * len(shown))
    right.invert_yaxis()
    right.axvline(0, color=MUTED, lw=0.8)
    right.set_xlabel(f"mean score part, nats ({who})")
    has_anomalies = bool(quality["part_anomaly"].notna().any())
    head = ["column", "kind", f"{measure} ({who})"]
    head += ["most frequent value's accuracy"] if has_labels else []
    head += ["mean |error| (original units)"] if has_numbers else []
    head += ["mean score part, nats"]
    head += ["mean score part, nats (anomalies)"] if has_anomalies else []
    head += ["entries"]
    body = []
    for j in shown:
        row = quality.iloc[j]
        value = row["quality"]
        if np.isnan(value):
            value_text = "n/a (constant)" if row["entries"] else "n/a (no entries)"
        else:
            value_text = f"{value:.3f}"
        cells = [f'<span class="feat">{esc(row["column"])}</span>', esc(row["kind"]),
                 value_text]
        if has_labels:
            cells.append(fmt(row["baseline"]) if np.isfinite(row["baseline"]) else "")
        if has_numbers:
            cells.append(fmt(row["mean_abs_error"]) if np.isfinite(row["mean_abs_error"])
                         else "")
        cells.append(fmt(row["part_normal"]))
        if has_anomalies:
            cells.append(fmt(row["part_anomaly"]))
        cells.append(str(int(row["entries"])))
        body.append(cells)
    text = ""
    if has_numbers:
        text += ("Numeric columns: R² = 1 − (squared error) / (variance) of the model's most "
                 "probable value in the original units (1 is perfect, 0 no better than the "
                 "column mean); red below 0.5. ")
    if has_labels:
        text += ("Categorical and boolean columns (and the features of a datetime column): "
                 "the share of entries whose most probable value is the one observed, beside "
                 "the share of the most frequent value (the tick); red when no better. ")
    text += "Gaps are left out. Worst columns first"
    text += (f"; the {len(shown)} worst of {len(quality)} shown." if len(shown) < len(quality)
             else ".")
    return (img(fig, "Per-column reconstruction quality") + note(esc(text))
            + table(head, body, [False, False] + [True] * (len(head) - 2)))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _python(value: Any) -> Any:
    if value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value


def _label(value: Any) -> str:
    """A category or boolean as it reads in the data."""
    value = _python(value)
    if _missing(value):
        return "missing"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
