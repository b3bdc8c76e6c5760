"""What a time-series model's scores say per channel and per step.

A windowed model's per-block parts (``feature_scores``) are the nats of each
``(step, channel)`` entry of a row's window, oldest step first; here they are summed by
channel and the steps that carry most of a channel's nats are named.
"""

from __future__ import annotations

import numpy as np

# Steps named per channel in a description.
STEPS_NAMED = 3


def by_channel(codec, parts: np.ndarray) -> np.ndarray:
    """Nats per channel ``(n, C)``: ``sum_s parts[:, s, c]`` over the window's steps.

    Parameters
    ----------
    codec : latentwatch.data.windows.WindowCodec
    parts : np.ndarray of shape (n, W * C)
        Per-block parts, in the codec's block order (step-major).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> codec = SimpleNamespace(window=2, channels=["a", "b"])
    >>> by_channel(codec, np.array([[1.0, 2.0, 3.0, 4.0]])).tolist()
    [[4.0, 6.0]]
    """
    parts = np.asarray(parts, dtype=np.float64)
    return parts.reshape(len(parts), codec.window, len(codec.channels)).sum(axis=1)


def describe_channels(codec, parts: np.ndarray, limit: int = 3) -> str:
    """``"b 41.2 nats (t, t-1, t-3); a 2.1 nats (t-7, ...)"``: the channels of one row's
    window by their nats, largest first, each with the steps that carry most of them."""
    parts = np.asarray(parts, dtype=np.float64).reshape(codec.window, len(codec.channels))
    totals = parts.sum(axis=0)
    out = []
    for c in np.argsort(-totals, kind="stable")[:limit]:
        steps = np.argsort(-parts[:, c], kind="stable")[:STEPS_NAMED]
        lags = ", ".join("t" if s == codec.window - 1 else f"t-{codec.window - 1 - s}"
                         for s in steps)
        out.append(f"{codec.channels[c]} {totals[c]:.3g} nats ({lags})")
    return "; ".join(out)
