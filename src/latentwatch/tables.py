"""Tables on fitted detectors: reading DataFrames through the schema, decoding rows
back into it, and explaining scores column by column.

The schema inference is in :mod:`latentwatch.schema`, the encoding in
:mod:`latentwatch.encoding` and the per-column likelihoods in :mod:`latentwatch.likelihood`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from latentwatch.device import torch_threads
from latentwatch.encoding import Encoded, Problem, TableLayout, numeric_layout
from latentwatch.errors import DataError
from latentwatch.likelihood import as_numpy
from latentwatch.schema import TableSchema, infer_schema


class TableMixin:
    """Table-specific methods of the detectors.

    The host class provides the fitted state (``layout_``, ``mean_``, ``scale_``...),
    ``_heads``, ``_scoring_network``, ``_encode_mean``, ``_decode_outputs`` and
    ``_scores_standardized``.
    """

    def _frame(self, X) -> pd.DataFrame:
        """Rows to score as a table: a DataFrame, or an array in the fitted column order."""
        if isinstance(X, pd.DataFrame):
            return _as_frame(X)
        X = np.asarray(X, dtype=object)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has shape {X.shape} but this model reads "
                             f"{self.n_features_in_} columns: "
                             f"{', '.join(self.feature_names_in_)}")
        return pd.DataFrame(X, columns=list(self.feature_names_in_))

    def table_layout(self) -> TableLayout:
        """How the model reads a table: its fitted layout, or for a model fitted on a
        numeric matrix the all-Gaussian layout of its features (``x0``... when unnamed)."""
        check_is_fitted(self, "module_")
        if getattr(self, "layout_", None) is not None:
            return self.layout_
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        return numeric_layout(list(names), self.mean_, self.scale_)

    def encode_table(
        self, frame: pd.DataFrame, source: str | None = None, keep_shown: bool = False
    ) -> tuple[Encoded, np.ndarray]:
        """Encode a table for scoring without raising on bad rows.

        Returns
        -------
        encoded : Encoded
            With ``problems`` and ``bad`` listing rows that cannot be scored (a model
            fitted on a numeric matrix cannot score rows with gaps either).
        rows : np.ndarray
            The network rows of the good rows, for :meth:`score_rows`.
        """
        layout = self.table_layout()
        encoded = layout.encode(frame, source=source, keep_shown=keep_shown)
        if getattr(self, "layout_", None) is None:
            observed = encoded.packed[:, layout.input_width + layout.n_blocks:]
            gaps = (observed == 0) & ~encoded.bad[:, None]
            for row in np.flatnonzero(gaps.any(axis=1)):
                column = layout.names[int(np.argmax(gaps[row]))]
                encoded.problems.append(Problem(int(row), column, None, "missing value (the "
                                                "model was fitted on complete numeric data)"))
            encoded.problems.sort(key=lambda p: p.position)
            encoded.bad |= gaps.any(axis=1)
            return encoded, encoded.packed[~encoded.bad, :layout.input_width]
        if not encoded.bad.any():
            return encoded, encoded.packed
        return encoded, encoded.packed[~encoded.bad]

    def score_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Anomaly scores ``(n,)`` and per-column contributions ``(n, n_columns)`` of
        network rows from :meth:`encode_table`."""
        check_is_fitted(self, "module_")
        return self._scores_standardized(rows)

    def decode_rows(
        self, z, *, sample: bool = False, random_state=None, with_missing: bool = False
    ):
        """Decode latent points into rows of the data's schema.

        Parameters
        ----------
        z : array-like of shape (n_rows, latent_dim_)
            Latent points (e.g. ``transform`` output, or draws from ``N(0, I)``).
        sample : bool, default=False
            ``False``: the most probable row (decoder mean, most probable category);
            ``True``: draw each column from the decoder's distribution (the AE has no
            variance: its numeric columns are then its output).
        random_state : int, RandomState or None
            Seeds the draws when ``sample``.
        with_missing : bool, default=False
            With ``sample``, also draw gaps in the columns whose gaps are modelled.

        Returns
        -------
        np.ndarray of shape (n_rows, n_features_in_) for a model fitted on a matrix, or
        pandas.DataFrame for a table, in the original units and labels (a datetime
        column comes back as its derived features, e.g. ``ts.hour``).
        """
        check_is_fitted(self, "module_")
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_dim_:
            raise ValueError(f"z must have shape (n_rows, {self.latent_dim_}), not {z.shape}")
        heads = self._heads()
        with torch.no_grad(), torch_threads(self.n_jobs):
            net = self._scoring_network().cpu()
            out, logvar, logits = self._decode_outputs(net, torch.from_numpy(z))
            if sample:
                seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
                gen = torch.Generator().manual_seed(seed)
                values, missing = heads.sample(out, logvar, logits, gen, with_missing)
            else:
                values = heads.expected(out, logits)
                missing = torch.zeros(values.shape, dtype=torch.bool)
        if getattr(self, "layout_", None) is None:
            return as_numpy(values) * self.scale_ + self.mean_
        return self.layout_.to_frame(as_numpy(values), missing.numpy())

    def _expectations(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Most probable values in model space at the posterior mean ``(n, n_columns)``,
        and the probability of each observed category or boolean (NaN elsewhere)."""
        heads = self._heads()
        values, probabilities = [], []
        with torch.no_grad(), torch_threads(self.n_jobs):
            net = self._scoring_network()
            for start in range(0, len(rows), 65536):
                xs = torch.from_numpy(rows[start:start + 65536]).to(self.device_, torch.float64)
                z = self._encode_mean(net, heads.inputs(xs))
                out, _, logits = self._decode_outputs(net, z)
                values.append(as_numpy(heads.expected(out, logits)))
                probabilities.append(as_numpy(heads.observed_probability(xs, logits)))
        if not values:
            return np.empty((0, heads.n_blocks)), np.empty((0, heads.n_blocks))
        return np.concatenate(values), np.concatenate(probabilities)

    def explain(self, X, top_k: int = 3) -> list:
        """The columns that contribute most to each row's score, with what was observed
        and what the model expected.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Rows to explain.
        top_k : int, default=3
            Columns per row.

        Returns
        -------
        list of latentwatch.explain.RowExplanation
            One per row, in order; ``str()`` of one reads e.g.
            ``amount: 4,120.00 (expected about 38)``.
        """
        from latentwatch.explain import explain_rows

        return explain_rows(self, X, top_k=top_k)


def _is_table(X, schema) -> bool:
    """Whether ``fit`` takes the table path: a schema was given, or ``X`` is a DataFrame
    with a column that is not plain numbers or with a missing value."""
    if schema is not None:
        return True
    if not isinstance(X, pd.DataFrame):
        return False
    for dtype in X.dtypes:
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            return True
    return bool(X.isna().to_numpy().any())


def _as_frame(X) -> pd.DataFrame:
    """A DataFrame with string column names (``x0``, ``x1``... for an array)."""
    if isinstance(X, pd.DataFrame):
        if all(isinstance(c, str) for c in X.columns):
            return X
        return X.set_axis([str(c) for c in X.columns], axis=1)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D table, got an array of shape {X.shape}")
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def _resolve_schema(schema: Any, frame: pd.DataFrame) -> TableSchema:
    if isinstance(schema, TableSchema):
        missing = [c for c in (*schema.names, *schema.id_columns) if c not in frame.columns]
        if missing:
            raise DataError(f"column {missing[0]!r} of the schema is not in the data")
        return schema
    return infer_schema(frame, overrides=schema if isinstance(schema, dict) else None)
