"""Helpers of the hostile-input suite: run the command line, check the contract of every
case, and tally the outcomes (printed at the end of the run, for the issue's counts).

Every case ends in one of two ways, each checked in full:

* a clear error (:func:`refused`): exit status 1 (or click's 2 for a bad option), nothing
  on stdout, ONE ``error:`` line on stderr naming what it must (file, column, row), no
  traceback;
* a correct result (:func:`scored`): exit status 0, one output row per input row, the
  ids intact and in order, every score finite.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from latentwatch.cli import app

TALLY: Counter = Counter()
runner = CliRunner()


def invoke(*args, **kwargs):
    """Run ``latentwatch ARGS`` in this process."""
    return runner.invoke(app, [str(a) for a in args], **kwargs)


def run_module(*args, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m latentwatch ARGS`` in a new process."""
    return subprocess.run([sys.executable, "-m", "latentwatch", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))


def refused(result, *fragments: str, code: int = 1) -> str:
    """The clear-error contract; returns the error line."""
    TALLY["cases"] += 1
    no_traceback(result)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    TALLY["clear errors"] += 1
    return errors[0]


def scored(result, ids: list[str], id_column: str = "id", *, bad_rows: int = 0
           ) -> pd.DataFrame:
    """The correct-result contract of ``score`` (CSV on stdout): one output row per input
    row, ids intact and in order, finite scores (``bad_rows`` rows with an empty score
    and a reason, with --keep-bad-rows)."""
    TALLY["cases"] += 1
    no_traceback(result)
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    out = pd.read_csv(io.StringIO(result.stdout), dtype={id_column: str},
                      keep_default_na=False, na_values=[""])
    assert len(out) == len(ids), (len(out), len(ids))
    assert out[id_column].fillna("").tolist() == list(ids)
    scores = out["score"].to_numpy(dtype=float)
    empty = np.isnan(scores)
    assert int(empty.sum()) == bad_rows, out.loc[empty]
    assert np.isfinite(scores[~empty]).all(), out
    if bad_rows:
        assert out.loc[empty, "reason"].notna().all()
    TALLY["correct results"] += 1
    return out


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """An id column, two correlated numbers, a category with a gap and a country code
    column holding Namibia's ``NA``."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    frame = pd.DataFrame({
        "id": [f"t{i:04d}" for i in range(n)],
        "amount": np.round(a * 10 + 50, 2),
        "ratio": np.round(a + 0.3 * rng.normal(size=n), 3),
        "shop": rng.choice(["grocery", "fuel", "travel"], size=n),
        "country": rng.choice(["NA", "DE", "FR", "ZA"], size=n),
    })
    frame.loc[5, "shop"] = None
    return frame
