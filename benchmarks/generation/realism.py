"""How realistic are generated rows? Distances between a real and a generated table.

Pure numpy / scikit-learn (no torch), so that the tests can check them quickly:

* per-column Kolmogorov-Smirnov distance (numeric columns) and total variation
  distance (discrete columns: few integer values);
* the mean absolute difference of the two Pearson correlation matrices;
* the cross-validated AUC-ROC of a classifier trained to tell real from generated
  rows (0.5 = indistinguishable);
* the baseline every generator must beat on correlations: each column resampled
  independently from the training rows (perfect marginals, no dependence);
* ``mixed_table``: a synthetic table with skewed, integer, binary and coded
  categorical columns that depend on each other;
* ``frame_realism``: the same distances for DataFrames with text categories, booleans
  and gaps (categories compared as labels, missing as a category of its own; the
  correlations and the classifier on a one-hot encoding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ks_distance(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic ``sup_x |F_a(x) - F_b(x)|``."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def total_variation(a, b) -> float:
    """Total variation distance of two empirical distributions of discrete values:
    ``(1/2) sum_v |P_a(v) - P_b(v)|``."""
    a = pd.Series(np.asarray(a)).value_counts(normalize=True)
    b = pd.Series(np.asarray(b)).value_counts(normalize=True)
    return float(0.5 * a.sub(b, fill_value=0.0).abs().sum())


def discrete_columns(X: np.ndarray, max_values: int = 25) -> np.ndarray:
    """Columns holding only integers with at most ``max_values`` distinct values."""
    X = np.asarray(X, dtype=np.float64)
    integer = np.all(np.round(X) == X, axis=0)
    few = np.array([len(np.unique(X[:, j])) <= max_values for j in range(X.shape[1])])
    return integer & few


def correlation_difference(A: np.ndarray, B: np.ndarray) -> float:
    """Mean ``|corr_A(i, j) - corr_B(i, j)|`` over pairs ``i < j`` of columns.

    A constant column has no correlation; it counts as 0.
    """
    def corr(X):
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.corrcoef(np.asarray(X, dtype=np.float64), rowvar=False)
        return np.nan_to_num(c)

    upper = np.triu_indices(A.shape[1], k=1)
    return float(np.mean(np.abs(corr(A)[upper] - corr(B)[upper])))


def independent_columns(X, n: int, rng: np.random.Generator):
    """``n`` rows whose every column is resampled independently from ``X``'s column
    (a DataFrame gives a DataFrame with the same columns and dtypes)."""
    if isinstance(X, pd.DataFrame):
        return pd.DataFrame({c: X[c].iloc[rng.integers(len(X), size=n)].reset_index(drop=True)
                             for c in X.columns})
    X = np.asarray(X)
    return np.column_stack([X[rng.integers(len(X), size=n), j] for j in range(X.shape[1])])


def discriminator_auc(real: np.ndarray, generated: np.ndarray, seed: int = 0) -> float:
    """Cross-validated (5 folds) AUC-ROC of gradient boosting telling real from generated.

    0.5: the classifier cannot tell them apart; 1.0: it always can.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    X = np.vstack([real, generated]).astype(np.float64)
    y = np.r_[np.zeros(len(real)), np.ones(len(generated))]
    clf = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    with threadpool_limits(1):
        return float(cross_val_score(clf, X, y, cv=folds, scoring="roc_auc").mean())


def realism(real: np.ndarray, generated: np.ndarray, discrete: np.ndarray,
            seed: int = 0) -> dict[str, float]:
    """All the distances of ``generated`` from ``real`` (same columns), as one dict.

    Keys: ``ks`` (mean KS over the non-discrete columns), ``tv`` (mean total variation
    over the discrete columns; NaN without any), ``corr`` (``correlation_difference``)
    and ``auc`` (``discriminator_auc``).
    """
    real = np.asarray(real, dtype=np.float64)
    generated = np.asarray(generated, dtype=np.float64)
    numeric = np.flatnonzero(~discrete)
    ks = [ks_distance(real[:, j], generated[:, j]) for j in numeric]
    tv = [total_variation(real[:, j], generated[:, j]) for j in np.flatnonzero(discrete)]
    return {
        "ks": float(np.mean(ks)) if ks else float("nan"),
        "tv": float(np.mean(tv)) if tv else float("nan"),
        "corr": correlation_difference(real, generated),
        "auc": discriminator_auc(real, generated, seed),
    }


MISSING = "(missing)"


def as_categories(values) -> pd.Series:
    """Discrete values as text labels, missing entries as the label ``"(missing)"``
    (so ``True`` and ``"True"``, ``3`` and ``Int64`` 3 compare equal; no numeric coercion)."""
    values = pd.Series(values).reset_index(drop=True).astype(object)
    return values.where(values.notna(), MISSING).map(str)


def one_hot(real: pd.DataFrame, generated: pd.DataFrame, numeric: list[str]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Both tables as numbers with the same columns: numeric columns as they are (gaps
    filled with the real median, plus a 0/1 "missing" column where either side has
    gaps), every other column one-hot over the labels either side has (missing as a
    label of its own)."""
    parts_real, parts_gen = [], []
    for c in real.columns:
        if c in numeric:
            a = pd.to_numeric(real[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            b = pd.to_numeric(generated[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            fill = np.nanmedian(a) if np.isfinite(a).any() else 0.0
            parts_real.append(np.nan_to_num(a, nan=fill)[:, None])
            parts_gen.append(np.nan_to_num(b, nan=fill)[:, None])
            if np.isnan(a).any() or np.isnan(b).any():
                parts_real.append(np.isnan(a)[:, None].astype(float))
                parts_gen.append(np.isnan(b)[:, None].astype(float))
        else:
            a, b = as_categories(real[c]), as_categories(generated[c])
            labels = sorted(set(a) | set(b))
            parts_real.append((a.to_numpy()[:, None] == np.array(labels)).astype(float))
            parts_gen.append((b.to_numpy()[:, None] == np.array(labels)).astype(float))
    return np.hstack(parts_real), np.hstack(parts_gen)


def frame_realism(real: pd.DataFrame, generated: pd.DataFrame, numeric: list[str],
                  seed: int = 0) -> dict[str, float]:
    """``realism`` for DataFrames with the same columns.

    ``ks``: mean KS over the ``numeric`` columns (gaps dropped); ``tv``: mean total
    variation over the other columns, compared as labels (``as_categories``); ``corr``
    and ``auc`` on the ``one_hot`` encoding of both tables.
    """
    generated = generated[list(real.columns)]
    ks, tv = [], []
    for c in real.columns:
        if c in numeric:
            a = pd.to_numeric(real[c], errors="coerce").dropna().to_numpy(np.float64)
            b = pd.to_numeric(generated[c], errors="coerce").dropna().to_numpy(np.float64)
            ks.append(ks_distance(a, b) if len(a) and len(b) else 1.0)
        else:
            tv.append(total_variation(as_categories(real[c]), as_categories(generated[c])))
    A, B = one_hot(real, generated, numeric)
    return {
        "ks": float(np.mean(ks)) if ks else float("nan"),
        "tv": float(np.mean(tv)) if tv else float("nan"),
        "corr": correlation_difference(A, B),
        "auc": discriminator_auc(A, B, seed),
    }


def mixed_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A synthetic customer table whose columns have different types and depend on each
    other: integer age, skewed income, Poisson purchase count, binary membership, a
    4-level segment (coded 0-3), continuous spend and an integer hour of day."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 81, size=n)
    income = np.exp(rng.normal(9.8 + 0.012 * age, 0.45))
    purchases = rng.poisson(1.0 + income / 25_000)
    member = (rng.uniform(size=n) < 1 / (1 + np.exp(-(age - 45) / 8))).astype(int)
    segment = np.clip(np.digitize(np.log(income) + rng.normal(0, 0.3, n),
                                  [10.0, 10.5, 11.0]), 0, 3)
    spend = purchases * np.exp(rng.normal(3.0 + 0.3 * member, 0.4, size=n))
    hour = np.clip(np.round(rng.normal(13 + 0.08 * (age - 45), 3.0)), 0, 23).astype(int)
    return pd.DataFrame({"age": age, "income": income, "purchases": purchases,
                         "member": member, "segment": segment, "spend": spend, "hour": hour})
