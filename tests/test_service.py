"""The one scoring path (latentwatch.service.score_table): bad rows, ids, output columns."""

import numpy as np
import pandas as pd
import pytest

from latentwatch import AutoEncoderDetector, DataError, VAEDetector
from latentwatch.demos.datasets import make_transactions
from latentwatch.service import RESERVED, score_table

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted():
    frame, _ = make_transactions(400, seed=0)
    return VAEDetector(max_epochs=2, random_state=0).fit(frame), frame


def _with_bad_rows(frame):
    bad = frame.iloc[:8].copy()
    bad["amount"] = bad["amount"].astype(object)
    bad.loc[bad.index[2], "amount"] = "abc"
    bad["timestamp"] = bad["timestamp"].astype(object)
    bad.loc[bad.index[5], "timestamp"] = "not a date"
    return bad


def test_bad_rows_get_a_reason_and_the_others_their_scores(fitted):
    model, frame = fitted
    bad = _with_bad_rows(frame)
    scored = score_table(model, bad, id_columns=["transaction_id"], top_k=2)
    table = scored.table
    assert list(table.columns) == ["transaction_id", "score", "is_anomaly", "p_value", "top1",
                                   "top1_nats", "top2", "top2_nats", "reason"]
    assert list(table["transaction_id"]) == list(bad["transaction_id"])
    assert [p.position for p in scored.problems] == [2, 5]
    assert table.loc[2, "reason"] == "column 'amount': 'abc' is not a number"
    assert "timestamp" in table.loc[5, "reason"]
    good = np.setdiff1d(np.arange(8), [2, 5])
    assert table["score"].isna().to_numpy().tolist() == [i in (2, 5) for i in range(8)]
    assert table["is_anomaly"].isna().sum() == 2 and table["top1"].isna().sum() == 2
    np.testing.assert_array_equal(table["score"].to_numpy()[good],
                                  model.anomaly_score(bad.iloc[good]))
    np.testing.assert_array_equal(scored.scores, model.anomaly_score(bad.iloc[good]))
    np.testing.assert_array_equal(scored.parts, model.feature_scores(bad.iloc[good]))
    assert scored.good.sum() == 6
    # the estimator refuses them, naming the rows (counted from 1) and the columns
    with pytest.raises(DataError, match=r"2 rows cannot be used: row 3, column 'amount'"):
        model.anomaly_score(bad)
    with pytest.raises(DataError, match="row 6, column 'timestamp'"):
        model.explain(bad)


def test_columns_and_ids_are_checked(fitted):
    model, frame = fitted
    with pytest.raises(DataError, match="column 'amount' is missing; the model reads"):
        score_table(model, frame.drop(columns=["amount"]), source="data.csv")
    with pytest.raises(DataError, match=r"^data\.csv: id column 'nope' is not in the data"):
        score_table(model, frame, id_columns=["nope"], source="data.csv")
    for name in RESERVED:
        with pytest.raises(DataError, match="name of an output column"):
            score_table(model, frame.assign(**{name: 1}), id_columns=[name])
    # extra columns are ignored, and an empty table gives an empty result
    extra = score_table(model, frame.iloc[:5].assign(note="x"))
    np.testing.assert_array_equal(extra.table["score"], model.anomaly_score(frame.iloc[:5]))
    assert len(score_table(model, frame.iloc[:0]).table) == 0


def test_an_array_model_names_the_columns_it_reads():
    X = np.random.default_rng(0).normal(size=(120, 3))
    model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
    with pytest.raises(DataError, match="fitted on an unnamed array: it reads the columns x0"):
        score_table(model, pd.DataFrame(X, columns=list("abc")))
    scored = score_table(model, pd.DataFrame(X, columns=["x0", "x1", "x2"]), top_k=5)
    np.testing.assert_array_equal(scored.table["score"], model.anomaly_score(X))
    assert [c for c in scored.table.columns if c.startswith("top")] == [
        "top1", "top1_nats", "top2", "top2_nats", "top3", "top3_nats"]


def test_a_model_without_threshold_or_calibration_leaves_those_columns_empty():
    from latentwatch.thresholds import FalseAlarmRate

    X = np.random.default_rng(1).normal(size=(40, 3))  # too few rows for a validation split
    model = AutoEncoderDetector(threshold=FalseAlarmRate(0.1, calibration_fraction=0),
                                max_epochs=2, random_state=0).fit(X)
    table = score_table(model, pd.DataFrame(X, columns=["x0", "x1", "x2"])).table
    assert "p_value" not in table.columns
    assert table["is_anomaly"].isna().all() and table["score"].notna().all()


def test_top_k_is_checked(fitted):
    model, frame = fitted
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="top_k"):
            score_table(model, frame.iloc[:2], top_k=bad)
        with pytest.raises(ValueError, match="top_k"):
            model.explain(frame.iloc[:2], top_k=bad)
    assert [c for c in score_table(model, frame.iloc[:2], top_k=0).table.columns
            if c.startswith("top")] == []
    assert model.explain(frame.iloc[:2], top_k=0)[0].contributions == []
    many = model.explain(frame.iloc[:2], top_k=100)[0].contributions
    assert len(many) == model.codec_.n_blocks


# -- the series context ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def series_model():
    from series_data import planted_series

    frame, _ = planted_series(n=400, fault=(300, 310))
    frame = frame.drop(columns="label")
    model = AutoEncoderDetector(time_column="when", window=10, max_epochs=2,
                                random_state=0).fit(frame.iloc[:250])
    return model, frame


def test_context_rows_is_w_minus_1_for_a_series_and_none_for_a_table(fitted, series_model):
    from latentwatch.service import chunk_rows, context_rows

    assert context_rows(series_model[0]) == 9 and context_rows(fitted[0]) is None
    assert chunk_rows(fitted[0], 1000) == 1000 and 1 <= chunk_rows(series_model[0], 1000) <= 1000


def test_chunks_with_the_carried_context_score_the_whole_series(series_model):
    from latentwatch.service import score_chunks

    model, frame = series_model
    whole = score_table(model, frame)
    assert whole.series_start and len(whole.carry) == 9
    pd.testing.assert_frame_equal(whole.carry, frame.iloc[-9:][model.codec_.sources])
    for size in (1, 7, 9, 10, 123):
        pieces = [frame.iloc[i:i + size] for i in range(0, len(frame), size)]
        scored = list(score_chunks(model, pieces, top_k=2))
        # a chunk with fewer than 9 rows before it is (rightly) at the series start
        assert [s.series_start for s in scored] == [i < 9 for i in range(0, len(frame), size)]
        streamed = pd.concat([s.table for s in scored], ignore_index=True)
        np.testing.assert_allclose(streamed["score"], whole.table["score"], rtol=1e-9, atol=0)
        assert list(streamed["top1"]) == list(whole.table["top1"])
    # a piece alone is scored as the start of a series: its first rows differ
    alone = score_table(model, frame.iloc[200:260])
    assert alone.series_start
    assert not np.allclose(alone.table["score"].iloc[:9], whole.table["score"].iloc[200:209])


def test_context_beyond_w_minus_1_and_with_unusable_rows_gives_the_whole_series(series_model):
    from latentwatch.service import next_context

    model, frame = series_model
    bad = frame.copy()
    bad["a"] = bad["a"].astype(object)
    bad.loc[195, "a"] = "oops"  # unusable: skipped by every window
    whole = score_table(model, bad).table["score"].to_numpy()
    for before in (bad.iloc[:200], bad.iloc[190:200], bad.iloc[191:200]):
        scored = score_table(model, bad.iloc[200:], context=before)
        np.testing.assert_allclose(scored.table["score"], whole[200:], rtol=1e-9, atol=0)
    # the carried rows are the last 9 usable ones: row 195 is not among them
    carried = next_context(model, bad.iloc[:200])
    assert list(carried.index) == [190, 191, 192, 193, 194, 196, 197, 198, 199]
    assert not score_table(model, bad.iloc[200:], context=bad.iloc[:200]).series_start
    # fewer than W - 1 usable rows: the start of a series, as the whole file with them first
    short = score_table(model, bad.iloc[200:260], context=bad.iloc[196:200])
    assert short.series_start
    np.testing.assert_allclose(short.table["score"],
                               score_table(model, bad.iloc[196:260]).table["score"].iloc[4:],
                               rtol=1e-9, atol=0)


def test_a_table_model_refuses_context_and_context_needs_the_model_columns(fitted,
                                                                         series_model):
    from latentwatch.service import next_context

    model, frame = fitted
    with pytest.raises(DataError, match=r"^data\.csv: context rows are for a time-series "
                                        "model; this table model scores each row alone"):
        score_table(model, frame.iloc[5:10], context=frame.iloc[:5], source="data.csv")
    plain = score_table(model, frame.iloc[5:10], context=frame.iloc[:0])
    assert not plain.series_start and plain.carry is None
    assert next_context(model, frame) is None
    series, rows = series_model
    with pytest.raises(DataError, match=r"^data\.csv: context: column 'b' is missing"):
        score_table(series, rows.iloc[20:], context=rows.iloc[:20].drop(columns="b"),
                    source="data.csv")
