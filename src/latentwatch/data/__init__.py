"""How user data becomes tensors and back; knows no model.

:func:`codec_for` is the ONE place that picks the data kind. Today there is one: a
table (a numeric matrix is a table whose columns are all numeric); windows of a time
series or images would be further cases here.
"""

from __future__ import annotations

from typing import Any

from latentwatch.data.codec import TableCodec


def codec_for(X: Any, schema: Any = None) -> TableCodec:
    """The (unfitted) codec for data ``X`` read with ``schema``.

    Parameters
    ----------
    X : pandas.DataFrame
        The data, as the estimator's boundary hands it over (arrays become frames with
        columns ``x0, x1, ...`` there).
    schema : TableSchema, dict, "infer" or None
        See :func:`latentwatch.data.codec.resolve_schema`.

    Returns
    -------
    TableCodec
        Call ``.fit(training_rows)`` on it.
    """
    return TableCodec(schema)


def codec_from_dict(data: dict[str, Any]) -> TableCodec:
    """A fitted codec from its ``to_dict`` form (the model file)."""
    kind = data.get("kind", "table")
    if kind != "table":
        raise ValueError(f"unknown data kind {kind!r}")
    return TableCodec.from_dict(data)


__all__ = ["TableCodec", "codec_for", "codec_from_dict"]
