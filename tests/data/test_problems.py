"""Problems: one line naming the count and the first rows; Encoded raises with it."""

import numpy as np
import pytest

from latentwatch.data.codec import Problem as ReExported
from latentwatch.data.problems import QUOTED_PROBLEMS, Encoded, Problem, describe_problems
from latentwatch.errors import DataError


def test_the_description_quotes_the_first_rows_and_counts_all():
    problems = [Problem(k, "x", "a", f"'a{k}' is not a number") for k in range(7)]
    text = describe_problems(problems, first_row=2)
    assert text.startswith("7 rows cannot be used: row 2, column 'x': 'a0' is not a number")
    assert text.count("row ") == QUOTED_PROBLEMS and text.endswith("; ...")
    assert describe_problems(problems[:1], total=1).startswith("1 row cannot be used")


def test_encoded_raises_one_line_naming_the_source_and_keeps_the_good_rows():
    packed = np.arange(6.0).reshape(3, 2)
    bad = np.array([False, True, False])
    encoded = Encoded(packed, np.zeros((3, 1), bool), [Problem(1, "x", None, "is bad")], bad)
    np.testing.assert_array_equal(encoded.good, packed[[0, 2]])
    with pytest.raises(DataError) as error:
        encoded.raise_for_problems("data.csv", first_row=10)
    assert "data.csv" in str(error.value) and "row 11, column 'x'" in str(error.value)
    assert "\n" not in str(error.value)
    assert ReExported is Problem
