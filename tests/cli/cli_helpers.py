"""Helpers of the command-line tests: run the app in this process, check the one-line
error contract, name and build the test data. (A module of its own, not conftest.py: test
modules import it by a name no other test folder uses.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from latentwatch.cli import app

runner = CliRunner()

# The kinds of data of the contract tests (conftest.py fits an AE and a VAE on each): their
# id columns, what fit needs beyond ids and labels to read them, and which of them give
# window models (they score and encode, but decode no rows).
IDS = {"mixed": ["transaction_id"], "numeric": ["rid"], "series": ["sensor"]}
FIT_ARGS = {"mixed": [], "numeric": [], "series": ["--time-column", "when"]}
WINDOWED = {"series"}
MODELS = [f"{kind}-{table}" for table in IDS for kind in ("ae", "vae")]
DECODERS = [name for name in MODELS if name.split("-")[1] not in WINDOWED]


def invoke(*args, **kwargs):
    """Run ``latentwatch ARGS`` in this process."""
    return runner.invoke(app, [str(a) for a in args], **kwargs)


def ok(result):
    """Assert a run succeeded; return it."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr,
                                   result.exception)
    return result


def assert_one_line_error(result, *fragments, code: int = 1):
    """The one-line error contract: status 1, nothing on stdout, one ``error:`` line."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def mixed_table(n_rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Card transactions with gaps blanked into a text, a numeric and the datetime column,
    and a 0/1 ``label`` column."""
    from latentwatch.demos.datasets import make_transactions

    frame, kinds = make_transactions(n_rows, seed=seed)
    rng = np.random.default_rng(seed)
    for column in ("merchant_category", "amount", "timestamp"):
        frame.loc[rng.choice(n_rows, n_rows // 40, replace=False), column] = None
    frame["label"] = (kinds != "normal").astype(int).to_numpy()
    return frame


def numeric_table(n_rows: int = 500, seed: int = 0) -> pd.DataFrame:
    """An id column, six correlated numbers (one with gaps) and a 0/1 ``label`` column."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n_rows, 3)) @ rng.normal(size=(3, 6))
    values += 0.1 * rng.normal(size=values.shape)
    labels = np.zeros(n_rows, dtype=int)
    labels[rng.choice(n_rows, 20, replace=False)] = 1
    values[labels == 1] += rng.normal(0, 4, size=(20, 6))
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(6)])
    frame.loc[rng.choice(n_rows, 12, replace=False), "f2"] = np.nan
    frame.insert(0, "rid", [f"r{i:04d}" for i in range(n_rows)])
    frame["label"] = labels
    return frame


def series_table(n_rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A sensor's two coupled channels a minute apart (period 12 steps) with a planted fault,
    a ``when`` time column, a ``sensor`` id column and a 0/1 ``label`` column."""
    from series_data import planted_series

    frame, _ = planted_series(n=n_rows, period=12, fault=(330, 345), seed=seed)
    frame.insert(1, "sensor", "P1")
    return frame
