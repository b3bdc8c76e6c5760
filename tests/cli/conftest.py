"""Shared data and models of the command-line tests: each model is fitted once a session.

Three kinds of data: a mixed table (card transactions with text, categories, a boolean, a
datetime column, integers, gaps and an id column), a numeric CSV (an id column, six
numbers, one with gaps, and labels) and a time series (a time column, a sensor id, two
channels with a planted fault, labels; its models score windows). An AE and a VAE are
fitted on each from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import (
    DECODERS,
    FIT_ARGS,
    IDS,
    MODELS,
    invoke,
    mixed_table,
    numeric_table,
    ok,
    series_table,
)

import latentwatch


@dataclass
class Fitted:
    """A model fitted from the command line on one of the tables."""

    name: str
    kind: str  # "ae" or "vae"
    table: str  # "mixed", "numeric" or "series"
    model: Path
    data: Path
    frame: pd.DataFrame  # the data as pandas reads it
    ids: list[str]

    def load(self):
        return latentwatch.load(self.model)

    @property
    def inputs(self) -> pd.DataFrame:
        return self.frame.drop(columns=[*self.ids, "label"])


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """A folder with mixed.csv, mixed.parquet, numeric.csv and series.csv."""
    folder = tmp_path_factory.mktemp("cli")
    mixed = mixed_table()
    mixed.to_csv(folder / "mixed.csv", index=False)
    mixed.to_parquet(folder / "mixed.parquet")
    numeric_table().to_csv(folder / "numeric.csv", index=False)
    series_table().to_csv(folder / "series.csv", index=False)
    return folder




@pytest.fixture(scope="session")
def fitted(workspace) -> dict[str, Fitted]:
    """The six models: AE and VAE on each kind of data, fitted with ``latentwatch fit``."""
    out = {}
    for name in MODELS:
        kind, table = name.split("-")
        data = workspace / f"{table}.csv"
        model = workspace / f"{name}.lwm"
        ok(invoke("fit", data, "--model", kind, "-i", IDS[table][0], "-x", "label",
                  "--epochs", 3, "--seed", 0, "-q", "-o", model, *FIT_ARGS[table]))
        out[name] = Fitted(name, kind, table, model, data, pd.read_csv(data), IDS[table])
    return out


@pytest.fixture(params=MODELS)
def each(request, fitted) -> Fitted:
    """Each of the six fitted models in turn."""
    return fitted[request.param]


@pytest.fixture(params=DECODERS)
def decoder(request, fitted) -> Fitted:
    """Each fitted model that decodes rows (not the window models) in turn."""
    return fitted[request.param]
