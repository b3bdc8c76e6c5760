"""The table codec: encoding tables to packed rows, the ONE decode back to valid rows, and
the rule that picks how a table is read."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentwatch.data import codec_for, codec_from_dict
from latentwatch.data.codec import (
    RARE_LABEL,
    UNSEEN_GAP,
    TableCodec,
    derive_feature,
    fit_codec,
    resolve_schema,
)
from latentwatch.data.schema import TableSchema, infer_schema
from latentwatch.demos.datasets import make_transactions
from latentwatch.errors import DataError


def targets_of(codec, encoded):
    """The model-space values (targets) of encoded rows, ``(n, n_blocks)``."""
    return encoded.packed[:, codec.input_width:codec.input_width + codec.n_blocks]


def observed_of(codec, encoded):
    return encoded.packed[:, codec.input_width + codec.n_blocks:].astype(bool)


# -- encoding ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def codec(mixed):
    schema = infer_schema(mixed, id_columns=["id"], exclude=["typo"])
    return fit_codec(mixed, schema)


def test_encode_then_block_frame_gives_back_the_table(mixed, codec):
    encoded = codec.encode(mixed)
    assert not encoded.problems
    back = codec.block_frame(targets_of(codec, encoded))
    assert list(back.columns) == codec.names
    np.testing.assert_allclose(back["amount"], mixed["amount"], rtol=1e-12)
    assert back["count"].dtype == "Int64" and (back["count"] == mixed["count"]).all()
    assert (back["hour"] == mixed["hour"]).all()
    assert (back["shop"] == mixed["shop"]).all()
    assert (back["online"] == mixed["online"]).all()
    assert (back["yes_no"] == mixed["yes_no"]).all()
    assert (back["zero_one"] == mixed["zero_one"]).all()
    assert (back["when.hour"] == mixed["when"].dt.hour).all()
    assert list(back["day.weekday"]) == list(mixed["day"].dt.day_name().str[:3])


def test_the_codec_describes_its_blocks_and_widths(codec):
    kinds = {b.name: b.kind for b in codec.blocks}
    assert kinds["amount"] == "numeric" and codec.blocks[codec.names.index("amount")].log
    assert kinds["shop"] == kinds["when.hour"] == kinds["day.weekday"] == "categorical"
    assert kinds["online"] == kinds["yes_no"] == kinds["zero_one"] == "boolean"
    assert codec.sources == ["amount", "count", "hour", "shop", "online", "yes_no", "zero_one",
                             "when", "day", "iso"]
    shape = codec.shape
    assert shape.n_blocks == codec.n_blocks == len(codec.names)
    assert shape.n_outputs == len(codec.numeric) == 2
    assert shape.n_inputs == codec.input_width
    assert codec.packed_width == codec.input_width + 2 * codec.n_blocks
    assert codec.encode(pd.DataFrame(columns=codec.sources)).packed.shape == (
        0, codec.packed_width)


def test_rare_and_unseen_categories_share_the_rare_bucket(mixed):
    frame = mixed[["shop"]].copy()
    frame.loc[:2, "shop"] = "rare"
    codec = fit_codec(frame, infer_schema(frame, min_category_count=5))
    block = codec.blocks[0]
    assert block.categories == ["a", "b", "c", "d"]
    assert block.rare_labels == ["rare"] and block.rare_counts == [3]
    encoded = codec.encode(pd.DataFrame({"shop": ["a", "zzz", None, "rare"]}))
    # a gap in a column never missing in training cannot be scored
    assert [(p.position, p.message) for p in encoded.problems] == [(2, UNSEEN_GAP)]
    targets = encoded.packed[:, codec.input_width]
    assert list(targets) == [0, 4, 0, 4]
    assert list(encoded.unseen[:, 0]) == [False, True, False, True]
    back = codec.block_frame(targets[:, None], missing=np.array([[0], [0], [1], [0]], bool))
    assert list(back["shop"].fillna("-")) == ["a", "rare", "-", "rare"]


def test_numbers_and_labels_match_across_types(codec):
    frame = pd.DataFrame({
        "amount": ["12.5", 7], "count": [3.0, 7], "hour": ["3", 4.0], "shop": ["a", "b"],
        "online": ["TRUE", "f"], "yes_no": ["no", "Yes"], "zero_one": [1.0, "0"],
        "when": ["2024-05-01T03:00:00", "2024-05-02 14:30"],
        "day": ["2024-05-01", pd.Timestamp("2024-05-03")],
        "iso": ["2024-05-01 03:00", "2024-05-01 04:00"],
    })
    encoded = codec.encode(frame)
    assert not encoded.problems, encoded.problems
    targets = codec.block_frame(targets_of(codec, encoded))
    assert list(targets["hour"]) == [3, 4]
    assert list(targets["online"]) == [True, False]
    assert list(targets["zero_one"]) == [1, 0]
    assert list(targets["when.hour"]) == [3, 14]
    assert not encoded.unseen.any()


def test_bad_values_are_listed_with_row_and_column(codec, mixed):
    frame = mixed.drop(columns=["id"]).head(6).copy()
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[1, "amount"] = "abc"
    frame.loc[3, "amount"] = -5.0
    frame["online"] = frame["online"].astype(object)
    frame.loc[4, "online"] = "maybe"
    frame["when"] = frame["when"].astype(object)
    frame.loc[5, "when"] = "yesterday"
    encoded = codec.encode(frame)
    described = [p.describe() for p in encoded.problems]
    assert described == [
        "row 2, column 'amount': 'abc' is not a number",
        "row 4, column 'amount': -5.0 is not above -1 (the column is on a log scale)",
        "row 5, column 'online': 'maybe' is not a boolean (true/false, yes/no, 1/0)",
        "row 6, column 'when': 'yesterday' is not a date/time (expected ISO 8601, e.g. "
        "2024-01-31 06:00)",
    ]
    assert list(encoded.bad) == [False, True, False, True, True, True]
    assert not encoded.packed[encoded.bad].any()
    assert len(encoded.good) == 2
    with pytest.raises(DataError, match=r"^data\.csv: 4 rows cannot be used: row 2, column"):
        encoded.raise_for_problems("data.csv")
    with pytest.raises(DataError, match="column 'shop' is missing"):
        codec.encode(frame.drop(columns=["shop"]))


@settings(derandomize=True, deadline=None, max_examples=30)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers(-3, 30),
                                 st.floats(allow_nan=True, allow_infinity=True),
                                 st.booleans()), min_size=1, max_size=12))
def test_any_values_encode_to_finite_rows_or_named_problems(codec, mixed, values):
    """Whatever lands in any column, encoding neither crashes nor lets a non-finite through."""
    frame = mixed.drop(columns=["id"]).head(len(values)).reset_index(drop=True)
    for column in codec.sources:
        bad = frame.copy()
        bad[column] = pd.Series(values, dtype=object)
        encoded = codec.encode(bad)
        assert np.isfinite(encoded.packed).all()
        assert len(encoded.problems) == int(encoded.bad.sum())
        assert all(p.column == column for p in encoded.problems)


def test_codec_json_round_trip_is_exact(codec):
    again = codec_from_dict(json.loads(json.dumps(codec.to_dict())))
    assert again == codec and again is not codec
    assert [b.mean for b in again.blocks] == [b.mean for b in codec.blocks]
    assert again.dates == codec.dates and again.shape == codec.shape
    with pytest.raises(ValueError, match="unknown data kind 'windows'"):
        codec_from_dict({**codec.to_dict(), "kind": "windows"})


def test_the_transactions_table_is_read_as_documented():
    train, _ = make_transactions(300, seed=0)
    codec = fit_codec(train, {"exclude": ["customer_id"], "id_columns": ["transaction_id"]})
    assert codec.sources == ["timestamp", "merchant_category", "country", "currency",
                             "amount", "is_online", "entry_mode", "customer_age"]
    assert codec.names[:2] == ["timestamp.hour", "timestamp.weekday"]
    kinds = {b.name: (b.kind, b.missing) for b in codec.blocks}
    assert kinds["amount"] == ("numeric", False)
    assert codec.blocks[codec.names.index("amount")].log
    assert kinds["entry_mode"] == ("categorical", True)
    assert kinds["customer_age"] == ("numeric", True)
    assert codec.blocks[codec.names.index("customer_age")].integer
    assert kinds["is_online"] == ("boolean", False)
    assert list(codec.with_missing) == [codec.names.index("entry_mode"),
                                        codec.names.index("customer_age")]


def test_fitting_needs_the_schema_columns_and_something_to_model(mixed):
    schema = infer_schema(mixed[["amount", "shop"]])
    with pytest.raises(DataError, match="column 'shop' of the schema is not in the data"):
        fit_codec(mixed[["amount"]], schema, source="x.csv")
    with pytest.raises(DataError, match="no column left to model"):
        fit_codec(pd.DataFrame(index=range(3)))
    assert not TableCodec().is_fitted()
    assert repr(TableCodec("infer")) == "TableCodec(schema='infer')"


# -- resolve_schema: the one rule that picks how a table is read -------------------------
@pytest.fixture(scope="module")
def numbers():
    rng = np.random.default_rng(3)
    n = 200
    return pd.DataFrame({"x": rng.normal(size=n), "few": rng.integers(0, 4, size=n),
                         "skewed": rng.lognormal(0, 2, size=n)})


def test_an_all_numeric_frame_is_a_numeric_matrix(numbers):
    schema = resolve_schema(None, numbers)
    assert [(c.name, c.kind, c.log) for c in schema.columns] == [
        ("x", "numeric", False), ("few", "numeric", False), ("skewed", "numeric", False)]
    codec = codec_for(numbers).fit(numbers)
    assert [b.kind for b in codec.blocks] == ["numeric"] * 3
    assert codec.shape.n_logits == 0 and codec.shape.n_outputs == 3
    assert codec.blocks[1].integer and not codec.blocks[0].integer


def test_infer_infers_even_on_numbers_and_a_mixed_frame_is_inferred(numbers):
    inferred = {c.name: c for c in resolve_schema("infer", numbers).columns}
    assert inferred["few"].kind == "categorical" and inferred["skewed"].log
    mixed = numbers.assign(colour=np.where(numbers["x"] > 0, "red", "blue"))
    assert resolve_schema(None, mixed) == infer_schema(mixed)
    flags = numbers.assign(flag=numbers["x"] > 0)
    assert {c.name: c.kind for c in resolve_schema(None, flags).columns}["flag"] == "boolean"
    override = resolve_schema({"columns": {"few": "numeric"}}, numbers)
    assert {c.name: c.kind for c in override.columns}["few"] == "numeric"
    given_schema = TableSchema.from_dict(override.to_dict())
    assert resolve_schema(given_schema, numbers) is given_schema


def test_one_gap_keeps_the_numeric_matrix_with_a_masked_column(numbers):
    gappy = numbers.copy()
    gappy.iloc[3, 2] = np.nan
    assert resolve_schema(None, gappy) == resolve_schema(None, numbers)
    codec = fit_codec(gappy)
    assert [b.missing for b in codec.blocks] == [False, False, True]
    assert list(codec.with_missing) == [2]
    encoded = codec.encode(gappy)
    assert not encoded.problems and not observed_of(codec, encoded)[3, 2]
    nullable = numbers.astype({"few": "Int64"})
    nullable.loc[5, "few"] = pd.NA
    assert resolve_schema(None, nullable) == resolve_schema(None, numbers)


# -- decoding: numbers ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def measured():
    rng = np.random.default_rng(5)
    n = 300
    return pd.DataFrame({
        "price": np.round(rng.normal(50, 10, size=n), 2),
        "units": rng.integers(1, 400, size=n),
        "spend": np.round(rng.lognormal(2, 1.5, size=n), 1),
        "ratio": rng.random(n) / 7,
    })


def test_decoded_numbers_are_clipped_to_the_training_range(measured):
    codec = fit_codec(measured, "infer")
    assert codec.blocks[codec.names.index("spend")].log
    extreme = np.array([[-50.0] * 4, [50.0] * 4, [0.0] * 4, [1e300, -1e300, 1e300, -1e300]])
    out = codec.decode(extreme)
    assert list(out.columns) == codec.sources
    for name in measured:
        low, high = measured[name].min(), measured[name].max()
        assert out[name].iloc[0] == pytest.approx(low) and out[name].iloc[1] == pytest.approx(
            high)
        assert out[name].between(low, high).all()


def test_decoded_numbers_are_rounded_like_the_training_values(measured):
    codec = fit_codec(measured, "infer")
    values = np.random.default_rng(0).normal(size=(50, codec.n_blocks))
    out = codec.decode(values)
    assert out["units"].dtype == "Int64"
    assert out["price"].dtype == np.float64
    np.testing.assert_array_equal(out["price"], np.round(out["price"], 2))
    np.testing.assert_array_equal(out["spend"], np.round(out["spend"], 1))
    assert codec.blocks[codec.names.index("ratio")].decimals is None
    ratio = codec.blocks[3]
    np.testing.assert_array_equal(out["ratio"], np.clip(values[:, 3] * ratio.scale + ratio.mean,
                                                        ratio.low, ratio.high))
    price = codec.blocks[0]
    np.testing.assert_allclose(out["price"], np.clip(values[:, 0] * price.scale + price.mean,
                                                     price.low, price.high), atol=0.005)


def test_huge_whole_numbers_decode_as_floats_not_overflowed_integers():
    frame = pd.DataFrame({"debt": [1e19, 3e20, 2e19, 5e18], "n": [1, 2, 3, 2**40]})
    codec = fit_codec(frame)
    assert [b.integer for b in codec.blocks] == [False, True]
    out = codec.decode(np.array([[50.0, 50.0], [-50.0, -50.0]]))
    assert list(out["debt"]) == [3e20, 5e18]
    assert out["n"].dtype == "Int64" and list(out["n"]) == [2**40, 1]


def test_values_must_have_one_column_per_block(measured):
    codec = fit_codec(measured)
    with pytest.raises(ValueError, match=r"values must have shape \(n_rows, 4\)"):
        codec.decode(np.zeros((2, 5)))
    assert len(codec.decode(np.zeros(4))) == 1


def test_gaps_and_non_numbers_decode_as_missing(measured):
    codec = fit_codec(measured)
    values = np.zeros((3, 4))
    values[1, 1] = np.nan
    missing = np.zeros((3, 4), dtype=bool)
    missing[2, 0] = True
    out = codec.decode(values, missing)
    assert out.isna().to_numpy().tolist() == [[False] * 4, [False, True, False, False],
                                              [True, False, False, False]]
    assert out["units"].dtype == "Int64"
    empty = fit_codec(measured.assign(nothing=np.nan))
    assert empty.blocks[-1].low is None
    assert empty.decode(np.zeros((2, 5)))["nothing"].isna().all()


# -- decoding: categories -----------------------------------------------------------------
@pytest.fixture(scope="module")
def pooled():
    """Two kept labels and three pooled in the rare bucket (3, 2 and 1 times)."""
    frame = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 10 + ["x"] * 3 + ["y"] * 2 + ["z"]})
    return fit_codec(frame, infer_schema(frame, min_category_count=5))


def test_the_rare_bucket_decodes_to_its_most_frequent_pooled_value(pooled):
    block = pooled.blocks[0]
    assert block.categories == ["a", "b"] and block.rare_labels == ["x", "y", "z"]
    assert block.rare_counts == [3, 2, 1] and block.rare_values == 3
    out = pooled.decode(np.array([[0.0], [1.0], [2.0], [7.0], [-3.0]]))
    assert list(out["c"]) == ["a", "b", "x", "x", "a"]


def test_with_a_generator_the_rare_bucket_draws_pooled_values_by_frequency(pooled):
    out = pooled.decode(np.full((6000, 1), 2.0), rng=np.random.default_rng(0))["c"]
    assert RARE_LABEL not in set(out) and set(out) == {"x", "y", "z"}
    shares = out.value_counts(normalize=True)
    np.testing.assert_allclose(shares[["x", "y", "z"]], [3 / 6, 2 / 6, 1 / 6], atol=0.02)
    again = pooled.decode(np.full((6000, 1), 2.0), rng=np.random.default_rng(0))["c"]
    pd.testing.assert_series_equal(out, again)


def test_a_bucket_that_pooled_nothing_still_decodes_to_a_training_label():
    frame = pd.DataFrame({"c": ["b", "a", "b"] * 5})
    codec = fit_codec(frame)
    assert codec.blocks[0].rare_values == 0 and codec.blocks[0].rare_labels == []
    assert list(codec.decode(np.array([[2.0]]))["c"]) == ["a"]


def test_numeric_labels_decode_in_their_type():
    frame = pd.DataFrame({"code": [1, 2, 3] * 10, "size": [0.5, 1.5, 2.5] * 10})
    codec = fit_codec(frame, {"columns": {"code": "categorical", "size": "categorical"}})
    out = codec.decode(np.array([[0.0, 2.0], [2.0, 1.0]]))
    assert out["code"].dtype == "Int64" and list(out["code"]) == [1, 3]
    assert out["size"].dtype == "Float64" and list(out["size"]) == [2.5, 1.5]
    assert not codec.encode(out).problems


# -- decoding: booleans ---------------------------------------------------------------------
def test_booleans_decode_in_their_training_spelling():
    frame = pd.DataFrame({"b": [True, False] * 10, "text": ["Yes", "No"] * 10,
                          "flag": [1, 0] * 10, "tf": ["t", "f"] * 10})
    codec = fit_codec(frame)
    assert [b.kind for b in codec.blocks] == ["boolean"] * 4
    values = np.array([[1.0] * 4, [0.0] * 4, [0.7, 0.2, 5.0, -4.0]])
    missing = np.zeros((3, 4), dtype=bool)
    missing[2, 3] = True
    out = codec.decode(values, missing)
    assert out["b"].dtype == "boolean" and list(out["b"]) == [True, False, True]
    assert list(out["text"]) == ["Yes", "No", "No"]
    assert out["flag"].dtype == "Int64" and list(out["flag"]) == [1, 0, 1]
    assert list(out["tf"].iloc[:2]) == ["t", "f"] and pd.isna(out["tf"].iloc[2])
    encoded = codec.encode(out)
    assert [(p.position, p.column, p.message) for p in encoded.problems] == [
        (2, "tf", UNSEEN_GAP)]  # 'tf' never had a gap in training
    np.testing.assert_array_equal(targets_of(codec, encoded)[:2], values[:2])


# -- decoding: datetimes --------------------------------------------------------------------
@pytest.fixture(scope="module")
def stamps():
    rng = np.random.default_rng(7)
    n = 500
    ts = pd.Timestamp("2024-03-04") + pd.to_timedelta(rng.integers(0, 60 * 24 * 40, n), "min")
    return pd.DataFrame({"ts": ts, "x": rng.normal(size=n)})


@pytest.fixture(scope="module")
def dated(stamps):
    schema = {"columns": {"ts": {"kind": "datetime", "features": ["hour", "weekday",
                                                                  "month"]}}}
    return fit_codec(stamps, schema)


def random_codes(codec, n, rng):
    """Arbitrary model-space values: any category (the bucket too), flag or number."""
    values = np.empty((n, codec.n_blocks))
    for j, block in enumerate(codec.blocks):
        if block.kind == "categorical":
            values[:, j] = rng.integers(0, len(block.categories) + 1, size=n)
        elif block.kind == "boolean":
            values[:, j] = rng.integers(0, 2, size=n)
        else:
            values[:, j] = rng.normal(0, 3, size=n)
    return values


def test_datetimes_decode_to_timestamps_with_the_decoded_features(dated, stamps):
    assert dated.names == ["ts.hour", "ts.weekday", "ts.month", "x"]
    values = random_codes(dated, 300, np.random.default_rng(1))
    features = dated.block_frame(values)
    out = dated.decode(values)
    assert list(out.columns) == ["ts", "x"]
    assert pd.api.types.is_datetime64_dtype(out["ts"]) and out["ts"].notna().all()
    for feature in ("hour", "weekday", "month"):
        derived = derive_feature(out["ts"], feature)
        assert list(derived) == list(features[f"ts.{feature}"]), feature
    assert out["ts"].between(stamps["ts"].min().normalize(),
                             stamps["ts"].max().normalize() + pd.Timedelta(days=1)).all()
    assert (out["ts"].dt.minute == 0).all() and (out["ts"].dt.second == 0).all()
    again = dated.encode(out)
    assert not again.problems
    pd.testing.assert_frame_equal(dated.block_frame(targets_of(dated, again)).iloc[:, :3],
                                  features.iloc[:, :3])


def test_with_a_generator_dates_and_minutes_are_drawn(dated):
    hour, weekday, month = dated.blocks[:3]
    code = [hour.categories.index(10), weekday.categories.index("Wed"),
            month.categories.index(3), 0.0]
    values = np.tile(code, (200, 1)).astype(float)
    fixed = dated.decode(values)["ts"]
    assert fixed.nunique() == 1 and fixed.iloc[0] == pd.Timestamp("2024-03-20 10:00")
    drawn = dated.decode(values, rng=np.random.default_rng(3))["ts"]
    assert drawn.dt.minute.nunique() > 30 and drawn.dt.second.nunique() > 30
    assert set(drawn.dt.normalize()) == set(pd.date_range("2024-03-06", "2024-03-27",
                                                          freq="7D"))
    assert list(derive_feature(drawn, "hour").unique()) == [10]
    pd.testing.assert_series_equal(drawn, dated.decode(values, rng=np.random.default_rng(3))[
        "ts"])


def test_a_weekday_and_month_outside_the_training_period_widen_the_search():
    """Training from Saturday 30 March to Tuesday 2 April 2024: no April Saturday in it."""
    ts = pd.Series(pd.date_range("2024-03-30", "2024-04-02 23:00", freq="h"))
    schema = TableSchema.from_dict({"columns": {"ts": {"kind": "datetime",
                                                       "features": ["weekday", "month"]}},
                                    "min_category_count": 1})
    codec = fit_codec(pd.DataFrame({"ts": ts}), schema)
    weekday, month = codec.blocks
    assert weekday.categories == ["Mon", "Tue", "Sat", "Sun"] and month.categories == [3, 4]
    out = codec.decode(np.array([[2.0, 1.0], [0.0, 1.0]]), rng=np.random.default_rng(0))["ts"]
    assert list(out.dt.day_of_week) == [5, 0] and list(out.dt.month) == [4, 4]
    assert out.iloc[1] in pd.date_range("2024-04-01", "2024-04-02", freq="D")
    assert abs((out.iloc[0] - pd.Timestamp("2024-04-01")).days) <= 366 + 3
    assert (out.dt.hour == 0).all() and (out.dt.minute == 0).all(), "no hour feature: midnight"


def test_time_zone_aware_timestamps_decode_as_utc(stamps):
    aware = stamps.assign(ts=stamps["ts"].dt.tz_localize("UTC"))
    codec = fit_codec(aware)
    assert codec.dates[0].utc
    values = random_codes(codec, 50, np.random.default_rng(4))
    out = codec.decode(values, rng=np.random.default_rng(0))
    assert str(out["ts"].dt.tz) == "UTC"
    assert list(out["ts"].dt.hour) == list(codec.block_frame(values)["ts.hour"])
    assert not codec.encode(out).problems


def test_a_datetime_is_missing_when_any_of_its_features_is(dated):
    values = random_codes(dated, 3, np.random.default_rng(5))
    missing = np.zeros((3, 4), dtype=bool)
    missing[1, 1] = missing[2, 3] = True
    out = dated.decode(values, missing)
    assert list(out["ts"].isna()) == [False, True, False]
    assert list(out["x"].isna()) == [False, False, True]


def test_decoded_rows_written_as_csv_read_back_whatever_the_format():
    """``score`` reads the CSV that ``sample`` wrote, even for day-first or epoch columns."""
    rng = np.random.default_rng(6)
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**5, 200), "min")
    frame = pd.DataFrame({"paid": when.strftime("%d/%m/%Y %H:%M"),
                          "created_at": (when - pd.Timestamp("1970-01-01")).total_seconds()
                          .astype(np.int64)})
    codec = fit_codec(frame)
    assert [c.format for c in codec.schema_.columns] == ["%d/%m/%Y %H:%M", "epoch_s"]
    values = random_codes(codec, 40, rng)
    out = codec.decode(values, rng=rng)
    text = io.StringIO()
    out.to_csv(text, index=False)
    back = pd.read_csv(io.StringIO(text.getvalue()))
    encoded = codec.encode(back)
    assert not encoded.problems
    pd.testing.assert_frame_equal(codec.block_frame(targets_of(codec, encoded)),
                                  codec.block_frame(values))


# -- every decoded row is valid data: a property over random tables -------------------------
def random_table(seed: int, n: int, gap_share: float, boolean_text: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.array(["north", "south", "east", "west", "rare-1", "rare-2", "rare-3"])
    weights = np.array([30, 25, 20, 15, 4, 3, 3], dtype=float)
    stamp = pd.Timestamp("2023-05-01") + pd.to_timedelta(rng.integers(0, 60 * 24 * 20, n),
                                                         "min")
    flags = rng.random(n) < 0.4
    frame = pd.DataFrame({
        "reading": np.round(rng.normal(rng.uniform(-100, 100), rng.uniform(0.1, 50), n),
                            int(rng.integers(0, 4))),
        "count": rng.integers(-50, 5000, size=n),
        "amount": np.round(rng.lognormal(1, 2, size=n), 2),
        "region": rng.choice(labels, size=n, p=weights / weights.sum()),
        "flag": np.where(flags, "yes", "no") if boolean_text else flags,
        "level": rng.normal(size=n),
        "seen": stamp,
    })
    gaps = rng.random(n) < gap_share
    frame.loc[gaps, "level"] = np.nan
    frame.loc[rng.random(n) < gap_share, "region"] = None
    frame.loc[rng.random(n) < gap_share / 2, "seen"] = pd.NaT
    return frame


def assert_valid(decoded: pd.DataFrame, train: pd.DataFrame, codec, asked: np.ndarray):
    """Every decoded value is one the training schema allows; gaps only where asked."""
    assert list(decoded.columns) == codec.sources
    for name in codec.sources:
        blocks = [j for j, b in enumerate(codec.blocks) if b.source == name]
        column, present = decoded[name], train[name].dropna()
        assert list(column.isna()) == list(asked[:, blocks].any(axis=1)), name
        values = column.dropna()
        kind = codec.blocks[blocks[0]].kind
        if name == "seen":
            assert pd.api.types.is_datetime64_dtype(column)
            assert values.between(present.min() - pd.Timedelta(days=3 * 366 + 1),
                                  present.max() + pd.Timedelta(days=3 * 366 + 1)).all()
            for feature in ("hour", "weekday"):
                assert set(derive_feature(values, feature)) <= set(
                    derive_feature(present, feature)), feature
        elif kind == "numeric":
            numbers = values.to_numpy(dtype=np.float64)
            assert np.isfinite(numbers).all()
            assert (numbers >= present.min()).all() and (numbers <= present.max()).all(), name
            if np.all(np.mod(present, 1) == 0):
                assert column.dtype == "Int64", name
            decimals = codec.blocks[blocks[0]].decimals
            if decimals is not None:
                trained = present.to_numpy(np.float64)
                assert np.allclose(np.round(trained, decimals), trained)
                np.testing.assert_array_equal(numbers, np.round(numbers, decimals))
        else:
            assert set(values) <= set(present), name
            assert RARE_LABEL not in set(values)


@settings(derandomize=True, deadline=None, max_examples=20)
@given(seed=st.integers(0, 2**16), n=st.integers(30, 80), gap_share=st.sampled_from(
    [0.0, 0.1, 0.3]), boolean_text=st.booleans(), min_count=st.integers(1, 6),
    extreme=st.floats(-50, 50), data=st.data())
def test_every_decoded_row_is_valid_for_the_training_schema(
        seed, n, gap_share, boolean_text, min_count, extreme, data):
    train = random_table(seed, n, gap_share, boolean_text)
    codec = fit_codec(train, infer_schema(train, min_category_count=min_count))
    assert not codec.encode(train).problems
    rows = data.draw(st.integers(1, 30))
    rng = np.random.default_rng(seed + 1)
    values = random_codes(codec, rows, rng)
    numeric = codec.numeric
    values[:, numeric] = rng.normal(0, 5, size=(rows, len(numeric)))
    values[0, numeric] = extreme
    values[-1, numeric] = -50.0
    asked = rng.random(values.shape) < data.draw(st.sampled_from([0.0, 0.2]))
    asked &= np.array([b.missing for b in codec.blocks])  # gaps only where modelled
    use_rng = data.draw(st.booleans())
    decoded = codec.decode(values, asked, rng=rng if use_rng else None)
    assert_valid(decoded, train, codec, asked)
    again = codec.encode(decoded)
    assert not again.problems, again.problems[:3]
    gaps = ~observed_of(codec, again)
    assert list(gaps.any(axis=1)) == list(decoded.isna().any(axis=1))


def test_a_schema_dict_that_only_sets_columns_aside_keeps_the_numeric_matrix_rule():
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(40)], "a": np.arange(40) % 3,
                          "b": np.linspace(0, 1, 40), "note": ["x"] * 40})
    schema = resolve_schema({"id_columns": ["id"], "exclude": ["note"]}, frame)
    assert [(c.name, c.kind, c.log) for c in schema.columns] == [("a", "numeric", False),
                                                                ("b", "numeric", False)]
    assert schema.id_columns == ("id",) and [n for n, _ in schema.excluded] == ["note"]
    inferred = resolve_schema({"id_columns": ["id"], "columns": {"a": "categorical"}}, frame)
    assert {c.name: c.kind for c in inferred.columns}["a"] == "categorical"
    assert resolve_schema({"id_columns": ["id"]}, frame).names == ["a", "b", "note"]
