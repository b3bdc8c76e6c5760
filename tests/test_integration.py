"""The parts built separately working together: a table model with a conformal threshold,
generation in the table's schema, explanations and a save/load round trip."""

import numpy as np
import pandas as pd
import pytest

import latentwatch
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.datasets import make_transactions


@pytest.fixture(scope="module")
def table():
    frame, _ = make_transactions(n_rows=1500, seed=0)
    return frame.drop(columns=["transaction_id"])


@pytest.mark.parametrize("cls", [VAEDetector, AutoEncoderDetector])
def test_table_model_with_conformal_threshold_generates_and_round_trips(cls, table, tmp_path):
    model = cls(threshold="false_alarm_rate:0.1", max_epochs=5, random_state=0).fit(table)
    p = model.p_values(table.iloc[:100])
    assert ((p > 0) & (p <= 1)).all()
    np.testing.assert_array_equal(model.predict(table.iloc[:100]) == -1, p <= 0.1)

    generated = model.sample(20, random_state=0, source="aggregate_posterior")
    assert isinstance(generated, pd.DataFrame) and len(generated) == 20
    categories = set(table["merchant_category"]) | {"(other)"}
    assert set(generated["merchant_category"]) <= categories

    loaded = latentwatch.load(model.save(tmp_path / "table.lwm"))
    np.testing.assert_array_equal(loaded.anomaly_score(table), model.anomaly_score(table))
    np.testing.assert_array_equal(loaded.p_values(table), model.p_values(table))
    pd.testing.assert_frame_equal(loaded.sample(5, random_state=3), model.sample(5, random_state=3))
    assert loaded.explain(table.iloc[:2], top_k=2)[0].contributions
