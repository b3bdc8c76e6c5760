"""Row splits: calibration rows held out of everything, validation rows out of training."""

import numpy as np
import pytest

from latentwatch.engine.splits import MIN_ROWS_FOR_VALIDATION, split_rows


@pytest.mark.parametrize(("n", "calibration", "validation"),
                         [(1000, 0.0, 0.1), (1000, 0.2, 0.1), (333, 0.15, 0.25), (60, 0.1, 0.1)])
def test_splits_are_sorted_disjoint_and_complete(n, calibration, validation):
    rows = split_rows(n, calibration, validation, np.random.default_rng(0))
    assert len(rows.calibration) == round(calibration * n)
    rest = n - len(rows.calibration)
    expected_validation = round(validation * rest) if rest >= MIN_ROWS_FOR_VALIDATION else 0
    assert len(rows.validation) == expected_validation
    np.testing.assert_array_equal(np.sort(np.r_[rows.fit, rows.calibration]), np.arange(n))
    np.testing.assert_array_equal(np.sort(np.r_[rows.train, rows.validation]), rows.fit)
    for part in (rows.fit, rows.train, rows.validation, rows.calibration):
        assert np.all(np.diff(part) > 0)


def test_small_data_has_no_validation_split():
    rows = split_rows(MIN_ROWS_FOR_VALIDATION - 1, 0.0, 0.1, np.random.default_rng(0))
    assert len(rows.validation) == 0 and len(rows.train) == MIN_ROWS_FOR_VALIDATION - 1
    rows = split_rows(100, 0.6, 0.1, np.random.default_rng(0))
    assert len(rows.calibration) == 60 and len(rows.validation) == 0, "40 rows are left"
    assert len(split_rows(100, 0.0, 0.1, np.random.default_rng(0), 200).validation) == 0


def test_splits_are_drawn_from_the_generator():
    first = split_rows(500, 0.1, 0.1, np.random.default_rng(4))
    again = split_rows(500, 0.1, 0.1, np.random.default_rng(4))
    other = split_rows(500, 0.1, 0.1, np.random.default_rng(5))
    np.testing.assert_array_equal(first.validation, again.validation)
    np.testing.assert_array_equal(first.calibration, again.calibration)
    assert not np.array_equal(first.validation, other.validation)
