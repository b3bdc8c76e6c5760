"""benchmarks/detection/explain_attribution.py: one edited cell per row, of the stated size."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `benchmarks` lives at the root

from benchmarks.detection.explain_attribution import ROWS_PER_SIZE, SIZES, plant, table


def test_each_planted_row_differs_from_a_test_row_in_the_named_column_only():
    train, test = table("credit", 0)
    kinds = {c: "numeric" if pd.api.types.is_numeric_dtype(train[c]) else "categorical"
             for c in train.columns}
    kinds["Records"] = "boolean"
    planted, where, sizes = plant(train, test, kinds, 0)
    assert len(planted) == len(SIZES) * ROWS_PER_SIZE and sizes.count("extreme") == 60
    numbers = [c for c, k in kinds.items() if k == "numeric"]
    original = test.astype({c: float for c in numbers})
    for i, (column, size) in enumerate(zip(where, sizes, strict=True)):
        same = (original == planted.iloc[i]) | (original.isna() & planted.iloc[[i]].isna()
                                                 .to_numpy())
        matches = np.flatnonzero(same.drop(columns=column).all(axis=1))
        assert len(matches), (i, column)
        before = original.iloc[matches[0]][column]
        after = planted.iloc[i][column]
        assert not same.iloc[matches[0]][column], (i, column, before, after)
        if kinds[column] == "numeric":
            sd = train[column].astype(float).std(ddof=0)
            shift = abs(after - before) / sd
            low, high = {"mild": (2.9, 3.1), "strong": (9.9, 10.1),
                         "extreme": (999, np.inf)}[size]
            assert low <= shift <= high or after == 1e308, (size, shift)
        elif size == "extreme" and kinds[column] == "categorical":
            assert after not in set(train[column])
