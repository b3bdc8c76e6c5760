"""score_spark (mapInPandas) against the one-process route, on a local Spark session."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from latentwatch.distributed import score_spark
from latentwatch.service import score_table


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from latentwatch import AutoEncoderDetector
    from latentwatch.demos.datasets import make_transactions

    frame, _ = make_transactions(1500, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoEncoderDetector(schema={"id_columns": ["transaction_id"],
                                            "exclude": ["customer_id"]},
                                    max_epochs=2, random_state=0).fit(frame.iloc[:1000])
    folder = tmp_path_factory.mktemp("spark")
    data = folder / "data.parquet"
    frame.to_parquet(data, row_group_size=200, index=False)
    return model, model.save(folder / "model.lwm"), data


def test_spark_scores_equal_one_process_bit_for_bit(spark, fitted):
    model, path, data = fitted
    spark_df = spark.read.parquet(str(data)).repartition(1).sortWithinPartitions(
        "transaction_id")
    scored = score_spark(path, spark_df, top_k=2)
    assert scored.schema["score"].dataType.typeName() == "double"
    assert scored.schema["is_anomaly"].dataType.typeName() == "boolean"
    got = scored.toPandas()
    frame = pd.read_parquet(data).sort_values("transaction_id", ignore_index=True)
    expected = score_table(model, frame, top_k=2, id_columns=["transaction_id"]).table
    assert list(got.columns) == [c for c in expected.columns if c != "reason"]
    assert got["transaction_id"].tolist() == frame["transaction_id"].tolist()
    for column in ("score", "p_value", "top1_nats", "top2_nats"):
        assert np.array_equal(got[column].to_numpy().view(np.int64),
                              expected[column].to_numpy().view(np.int64)), column
    assert got["top1"].tolist() == expected["top1"].tolist()
    assert got["is_anomaly"].tolist() == expected["is_anomaly"].astype(bool).tolist()


def test_spark_partitions_keep_every_row(spark, fitted):
    model, _, data = fitted
    spark_df = spark.read.parquet(str(data)).repartition(3)
    got = score_spark(model.save(data.parent / "again.lwm").read_bytes(), spark_df,
                      keep_input=True).toPandas()
    frame = pd.read_parquet(data)
    assert sorted(got["transaction_id"]) == sorted(frame["transaction_id"])
    by_id = got.set_index("transaction_id")["score"]
    expected = pd.Series(model.anomaly_score(frame), index=frame["transaction_id"])
    assert np.array_equal(by_id.loc[expected.index].to_numpy(), expected.to_numpy())


def test_spark_bad_rows_fail_or_are_kept(spark, fitted):
    _, path, data = fitted
    frame = pd.read_parquet(data).iloc[:300]
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[41, "amount"] = "abc"
    bad = data.parent / "bad.parquet"
    frame.to_parquet(bad, index=False)
    spark_df = spark.read.parquet(str(bad)).repartition(1)
    with pytest.raises(Exception, match=r"spark partition 0: 1 row cannot be used: row \d+, "
                                        r"column 'amount': 'abc' is not a number"):
        score_spark(path, spark_df).collect()
    kept = score_spark(path, spark_df, keep_bad_rows=True).toPandas()
    assert len(kept) == 300 and kept["reason"].notna().sum() == 1
    bad_id = kept.loc[kept["reason"].notna(), "transaction_id"].item()
    assert bad_id == frame.loc[41, "transaction_id"]
