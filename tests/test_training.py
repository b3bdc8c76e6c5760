"""Training helpers: trimming, automatic batch size and epochs, validation split."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from latentwatch.training import (
    MIN_ROWS_FOR_VALIDATION,
    resolve_batch_size,
    resolve_max_epochs,
    split_validation,
    trimmed_mean,
)


@given(
    losses=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=60),
    trim=st.floats(0, 0.99),
)
def test_trimmed_mean_equals_mean_of_smallest(losses, trim):
    values = torch.tensor(losses, dtype=torch.float64)
    keep = max(len(losses) - int(trim * len(losses)), 1)
    expected = np.sort(np.array(losses))[:keep].mean()
    assert float(trimmed_mean(values, trim)) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_trimmed_mean_without_trimming_is_the_mean():
    values = torch.tensor([3.0, 1.0, 2.0])
    assert float(trimmed_mean(values, 0.0)) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("n_rows", "expected"), [(10, 128), (5_000, 256), (45_000, 2048), (10_000_000, 4096)]
)
def test_auto_batch_size(n_rows, expected):
    assert resolve_batch_size("auto", n_rows) == expected
    assert resolve_batch_size(100, n_rows) == 100


@pytest.mark.parametrize(("n_rows", "expected"), [(80, 30), (20_000, 15), (1_000_000, 10)])
def test_auto_max_epochs(n_rows, expected):
    assert resolve_max_epochs("auto", n_rows) == expected
    assert resolve_max_epochs(7, n_rows) == 7


def test_validation_split_is_disjoint_complete_and_skipped_for_tiny_data():
    rng = np.random.RandomState(0)
    train, val = split_validation(1000, 0.1, rng)
    assert len(val) == 100
    assert np.array_equal(np.sort(np.r_[train, val]), np.arange(1000))
    train, val = split_validation(MIN_ROWS_FOR_VALIDATION - 1, 0.1, rng)
    assert len(val) == 0 and len(train) == MIN_ROWS_FOR_VALIDATION - 1
