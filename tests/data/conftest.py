"""A mixed table with every kind of column, shared by the schema and codec tests."""

import numpy as np
import pandas as pd
import pytest


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
