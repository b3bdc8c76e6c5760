"""Schema inference, schema files and the reading of timestamps (the ``mixed`` table is in
``conftest.py``; encoding and decoding are tested in ``test_codec.py``)."""

import json

import numpy as np
import pandas as pd
import pytest

from latentwatch.data.schema import (
    ColumnSpec,
    TableSchema,
    infer_column,
    infer_schema,
    parse_datetimes,
    read_schema_file,
)
from latentwatch.errors import DataError


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
        ('{"columns": {"shop": {"kind": "categorical", "format": "epoch_s"}}}',
         "only datetime columns take 'format'"),
        ('{"columns": {"when": {"kind": "datetime", "format": ["%d"]}}}', "strftime format"),
        ('{"columns": {"when": {"kind": "datetime", "format": "dd/mm/yyyy"}}}',
         "strftime format"),
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


# -- timestamps -----------------------------------------------------------------------------
def test_parse_datetimes_reads_by_the_stated_format():
    day_first = parse_datetimes(pd.Series([" 31/12/2024 10:00", "1/2/2024 3:05", "soon", None]),
                                "%d/%m/%Y %H:%M")
    assert list(day_first[:2]) == [pd.Timestamp("2024-12-31 10:00"),
                                   pd.Timestamp("2024-02-01 03:05")]
    assert day_first[2:].isna().all()
    seconds = parse_datetimes(pd.Series([1_700_000_000, None], dtype="Int64"), "epoch_s")
    assert seconds[0] == pd.Timestamp("2023-11-14 22:13:20") and seconds[0].tz is None
    assert pd.isna(seconds[1])
    millis = parse_datetimes(pd.Series(["1700000000000", "x", True]), "epoch_ms")
    assert millis[0] == pd.Timestamp("2023-11-14 22:13:20") and millis[1:].isna().all()
    iso = parse_datetimes(pd.Series(["2024-05-01T03:00:00", "31/12/2024"]))
    assert iso[0] == pd.Timestamp("2024-05-01 03:00") and pd.isna(iso[1])
    already = pd.Series(pd.to_datetime(["2024-01-01"]))
    assert parse_datetimes(already, "epoch_s") is already


@pytest.mark.parametrize(
    ("values", "fmt", "note"),
    [
        (["31/12/2024 10:00", "01/02/2024 11:30"], "%d/%m/%Y %H:%M", "day-first text"),
        (["12/31/2024 10:00", "01/02/2024 11:30"], "%m/%d/%Y %H:%M", "month-first text"),
        (["01.02.2024", "03.04.2024"], "%d.%m.%Y", '"format": "%m.%d.%Y"'),
        (["1-2-24 10:00:05", "3-4-24 11:00:00"], "%d-%m-%y %H:%M:%S", "assumed"),
    ],
)
def test_day_month_text_is_a_datetime_by_the_stated_rule(values, fmt, note):
    spec = infer_column(pd.Series(values * 10, name="paid"))
    assert isinstance(spec, ColumnSpec) and spec.kind == "datetime"
    assert spec.format == fmt and note in spec.note
    assert parse_datetimes(pd.Series(values), spec.format).notna().all()


def test_ambiguous_day_month_text_is_read_day_first_and_says_so():
    spec = infer_column(pd.Series(["01/02/2024", "03/04/2024"] * 5, name="d"))
    assert spec.format == "%d/%m/%Y"
    assert "assumed" in spec.note and '"format": "%m/%d/%Y"' in spec.note
    assert parse_datetimes(pd.Series(["01/02/2024"]), spec.format)[0].month == 2


def test_text_no_day_month_order_reads_is_not_a_datetime():
    spec = infer_column(pd.Series(["31/12/2024", "12/31/2024"] * 5, name="d"))
    assert spec.kind == "categorical" and spec.format is None


@pytest.mark.parametrize(
    ("name", "values", "fmt"),
    [
        ("created_at", [1_700_000_000, 1_700_003_600, 1_700_090_000], "epoch_s"),
        ("TimeStamp", [1_700_000_000_000, 1_700_003_600_000, 1_700_090_000_000], "epoch_ms"),
        ("update_date", [1.7e9, np.nan, 1.8e9], "epoch_s"),
    ],
)
def test_epoch_integers_named_like_times_are_datetimes(name, values, fmt):
    spec = infer_column(pd.Series(values * 10, name=name))
    assert spec.kind == "datetime" and spec.format == fmt
    assert "since 1970" in spec.note and '"format"' in spec.note


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("amount", [1_700_000_000, 1_700_003_600, 1_700_090_000]),  # not named like a time
        ("created_at", [1_700_000_000, 17, 1_700_090_000]),  # not all in range
        ("created_at", [1.7e9, 1.7e9 + 0.5, 1.8e9]),  # not integers
    ],
)
def test_other_numbers_stay_numbers(name, values):
    spec = infer_column(pd.Series(values * 10, name=name))
    assert spec.kind != "datetime" and spec.format is None


def test_mostly_dates_text_is_a_datetime_naming_the_bad_rows():
    values = [f"2024-01-{d % 28 + 1:02d} 10:00" for d in range(99)] + ["yesterday"]
    spec = infer_column(pd.Series(values, name="when"))
    assert spec.kind == "datetime" and spec.format is None
    assert spec.features == ("hour", "weekday")
    assert "not a date/time in 1 of 100 rows, e.g. 'yesterday'" in spec.note
    fewer = infer_column(pd.Series(values[:90] + ["?"] * 10, name="when"))
    assert fewer.kind != "datetime"


def test_format_round_trips_through_the_schema_file(tmp_path):
    frame = pd.DataFrame({"paid": ["31/12/2024 10:00", "01/02/2024 11:30"] * 10,
                          "created_at": [1_700_000_000, 1_700_090_000] * 10,
                          "iso": ["2024-01-01 10:00", "2024-01-02 11:00"] * 10})
    schema = infer_schema(frame)
    as_dict = schema.to_dict()
    assert as_dict["columns"]["paid"]["format"] == "%d/%m/%Y %H:%M"
    assert as_dict["columns"]["created_at"]["format"] == "epoch_s"
    assert "format" not in as_dict["columns"]["iso"]
    path = tmp_path / "schema.json"
    path.write_text(schema.to_json())
    assert TableSchema.from_dict(read_schema_file(path)) == schema
    override = {"columns": {"paid": {"kind": "datetime", "format": "%m/%d/%Y %H:%M"}}}
    assert infer_schema(frame, overrides=override).columns[0].format == "%m/%d/%Y %H:%M"
