"""Reading cells: numbers, booleans, dates and labels, each with its bad-value mask."""

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block
from latentwatch.data.cells import (
    boolean_label_type,
    category_codes,
    category_label_type,
    derive_feature,
    labels_of,
    note_bad,
    read_dates,
    to_booleans,
    to_numbers,
)


def test_numbers_from_text_name_the_bad_ones():
    messages = {}
    numbers, bad = to_numbers(pd.Series(["1.5", "x", None, "inf"]), messages, 2)
    assert numbers[0] == 1.5 and np.isnan(numbers[1:]).all()
    assert bad.tolist() == [False, True, False, True]
    assert messages[(1, 2)] == ("x", "'x' is not a number")
    assert messages[(3, 2)][1] == "'inf' is infinite"


def test_booleans_in_every_accepted_spelling():
    flags, bad = to_booleans(pd.Series(["TRUE", "no", "y", 0, "maybe", None]))
    assert flags[:4].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert bad.tolist() == [False, False, False, False, True, False]
    assert boolean_label_type(pd.Series([True, False])) == "bool"
    assert boolean_label_type(pd.Series([0, 1])) == "int"
    assert boolean_label_type(pd.Series(["yes", "no"])) == "str"


def test_dates_read_by_a_format_also_read_iso_text():
    dates, bad = read_dates(pd.Series(["31/12/2024", "2024-06-01T10:00:00", "nope"]),
                            "%d/%m/%Y")
    assert dates.iloc[0] == pd.Timestamp("2024-12-31")
    assert dates.iloc[1] == pd.Timestamp("2024-06-01 10:00")
    assert bad.tolist() == [False, False, True]
    assert derive_feature(dates, "weekday").tolist()[:2] == ["Tue", "Sat"]
    assert derive_feature(dates, "hour").tolist()[1] == 10


def test_labels_compare_in_their_type():
    text, missing = labels_of(pd.Series([1.0, 2.5, None]), "str")
    assert text.tolist()[:2] == ["1", "2.5"] and missing.tolist() == [False, False, True]
    assert category_label_type(pd.Series([1, 2, 3])) == "int"
    assert category_label_type(pd.Series([1.5, 2])) == "float"
    block = Block("c", "c", "categorical", categories=["a", "b"])
    codes, missing = category_codes(pd.Series(["b", "zzz", None]), block)
    assert codes.tolist()[:2] == [1, 2] and missing.tolist() == [False, False, True]


def test_only_the_first_message_of_a_cell_is_kept():
    messages = {}
    raw = pd.Series(["x"])
    note_bad(messages, np.array([True]), 0, raw, "first")
    note_bad(messages, np.array([True]), 0, raw, "second")
    assert messages == {(0, 0): ("x", "'x' first")}
