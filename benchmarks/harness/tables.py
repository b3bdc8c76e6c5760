"""Results out: markdown tables, and result files written with their folders."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns of free text, left-aligned; every other column is right-aligned.
TEXT_COLUMNS = ("error", "setting", "method")


def fmt(value: object, digits: int = 3) -> str:
    """A table cell: floats to ``digits`` decimals, NaN as empty, anything else as text.

    Examples
    --------
    >>> fmt(0.12345), fmt(float("nan")), fmt("lw-vae")
    ('0.123', '', 'lw-vae')
    """
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _align(column: pd.Series) -> str:
    return "---" if str(column.name) in TEXT_COLUMNS else "---:"


def md_table(df: pd.DataFrame, digits: Mapping[str, int] | None = None) -> str:
    """Render a DataFrame (index included) as a GitHub markdown table.

    Examples
    --------
    >>> frame = pd.DataFrame({"auc_roc": [0.81234]}, index=pd.Index(["cardio"], name="set"))
    >>> print(md_table(frame))
    | set | auc_roc |
    |---|---:|
    | cardio | 0.812 |
    """
    digits = digits or {}
    cols = [df.index.name or "", *map(str, df.columns)]
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join(["---"] + [_align(df[c]) for c in df.columns]) + "|",
    ]
    for idx, row in df.iterrows():
        cells = [fmt(v, digits.get(str(c), 3)) for c, v in row.items()]
        lines.append("| " + " | ".join([str(idx), *cells]) + " |")
    return "\n".join(lines)


def md_rows(header: list[str], rows: Iterable[list[str]]) -> str:
    """A markdown table of cells already formatted as text.

    Examples
    --------
    >>> print(md_rows(["table", "quality"], [["diamonds", "0.934"]]))
    | table | quality |
    |---|---|
    | diamonds | 0.934 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_lines(path: Path | str, lines: Iterable[str]) -> Path:
    """Write ``lines`` (a markdown summary, say) to ``path``, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` without its index to ``path``, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
