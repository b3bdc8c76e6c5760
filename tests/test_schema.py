"""Schema inference, schema files, and encoding tables to rows and back."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentwatch.encoding import RARE_LABEL, fit_layout
from latentwatch.errors import DataError
from latentwatch.schema import TableSchema, infer_schema, read_schema_file


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "id": [f"T{i:05d}" for i in range(n)],
        "amount": np.round(rng.lognormal(3, 1, size=n), 2),
        "count": rng.integers(0, 500, size=n),
        "hour": rng.integers(0, 24, size=n),
        "shop": rng.choice(["a", "b", "c", "d"], size=n),
        "online": rng.random(n) < 0.3,
        "yes_no": rng.choice(["yes", "no"], size=n),
        "zero_one": rng.integers(0, 2, size=n),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "min"),
        "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        "iso": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "min")
                ).astype(str),
        "note": [f"free text {i}" for i in range(n)],
        "empty": np.nan,
        "took": pd.to_timedelta(rng.integers(0, 100, n), "s"),
        "typo": np.where(np.arange(n) == 7, "n/a?", rng.normal(size=n).astype(str)),
    })


def test_inference_picks_the_kind_of_every_column(mixed):
    schema = infer_schema(mixed, id_columns=["id"])
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "amount": "numeric", "count": "numeric", "hour": "categorical", "shop": "categorical",
        "online": "boolean", "yes_no": "boolean", "zero_one": "boolean", "when": "datetime",
        "day": "datetime", "iso": "datetime", "typo": "numeric",
    }
    spec = {c.name: c for c in schema.columns}
    assert spec["amount"].log and not spec["count"].log
    assert spec["when"].features == ("hour", "weekday")
    assert spec["day"].features == ("weekday",), "dates without a time give no hour"
    assert "not numbers" in spec["typo"].note
    excluded = dict(schema.excluded)
    assert set(excluded) == {"note", "empty", "took"}
    assert "identifier" in excluded["note"] and "missing" in excluded["empty"]
    assert schema.id_columns == ("id",)


def test_schema_file_overrides_and_round_trips(mixed, tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({
        "columns": {"hour": "numeric", "count": {"kind": "categorical"},
                    "when": {"kind": "datetime", "features": ["month"]}},
        "exclude": ["typo"], "id_columns": ["id"], "max_categories": 3,
    }))
    schema = infer_schema(mixed, overrides=read_schema_file(path))
    spec = {c.name: c for c in schema.columns}
    assert spec["hour"].kind == "numeric" and spec["count"].kind == "categorical"
    assert spec["when"].features == ("month",)
    assert "typo" not in spec and schema.max_categories == 3
    again = TableSchema.from_dict(json.loads(schema.to_json()))
    assert again == schema
    assert infer_schema(mixed, overrides=schema.to_dict()) == schema


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"colums": {}}', "unknown schema key 'colums'"),
        ('{"columns": {"shop": "text"}}', "kind 'text' is not one of"),
        ('{"columns": {"shop": {"kind": "categorical", "log": true}}}', "only numeric"),
        ('{"columns": {"when": {"kind": "datetime", "features": ["second"]}}}', "datetime"),
        ('{"max_categories": 0}', "positive integer"),
        ('{"exclude": "shop"}', "list of column names"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_schema_files_are_refused_with_the_file_and_key(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_schema_file(path)
    assert str(path) in str(info.value)


def test_unknown_columns_in_options_are_named(mixed):
    with pytest.raises(DataError, match="id column 'nope' is not in the data"):
        infer_schema(mixed, id_columns=["nope"])
    with pytest.raises(DataError, match="schema column 'ghost'"):
        infer_schema(mixed, overrides={"columns": {"ghost": "numeric"}})
    with pytest.raises(DataError, match="no column left to model"):
        infer_schema(mixed[["id"]], id_columns=["id"])


# -- encoding -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def layout(mixed):
    schema = infer_schema(mixed, id_columns=["id"], exclude=["typo"])
    return fit_layout(mixed, schema)


def test_encode_then_to_frame_gives_back_the_table(mixed, layout):
    encoded = layout.encode(mixed)
    assert not encoded.problems
    targets = encoded.packed[:, layout.input_width:layout.input_width + layout.n_blocks]
    back = layout.to_frame(targets)
    np.testing.assert_allclose(back["amount"], mixed["amount"], rtol=1e-12)
    assert back["count"].dtype == "Int64" and (back["count"] == mixed["count"]).all()
    assert (back["hour"] == mixed["hour"]).all()
    assert (back["shop"] == mixed["shop"]).all()
    assert (back["online"] == mixed["online"]).all()
    assert (back["yes_no"] == mixed["yes_no"]).all()
    assert (back["zero_one"] == mixed["zero_one"]).all()
    assert (back["when.hour"] == mixed["when"].dt.hour).all()
    assert list(back["day.weekday"]) == list(mixed["day"].dt.day_name().str[:3])


def test_rare_and_unseen_categories_share_the_rare_bucket(mixed):
    frame = mixed[["shop"]].copy()
    frame.loc[:2, "shop"] = "rare"
    schema = infer_schema(frame, min_category_count=5)
    layout = fit_layout(frame, schema)
    assert layout.blocks[0].categories == ["a", "b", "c", "d"]
    new = pd.DataFrame({"shop": ["a", "zzz", None, "rare"]})
    encoded = layout.encode(new)
    assert not encoded.problems
    targets = encoded.packed[:, layout.input_width]
    assert list(targets) == [0, 4, 0, 4]
    assert list(encoded.unseen[:, 0]) == [False, True, False, True]
    back = layout.to_frame(targets[:, None], missing=np.array([[0], [0], [1], [0]], bool))
    assert list(back["shop"].fillna("-")) == ["a", RARE_LABEL, "-", RARE_LABEL]


def test_numbers_and_labels_match_across_types(layout):
    frame = pd.DataFrame({
        "amount": ["12.5", None], "count": [3.0, 7], "hour": ["3", 4.0], "shop": ["a", "b"],
        "online": ["TRUE", "f"], "yes_no": ["no", "Yes"], "zero_one": [1.0, "0"],
        "when": ["2024-05-01T03:00:00", "2024-05-02 14:30"], "day": ["2024-05-01", None],
        "iso": ["2024-05-01 03:00", "2024-05-01 04:00"],
    })
    encoded = layout.encode(frame)
    assert not encoded.problems, encoded.problems
    targets = layout.to_frame(encoded.packed[:, layout.input_width:layout.input_width
                                            + layout.n_blocks])
    assert list(targets["hour"]) == [3, 4]
    assert list(targets["online"]) == [True, False]
    assert list(targets["zero_one"]) == [1, 0]
    assert list(targets["when.hour"]) == [3, 14]
    assert not encoded.unseen.any()


def test_bad_values_are_listed_with_row_and_column(layout, mixed):
    frame = mixed.drop(columns=["id"]).head(6).copy()
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[1, "amount"] = "abc"
    frame.loc[3, "amount"] = -5.0
    frame["online"] = frame["online"].astype(object)
    frame.loc[4, "online"] = "maybe"
    frame["when"] = frame["when"].astype(object)
    frame.loc[5, "when"] = "yesterday"
    encoded = layout.encode(frame)
    described = [p.describe() for p in encoded.problems]
    assert described == [
        "row 2, column 'amount': 'abc' is not a number",
        "row 4, column 'amount': -5.0 is not above -1 (the column is on a log scale)",
        "row 5, column 'online': 'maybe' is not a boolean (true/false, yes/no, 1/0)",
        "row 6, column 'when': 'yesterday' is not a date/time",
    ]
    assert list(encoded.bad) == [False, True, False, True, True, True]
    assert not encoded.packed[encoded.bad].any()
    with pytest.raises(DataError, match="column 'shop' is missing"):
        layout.encode(frame.drop(columns=["shop"]))


@settings(derandomize=True, deadline=None, max_examples=30)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers(-3, 30),
                                 st.floats(allow_nan=True, allow_infinity=True),
                                 st.booleans()), min_size=1, max_size=12))
def test_any_values_encode_to_finite_rows_or_named_problems(layout, mixed, values):
    """Whatever lands in any column, encoding neither crashes nor lets a non-finite through."""
    frame = mixed.drop(columns=["id"]).head(len(values)).reset_index(drop=True)
    for column in layout.sources:
        bad = frame.copy()
        bad[column] = pd.Series(values, dtype=object)
        encoded = layout.encode(bad)
        assert np.isfinite(encoded.packed).all()
        assert len(encoded.problems) == int(encoded.bad.sum())
        assert all(p.column == column for p in encoded.problems)


def test_layout_json_round_trip_is_exact(layout):
    again = type(layout).from_dict(json.loads(json.dumps(layout.to_dict())))
    assert again == layout
    assert [b.mean for b in again.blocks] == [b.mean for b in layout.blocks]
