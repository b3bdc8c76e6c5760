"""Reading the files real teams export: decimal commas, thousands separators and currency
signs, Latin-1 text, files whose bytes are not what their name says, R and pandas row
numbers, slash dates, lists in a Parquet cell, and output names with ``.tsv`` inside.
Every file is written by the test."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from latentwatch.data.cells import date_problem, to_numbers
from latentwatch.data.io import ReadOptions, TableWriter, read_table
from latentwatch.data.schema import index_like_columns, infer_column, infer_schema
from latentwatch.errors import DataError


def test_a_european_export_reads_with_decimal_comma_and_dot_thousands(tmp_path):
    path = tmp_path / "kredit.csv"
    path.write_text('Kunde;Betrag;Preis\n"A";"135,25";"1.300,00 €"\n"B";"2,5";"12,00 €"\n'
                    '"C";"-7,75";"1.234.567,89 €"\n', encoding="utf-8")
    frame = read_table(path, options=ReadOptions(decimal=",", thousands="."))
    assert frame["Betrag"].tolist() == [135.25, 2.5, -7.75]
    assert frame["Preis"].tolist() == [1300.0, 12.0, 1234567.89]
    plain = read_table(path)
    assert plain["Betrag"].dtype != np.float64  # without the option: text, not numbers
    reason = infer_column(plain["Betrag"])
    assert isinstance(reason, str) and "--decimal ," in reason and "'135,25'" in reason


def test_currency_signs_and_thousands_separators_of_a_us_export(tmp_path):
    path = tmp_path / "loans.csv"
    path.write_text('id,amount,fee\n1,"$1,300.00",$12.50\n2,"$25,000.00",$0.99\n'
                    '3,$950.10,$3\n', encoding="utf-8")
    frame = read_table(path, options=ReadOptions(thousands=","))
    assert frame["amount"].tolist() == [1300.0, 25000.0, 950.1]
    assert frame["fee"].tolist() == [12.5, 0.99, 3.0]
    plain = read_table(path)
    assert plain["fee"].tolist() == [12.5, 0.99, 3.0]  # a currency sign needs no option
    assert "--thousands ," in infer_column(plain["amount"])
    numbers, bad = to_numbers(pd.Series(["1,300", "12"], dtype=object), messages := {}, 0)
    assert bad.tolist() == [True, False] and numbers[1] == 12.0
    assert "read the file with --thousands ," in messages[(0, 0)][1]


@pytest.mark.parametrize("text, expected", [("1.300,25", 1300.25), ("-1.300", -1300.0),
                                            ("1.30,0", None), ("12", 12.0), ("€ 5,5", 5.5)])
def test_parse_number_with_decimal_comma(text, expected):
    assert ReadOptions(decimal=",", thousands=".").parse_number(text) == expected


def test_bad_reading_options_are_refused():
    with pytest.raises(DataError, match="decimal"):
        ReadOptions(decimal="ab")
    with pytest.raises(DataError, match="thousands"):
        ReadOptions(decimal=",", thousands=",")
    with pytest.raises(DataError, match="encoding 'klingon'"):
        ReadOptions(encoding="klingon")


def test_a_latin1_file_names_the_row_and_column_and_reads_with_its_encoding(tmp_path):
    path = tmp_path / "villes.csv"
    rows = ["ville,population"] + [f"Paris,{i}" for i in range(29)] + ["Montréal,3"]
    path.write_bytes("\n".join(rows).encode("latin-1"))
    with pytest.raises(DataError) as error:
        read_table(path)
    message = str(error.value)
    assert "row 30, column 'ville'" in message and "Montr\\xe9al" in message
    assert "--encoding latin-1" in message and "\n" not in message
    frame = read_table(path, options=ReadOptions(encoding="latin-1"))
    assert frame["ville"].iloc[-1] == "Montréal" and len(frame) == 30


@pytest.mark.parametrize("kind", ["parquet", "gzip"])
def test_bytes_that_are_not_csv_text_are_refused_in_one_line(tmp_path, kind):
    path = tmp_path / "data.csv"
    if kind == "parquet":
        pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(path)
        fix = "--format parquet"
    else:
        path.write_bytes(gzip.compress(b"x\n1\n2\n"))
        fix = ".csv.gz"
    with pytest.raises(DataError) as error:
        read_table(path)
    assert str(error.value).startswith(f"{path}: ") and fix in str(error.value)


def test_the_last_suffix_decides_the_separator_of_an_output(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for name, sep in (("x.tsv.scores.csv", ","), ("x.csv.tsv", "\t"), ("x.tsv", "\t")):
        with TableWriter(tmp_path / name) as writer:
            writer.write(frame)
        assert (tmp_path / name).read_text().splitlines()[0] == f"a{sep}b", name
    with TableWriter(tmp_path / "y.tsv.gz") as writer:
        writer.write(frame)
    assert gzip.decompress((tmp_path / "y.tsv.gz").read_bytes()).startswith(b"a\tb")


def test_row_numbers_of_r_and_pandas_are_found(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.normal(size=50)})
    frame.index += 1319  # the same rows, later in a file
    path = tmp_path / "export.csv"
    frame.to_csv(path)  # pandas writes the index under an empty name
    read = read_table(path)
    assert index_like_columns(read) == ["Unnamed: 0"]
    r_style = pd.DataFrame({"rownames": np.arange(1, 51), "Time": rng.integers(0, 9, 50),
                            "X": rng.permutation(50)})
    assert index_like_columns(r_style) == ["rownames"]  # X is shuffled: a feature
    assert index_like_columns(pd.DataFrame({"index": [1, 1, 2]})) == []


def test_a_date_format_reads_us_slash_dates_and_is_kept_in_the_schema():
    text = pd.DataFrame({"paid": ["01/02/2024", "03/04/2024", "05/06/2024"] * 4,
                         "amount": np.arange(12.0)})
    guessed = infer_schema(text)
    assert guessed.columns[0].format == "%d/%m/%Y" and "assumed" in guessed.columns[0].note
    given = infer_schema(text, overrides={"date_format": "%m/%d/%Y"})
    assert given.columns[0].format == "%m/%d/%Y"
    with pytest.raises(DataError, match="date_format"):
        infer_schema(text, overrides={"date_format": "month first"})


@pytest.mark.parametrize("value, fmt, fragment", [
    ("1/1/2013 6:00", None, "expected ISO 8601, e.g. 2024-01-31 06:00"),
    ("01.01.2013", "%d/%m/%Y", "expected %d/%m/%Y, e.g. 31/01/2024"),
    (41275, None, "Excel serial day number"),
    ("41275", "%m/%d/%Y %H:%M", "expected %m/%d/%Y %H:%M, e.g. 01/31/2024 06:00"),
])
def test_a_date_that_is_refused_names_the_format_expected(value, fmt, fragment):
    assert fragment in date_problem(value, fmt)


def test_lists_in_a_parquet_column_are_not_modelled_and_the_reason_names_the_row(tmp_path):
    path = tmp_path / "tags.parquet"
    pd.DataFrame({"amount": np.arange(6.0), "tags": [None, ["a", "b"], ["c"], ["a"], [],
                                                       ["b"]]}).to_parquet(path)
    frame = read_table(path)
    schema = infer_schema(frame)
    assert schema.names == ["amount"]
    reason = dict(schema.excluded)["tags"]
    assert "row 2" in reason and "lists" in reason
