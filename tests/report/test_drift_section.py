"""The report's drift-over-time panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentwatch import AutoEncoderDetector, load_bytes, persistence
from latentwatch.report import build_report

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def model_and_rows():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1500, 3)), columns=list("abc"))
    model = AutoEncoderDetector(max_epochs=3, random_state=0).fit(frame)
    rows = pd.DataFrame(rng.normal(size=(240, 3)), columns=list("abc"))
    rows.loc[120:, "c"] += 3.0
    rows["when"] = pd.date_range("2024-05-01", periods=240, freq="30min")
    return model, rows


def test_a_time_column_adds_the_panel_with_the_drifting_periods(model_and_rows):
    model, rows = model_and_rows
    page = build_report(model, rows, time_column="when", every="1d")
    panel = page[page.index('<section id="drift">'):]
    assert '<a href="#drift">Drift over time</a>' in page
    assert "data:image/png;base64," in panel
    assert "3 of 5 tested periods drifted" in panel
    assert panel.count("<b>drift</b>") == 3 and "c (+" in panel


def test_a_model_without_a_drift_reference_gets_a_note(model_and_rows):
    model, rows = model_and_rows
    tensors, meta = model._file_contents()
    tensors = {k: v for k, v in tensors.items() if not k.startswith(persistence.DRIFT)}
    meta.pop("drift")
    old = load_bytes(persistence.file_bytes(tensors, meta))
    page = build_report(old, rows, time_column="when")
    assert "no drift reference" in page[page.index('<section id="drift">'):]
