"""How user data becomes tensors and back; knows no model.

:func:`codec_for` is the ONE place that picks the data kind. Today there is one: a
table (a numeric matrix is a table whose columns are all numeric), and windows of a
time series (:mod:`latentwatch.data.windows`) when a time column or a window is given.
Both satisfy :class:`~latentwatch.data.protocol.Codec`, the capabilities the estimator
reads (context rows, decoding, training rows, score scale) instead of asking which kind
it holds. :func:`codec_from_dict` is the one place that reads a codec back.

The modules, one job each: ``schema`` (column kinds and the rule that picks how a table
is read), ``cells`` (reading cells), ``statistics`` (mergeable per-column statistics: the
fitting), ``blocks`` (blocks and the packed layout), ``codec`` (the table codec: encode,
decode, to_dict), ``decoding`` (model-space values back to data), ``problems``,
``windows`` (the series codec), ``heads``, ``quantiles``, ``scaling``, ``io``,
``dataset`` (tables larger than memory).
"""

from __future__ import annotations

from typing import Any

from latentwatch.data.codec import TableCodec
from latentwatch.data.protocol import Codec


def codec_for(X: Any, schema: Any = None, *, time_column: str | None = None,
              window: int | str | None = None, source: str | None = None,
              numeric_transform: str = "standard", score_steps: int | None = None) -> Codec:
    """The (unfitted) codec for data ``X`` read with ``schema``.

    A ``time_column`` or a ``window`` makes ``X`` a time series: a
    :class:`~latentwatch.data.windows.WindowCodec` (``window=None`` or ``"auto"`` then
    chooses the window from ``X``); otherwise a table.

    Parameters
    ----------
    X : pandas.DataFrame
        The data, as the estimator's boundary hands it over (arrays become frames with
        columns ``x0, x1, ...`` there).
    schema : TableSchema, dict, "infer" or None
        See :func:`latentwatch.data.codec.resolve_schema` (a series: id and excluded
        columns only).
    time_column : str or None
    window : int, "auto" or None
    source : str or None
        Name of the data, for messages.
    numeric_transform : {"standard", "quantile"}, default="standard"
        How a table's numeric columns are read (see :class:`TableCodec`); a series keeps
        its standardised channels.
    score_steps : int or None
        A series: the newest steps of a window that make a row's score (see
        :class:`~latentwatch.data.windows.WindowCodec`).

    Returns
    -------
    Codec
        A :class:`TableCodec` or a :class:`~latentwatch.data.windows.WindowCodec`; call
        ``.fit(training_rows)`` on it.
    """
    if time_column is not None or window is not None:
        from latentwatch.data.windows import window_codec

        return window_codec(X, time_column, window, schema, source, score_steps)
    return TableCodec(schema, numeric_transform=numeric_transform)


def codec_from_dict(data: dict[str, Any]) -> Codec:
    """A fitted codec from its ``to_dict`` form (the model file), by its ``kind``."""
    kind = data.get("kind", "table")
    if kind == "window":
        from latentwatch.data.windows import WindowCodec

        return WindowCodec.from_dict(data)
    if kind != "table":
        raise ValueError(f"unknown data kind {kind!r} in the model file (known: table, "
                         "window); load it with the latentwatch version that wrote it")
    return TableCodec.from_dict(data)


__all__ = ["Codec", "TableCodec", "codec_for", "codec_from_dict"]
