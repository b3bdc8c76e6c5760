"""Fitted models of every kind, shared by the report and evaluation tests.

``fitted(kind, data)`` fits once per session: ``kind`` is ``"ae"`` or ``"vae"``, ``data``
``"array"`` (a numeric array), ``"frame"`` (a numeric DataFrame with odd column names)
or ``"mixed"`` (card transactions with categories, a boolean, gaps and a datetime).
Each comes with test rows, their labels and the same rows with a few bad values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.demos.datasets import make_transactions

COLUMNS = [f"sensor <{i}>" for i in range(12)]  # odd characters must be escaped
# latent sizes chosen to reach every branch of the latent map
LATENT = {("ae", "array"): 2, ("vae", "array"): 3, ("ae", "frame"): 1, ("vae", "frame"): 2}
# test rows given bad values (not scorable), by position; the tests assume these
BAD_ROWS = (3, 17)


@dataclass
class Case:
    """A fitted model, its test rows and labels, and the rows with bad values."""

    kind: str
    data: str
    model: Any
    X: Any
    y: np.ndarray
    X_bad: Any
    columns: list[str]


def _mixed() -> tuple[pd.DataFrame, np.ndarray]:
    frame, kind = make_transactions(600, seed=0)
    rng = np.random.default_rng(5)
    frame = frame.copy()
    for column in ("amount", "merchant_category", "timestamp"):
        frame.loc[rng.random(len(frame)) < 0.04, column] = None
    return frame, (kind != "normal").to_numpy(dtype=int)


def _build(kind: str, data: str, planted) -> Case:
    detector = {"ae": AutoEncoderDetector, "vae": VAEDetector}[kind]
    params: dict[str, Any] = {"max_epochs": 3, "random_state": 0}
    if data == "mixed":
        frame, y = _mixed()
        train, test, y_test = frame.iloc[:400], frame.iloc[400:].reset_index(drop=True), y[400:]
        params["schema"] = {"id_columns": ["transaction_id"]}
        params["threshold"] = "false_alarm_rate:0.1"
        X, bad = test, test.astype({"amount": object, "timestamp": object})
        bad.loc[BAD_ROWS[0], "amount"] = "abc"
        bad.loc[BAD_ROWS[1], "timestamp"] = "not a date"
        columns = [c for c in frame.columns if c != "transaction_id"]
    else:
        X_train, X_test, y_test = planted
        X_train, X_test, y_test = X_train[:600], X_test[:200], y_test[:200]
        params["latent_dim"] = LATENT[(kind, data)]
        if data == "array":
            train, X = X_train, X_test
            bad = X_test.copy()
            bad[BAD_ROWS[0], 2] = np.inf
            bad[BAD_ROWS[1], 5] = -np.inf
            columns = [f"x{i}" for i in range(12)]
        else:
            train = pd.DataFrame(X_train, columns=COLUMNS)
            X = pd.DataFrame(X_test, columns=COLUMNS)
            bad = X.astype({COLUMNS[2]: object})
            bad.loc[BAD_ROWS[0], COLUMNS[2]] = "n/a?"
            bad.loc[BAD_ROWS[1], COLUMNS[2]] = "twelve"
            columns = COLUMNS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: 3 epochs are few on purpose
        model = detector(**params).fit(train)
    return Case(kind, data, model, X, np.asarray(y_test), bad, columns)


@pytest.fixture(scope="session")
def fitted(planted):
    cache: dict[tuple[str, str], Case] = {}

    def get(kind: str, data: str) -> Case:
        if (kind, data) not in cache:
            cache[(kind, data)] = _build(kind, data, planted)
        return cache[(kind, data)]

    return get
