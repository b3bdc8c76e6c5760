"""Fixtures of the hostile-input suite: one small table model and one unnamed-array
model, fitted once a session; the outcome tally is printed at the end."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_helpers import TALLY, invoke, table

import latentwatch


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="session")
def model(hostile_dir):
    """A VAE fitted with ``latentwatch fit`` on :func:`table` (id column ``id``)."""
    path = hostile_dir / "train.csv"
    table().to_csv(path, index=False)
    target = hostile_dir / "model.lwm"
    result = invoke("fit", path, "-i", "id", "-o", target, "--epochs", 3, "-q")
    assert result.exit_code == 0, result.stderr
    return target


@pytest.fixture(scope="session")
def array_model(hostile_dir):
    """A VAE fitted in Python on an unnamed array of 3 features."""
    X = np.random.default_rng(0).normal(size=(200, 3))
    return latentwatch.VAEDetector(max_epochs=2, random_state=0).fit(X).save(
        hostile_dir / "array.lwm")


def pytest_terminal_summary(terminalreporter):
    if TALLY["cases"]:
        terminalreporter.write_line(
            "hostile cases: " + ", ".join(f"{k} {v}" for k, v in sorted(TALLY.items())))
