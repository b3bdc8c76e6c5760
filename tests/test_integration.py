"""The parts working together on a mixed table: planted anomalies found, a conformal
threshold, generation in the table's schema that the model scores again, explanations and
a save/load round trip."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import latentwatch
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.demos.datasets import make_transactions
from latentwatch.service import score_table

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def tables():
    train, _ = make_transactions(n_rows=1500, anomaly_fraction=0.0, seed=0)
    test, labels = make_transactions(n_rows=600, anomaly_fraction=0.1, seed=1)
    return train.drop(columns=["transaction_id"]), test.drop(columns=["transaction_id"]), labels


@pytest.mark.parametrize("cls", [VAEDetector, AutoEncoderDetector])
def test_table_model_with_conformal_threshold_generates_and_round_trips(cls, tables, tmp_path):
    train, test, labels = tables
    model = cls(threshold="false_alarm_rate:0.1", max_epochs=10, random_state=0).fit(train)
    y = (labels != "normal").to_numpy(dtype=int)
    assert roc_auc_score(y, model.anomaly_score(test)) > 0.8

    p = model.p_values(test.iloc[:100])
    assert ((p > 0) & (p <= 1)).all()
    np.testing.assert_array_equal(model.predict(test.iloc[:100]) == -1, p <= 0.1)

    generated = model.sample(40, random_state=0, source="aggregate_posterior")
    assert isinstance(generated, pd.DataFrame) and len(generated) == 40
    assert list(generated.columns) == list(model.codec_.sources)
    for column in ("merchant_category", "country", "currency", "customer_id"):
        assert set(generated[column].dropna()) <= set(train[column].dropna()), column
    assert pd.api.types.is_datetime64_any_dtype(generated["timestamp"])
    again = score_table(model, generated)
    assert not again.problems and np.isfinite(again.scores).all()
    # generated rows are mostly normal to the model itself
    assert np.mean(again.table["is_anomaly"].to_numpy(dtype=bool)) < 0.5

    loaded = latentwatch.load(model.save(tmp_path / "table.lwm"))
    np.testing.assert_array_equal(loaded.anomaly_score(test), model.anomaly_score(test))
    np.testing.assert_array_equal(loaded.p_values(test), model.p_values(test))
    pd.testing.assert_frame_equal(loaded.sample(5, random_state=3), model.sample(5, random_state=3))
    assert loaded.explain(test.iloc[:2], top_k=2)[0].contributions
