"""Sections about the fitted model: summary, threshold, training, schema and parameters.

Each takes the fitted detector (and, where it shows numbers of the data, the scored rows
or None) and returns the section's HTML.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from latentwatch.report.page import (
    ANOMALY,
    MUTED,
    NORMAL,
    cards,
    esc,
    figure,
    fmt,
    img,
    kv_table,
    note,
    table,
)
from latentwatch.report.scored import Scored
from latentwatch.thresholds import describe_threshold

# Most blocks (modelled columns) listed in the schema table.
MAX_SCHEMA_ROWS = 200
# Most categories quoted per categorical column in the schema table.
MAX_CATEGORIES_QUOTED = 8

CALIBRATION_SOURCES = {
    "calibration_split": "a calibration split held out of training",
    "calibrate": "normal rows passed to calibrate()",
    "validation": "the early-stopping validation rows (approximate)",
}


def score_cut(model: Any) -> float | None:
    """The anomaly-score threshold: rows scoring above it are flagged (None: not set)."""
    offset = model.offset_
    return None if offset is None else -float(offset)


def summary_section(model: Any, scored: Scored | None) -> str:
    codec = model.codec_
    items = [("data columns", f"{len(codec.sources)}", False)]
    if codec.n_blocks != len(codec.sources):
        items.append(("modelled features", f"{codec.n_blocks}", False))
    items += [("latent dimensions", f"{model.latent_dim_}", False),
              ("epochs trained", f"{model.n_epochs_}", False)]
    if scored is not None:
        items.append(("rows given", f"{scored.n_rows}", False))
        if scored.problems:
            items.append(("rows not scored", f"{len(scored.problems)}", True))
        if scored.flagged is not None and scored.n_scored:
            n = int(scored.flagged.sum())
            items.append(("rows flagged",
                          f"{n} <small>({n / scored.n_scored:.1%})</small>", n > 0))
        if scored.y is not None:
            items.append(("labelled anomalies", f"{scored.n_labelled_anomalies}", False))
        if scored.evaluation is not None:
            for key, value in (("AUC-ROC", scored.evaluation.auc_roc),
                               ("AUC-PR", scored.evaluation.auc_pr)):
                items.append((key, "n/a" if value is None else f"{value:.3f}", False))
    text = "" if scored is not None else note(
        "No data given: pass rows (<code>latentwatch report MODEL DATA</code>) to see "
        "their scores, the most anomalous rows, the latent map and per-column "
        "reconstruction quality.")
    if scored is not None and scored.problems:
        text += note(f"{len(scored.problems)} of {scored.n_rows} rows could not be scored "
                     'and are left out of every section; see <a href="#unscored">rows not '
                     "scored</a>.")
    return cards(items) + text


def threshold_section(model: Any, scored: Scored | None) -> str:
    cut = score_cut(model)
    rows = [("meaning", describe_threshold(model)),
            ("anomaly-score threshold",
             "not set: calibrate(X_normal) first" if cut is None
             else f"{fmt(cut)} (rows scoring above it are flagged)")]
    if model.module_.variational:
        rows.append(("score method", model.score_method))
    calibration = model.calibration_scores_
    if calibration is not None:
        n = len(calibration)
        source = CALIBRATION_SOURCES.get(model.calibration_source_ or "", "unknown rows")
        rows.append(("p-values", f"conformal, against {n} calibration scores from {source}; "
                                 f"the smallest possible p-value is 1/{n + 1} = "
                                 f"{1 / (n + 1):.3g}"))
    if scored is not None and scored.p_values is not None:
        rows.append(("rows with p ≤ 0.01 / 0.05",
                     f"{int(np.sum(scored.p_values <= 0.01))} / "
                     f"{int(np.sum(scored.p_values <= 0.05))}"))
    return kv_table(rows)


def loss_name(model: Any) -> str:
    """What the training loss measures."""
    return "negative ELBO" if model.module_.variational else "mean point error, nats"


def training_section(model: Any) -> str:
    history = model.history_ or {}
    train, val = list(history.get("train_loss", [])), list(history.get("val_loss", []))
    if not train:
        return note("No training history stored.")
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    fig, ax = figure(7.5, 3.0)
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, color=NORMAL, label="training loss", lw=1.8, marker=".")
    monitored = train
    if val:
        ax.plot(epochs[:len(val)], val, color=ANOMALY, label="validation loss", lw=1.8,
                marker=".")
        monitored = val
    best = int(history.get("best_epoch") or int(np.argmin(monitored)) + 1)
    ax.axvline(best, color=MUTED, ls=":", lw=1.2, label=f"best epoch ({best}), restored")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{loss_name(model)} per row")
    losses = np.asarray(train + val, dtype=np.float64)
    losses = losses[np.isfinite(losses)]
    if len(losses) and losses.min() > 0 and losses.max() > 10 * losses.min():
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    text = (f"Loss: {loss_name(model)} per row, over every modelled column. Training "
            f"stopped after {len(train)} epochs; the weights of epoch {best} were kept.")
    if history.get("still_improving"):
        text += (" Training reached max_epochs with the validation loss still falling: a "
                 "larger max_epochs may fit better.")
    return img(fig, "Training and validation loss per epoch") + note(esc(text))


def model_section(model: Any) -> str:
    codec = model.codec_
    architecture = (f"{codec.input_width} inputs → "
                    + "".join(f"{h} → " for h in model.hidden_dims_)
                    + f"{model.latent_dim_} latent → (mirrored) → heads for "
                    f"{codec.n_blocks} modelled columns")
    fitted_on = ("a numeric array (columns named x0 to "
                 f"x{len(codec.sources) - 1})" if model.input_kind_ == "array"
                 else "a DataFrame")
    fitted = [("class", type(model).__name__),
              ("model", model.module_.name),
              ("fitted on", fitted_on),
              ("architecture", architecture),
              ("epochs trained", str(model.n_epochs_)),
              ("seed drawn in fit", str(model.seed_)),
              ("device", str(model.device_))]
    params = []
    for key, value in sorted(model.get_params(deep=False).items()):
        if hasattr(value, "describe"):
            value = value.describe()
        params.append((key, value if isinstance(value, str) else json.dumps(value, default=str)))
    return (f'<div class="two"><div><h3>Fitted model</h3>{kv_table(fitted)}'
            f"<h3>Parameters</h3>{kv_table(params)}</div>"
            f"<div>{schema_tables(model)}</div></div>")


def schema_tables(model: Any) -> str:
    """The modelled columns as the codec reads and writes them, then the columns left out."""
    codec = model.codec_
    kinds = {}
    for block in codec.blocks:
        kinds[block.kind] = kinds.get(block.kind, 0) + 1
    counts = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    dates = {d.name: d for d in codec.dates}
    rows = []
    for block in codec.blocks[:MAX_SCHEMA_ROWS]:
        name = f'<span class="feat">{esc(block.name)}</span>'
        if block.derive is not None:
            period = dates.get(block.source)
            name += (f'<br><span class="muted">{esc(block.derive)} of datetime column '
                     f"{esc(block.source)}"
                     + ("" if period is None else
                        f", {esc(period.first[:10])} to {esc(period.last[:10])}") + "</span>")
        rows.append([name, esc(block.kind), esc(describe_block(block)),
                     "yes (modelled)" if block.missing else "no"])
    out = (f"<h3>Schema ({codec.n_blocks} modelled columns: {esc(counts)})</h3>"
           + table(["column", "kind", "read and written as", "gaps in training"], rows))
    more = codec.n_blocks - MAX_SCHEMA_ROWS
    if more > 0:
        out += note(f"{more} more columns not listed.")
    schema = model.schema_
    left_out = [(name, "identifier: copied to outputs, not modelled")
                for name in schema.id_columns]
    left_out += [(name, reason or "excluded") for name, reason in schema.excluded]
    if left_out:
        out += "<h3>Columns not modelled</h3>" + kv_table(left_out)
    return out


def describe_block(block: Any) -> str:
    """How one block is read and decoded, in one line."""
    if block.kind == "numeric":
        scale = "log(1 + x), " if block.log else ""
        text = f"{scale}mean {fmt(block.mean)}, scale {fmt(block.scale)}"
        if block.low is not None and block.high is not None:
            text += f"; range [{fmt(block.low)}, {fmt(block.high)}]"
        if block.integer:
            text += "; integers"
        elif block.decimals is not None:
            text += f"; {block.decimals} decimals"
        return text
    if block.kind == "boolean":
        labels = " / ".join(str(c) for c in block.categories)
        return f"false / true written {labels}"
    shown = ", ".join(str(c) for c in block.categories[:MAX_CATEGORIES_QUOTED])
    if len(block.categories) > MAX_CATEGORIES_QUOTED:
        shown += ", ..."
    text = f"{len(block.categories)} categories: {shown}"
    if block.rare_values:
        pooled = ", ".join(str(c) for c in block.rare_labels[:3])
        text += (f"; rare bucket pools {block.rare_values} values"
                 + (f" ({pooled}{', ...' if block.rare_values > 3 else ''})" if pooled else ""))
    return text
