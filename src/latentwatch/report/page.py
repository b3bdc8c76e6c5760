"""The page's building blocks: the inline style sheet, figures drawn to embedded PNGs,
tables and number formats. Nothing here knows a model."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

NORMAL = "#4C72B0"
ANOMALY = "#D1495B"
THRESHOLD = "#1F2933"
MUTED = "#8A94A6"

CSS = """
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


def figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, Any]:
    """A figure drawn without a display (no pyplot), with light axes."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, ncols)
    for ax in np.atleast_1d(axes):
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25, lw=0.6)
    return fig, axes


def img(fig: Figure, alt: str) -> str:
    """``fig`` as an ``<img>`` whose source is an embedded PNG."""
    engine = fig.get_layout_engine()
    if engine is not None:  # lay out once, not again in every draw savefig makes
        engine.execute(fig)
        fig.set_layout_engine("none")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def esc(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value))


def note(text: str) -> str:
    """A muted paragraph; ``text`` is HTML (escape what comes from data)."""
    return f'<p class="note">{text}</p>'


NEEDS_DATA = note("Needs data.")


def kv_table(rows: Iterable[tuple[Any, Any]]) -> str:
    """Two columns, both escaped: a heading and a value per row."""
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
                               for k, v in rows) + "</table>"


def table(head: Sequence[str], rows: Iterable[Sequence[str]],
          numeric: Sequence[bool] | None = None) -> str:
    """A table with escaped headings; the cells are HTML already (escape data first).

    ``numeric`` marks the columns drawn right-aligned.
    """
    numeric = list(numeric) if numeric is not None else [False] * len(head)
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if numeric[i] else f"<td>{c}</td>"
                         for i, c in enumerate(cells)) + "</tr>"
        for cells in rows)
    return f"<table><tr>{header}</tr>{body}</table>"


def cards(items: Iterable[tuple[str, str, bool]]) -> str:
    """Summary cards ``(label, value HTML, alert)``."""
    return '<div class="cards">' + "".join(
        f'<div class="card{" alert" if alert else ""}"><div class="v">{value}</div>'
        f'<div class="k">{esc(label)}</div></div>' for label, value, alert in items) + "</div>"


def fmt(value: Any) -> str:
    """A number in 4 significant digits, or in scientific notation when very large or
    small; ``n/a`` for None or a missing value."""
    if value is None:
        return "n/a"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if np.isnan(value):
        return "n/a"
    if not np.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


def share(count: int, total: int) -> str:
    """``"12 (3.4%)"``."""
    return f"{count} ({count / total:.1%})" if total else f"{count}"
