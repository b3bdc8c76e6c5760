"""The window codec: windows against brute force, masks, gaps, bad input, streaming."""

import numpy as np
import pandas as pd
import pytest
import torch

from latentwatch.data import codec_for, codec_from_dict
from latentwatch.data.heads import TableHeads
from latentwatch.data.windows import RepeatedTimeWarning, WindowCodec, choose_window
from latentwatch.errors import DataError


def _series():
    times = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:01", "2024-01-01 00:02",
                            "2024-01-01 00:05", "2024-01-01 00:06", "2024-01-01 00:07",
                            "2024-01-01 00:08", "2024-01-01 00:09"])
    return pd.DataFrame({"t": times.astype(str), "x": [1.0, 2, np.nan, 4, 5, 6, 7, 8],
                         "y": [10.0, 20, 30, 40, 50, 60, 70, 80], "id": list("abcdefgh")})


def _brute_force(frame, codec):
    """Window of every row by walking the timestamps one minute at a time."""
    stamps = pd.to_datetime(frame["t"])
    by_time = {s: i for i, s in enumerate(stamps)}
    out = []
    for stamp in stamps:
        row = []
        for lag in range(codec.window - 1, -1, -1):
            j = by_time.get(stamp - pd.Timedelta(minutes=lag))
            for b in codec.channel_blocks:
                value = np.nan if j is None else frame[b.name].iat[j]
                row.append((value - b.mean) / b.scale)
        out.append(row)
    return np.array(out)


def test_windows_match_brute_force_with_gaps_and_start():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=3).fit(frame)
    assert codec.interval == 60.0
    assert codec.sources == ["t", "x", "y"]
    assert codec.names[:2] == ["x[t-2]", "y[t-2]"] and codec.names[-1] == "y[t]"
    encoded = codec.encode(frame)
    width = 3 * 2
    expected = _brute_force(frame, codec)
    observed = encoded.packed[:, 2 * width:]
    np.testing.assert_array_equal(observed, ~np.isnan(expected))
    np.testing.assert_allclose(encoded.packed[:, width:2 * width],
                               np.nan_to_num(expected), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(encoded.packed[:, :width], encoded.packed[:, width:2 * width])
    assert not encoded.problems and len(encoded.packed) == len(frame)


def test_a_masked_entry_adds_nothing_and_leaves_the_others_unchanged():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=3).fit(frame)
    heads = TableHeads(codec)
    rows = torch.from_numpy(codec.encode(frame).packed)
    mean = torch.randn(len(rows), codec.n_blocks, dtype=torch.float64)
    logvar = torch.zeros_like(mean)
    logits = torch.zeros(len(rows), 0, dtype=torch.float64)
    nll = heads.nll(rows, mean, logvar, logits)
    masked = rows[:, 2 * codec.n_blocks:] == 0
    assert masked.any()
    assert (nll[masked] == 0).all()
    changed = rows.clone()
    targets = changed[:, codec.n_blocks:2 * codec.n_blocks]
    targets[masked] = 123.0  # a value under the mask is never read
    again = heads.nll(changed, mean, logvar, logits)
    assert torch.equal(again, nll)


def test_streamed_chunks_encode_exactly_as_the_whole_series():
    rng = np.random.default_rng(1)
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(rng.choice(
        [1, 1, 1, 2, 7], size=300)), "s")
    frame = pd.DataFrame({"t": times, "x": rng.normal(size=300), "y": rng.normal(size=300)})
    frame.loc[rng.choice(300, 20), "x"] = np.nan
    codec = codec_for(frame, time_column="t", window=5).fit(frame)
    whole = codec.encode(frame, keep_shown=True)
    parts, shown, context = [], [], None
    for start in range(0, 300, 37):
        chunk = frame.iloc[start:start + 37]
        encoded = codec.encode(chunk, context=context, keep_shown=True)
        parts.append(encoded.packed)
        shown.append(encoded.shown)
        context = chunk.iloc[-codec.context_rows:]
    np.testing.assert_array_equal(np.concatenate(parts), whole.packed)
    pd.testing.assert_frame_equal(pd.concat(shown, ignore_index=True),
                                  whole.shown.reset_index(drop=True))


def test_an_unsorted_time_is_a_problem_and_a_repeated_one_is_kept_with_a_warning():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=2).fit(frame)
    broken = frame.copy()
    broken.loc[4, "t"] = broken.loc[2, "t"]
    broken.loc[6, "t"] = broken.loc[5, "t"]
    with pytest.warns(RepeatedTimeWarning) as caught:
        encoded = codec.encode(broken, source="s.csv")
    assert len(caught) == 1 and str(caught[0].message) == (
        f"s.csv: 1 row repeats the time of the row before (row 7, {broken.loc[6, 't']!r}); "
        "kept in file order, each one step after the row before it; remove or aggregate "
        "them first to read them otherwise")
    assert [p.position for p in encoded.problems] == [4]
    assert "before the time of an earlier row" in encoded.problems[0].message
    assert encoded.bad.tolist() == [False] * 4 + [True] + [False] * 3
    # the repeated row is one step after the row before it: its window is the rows 5, 6
    clean = codec.encode(frame)
    np.testing.assert_array_equal(encoded.packed[6], clean.packed[6])
    with pytest.raises(DataError, match=r"s\.csv: 1 row cannot be used: row 5, column 't'"):
        encoded.raise_for_problems("s.csv")


def test_the_same_instants_with_other_utc_offsets_are_the_same_times():
    frame = _series()
    stamps = pd.to_datetime(frame["t"]).dt.tz_localize("UTC")
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=3).fit(frame)
    zulu = frame.assign(t=stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    local = frame.assign(t=stamps.dt.tz_convert("America/New_York").map(
        lambda s: s.isoformat()))
    mixed = frame.assign(t=[z if i % 2 else o for i, (z, o) in
                            enumerate(zip(zulu["t"], local["t"], strict=True))])
    reference = codec.encode(frame).packed
    for variant in (zulu, local, mixed):
        encoded = codec.encode(variant)
        assert not encoded.problems
        np.testing.assert_array_equal(encoded.packed, reference)


def test_a_text_value_in_a_channel_is_a_problem_and_a_gap_is_not():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=2).fit(frame)
    broken = frame.astype({"x": object})
    broken.loc[3, "x"] = "oops"
    encoded = codec.encode(broken)
    assert [(p.position, p.column) for p in encoded.problems] == [(3, "x")]
    assert encoded.bad.sum() == 1


def test_bad_training_input_gives_one_line():
    frame = _series()
    with pytest.raises(DataError, match=r"column 'id' is not numeric \(row 1: 'a'\)"):
        codec_for(frame, time_column="t", window=2)
    with pytest.raises(DataError, match="time column 'when' is not in the data"):
        codec_for(frame, time_column="when", window=2)
    with pytest.raises(DataError, match="8 rows are too few for a window of 5 steps"):
        codec_for(frame, {"exclude": ["id"]}, time_column="t", window=5).fit(frame)
    with pytest.raises(DataError, match="channel 'x' has no value in the training rows"):
        codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=2).fit(
            frame.assign(x=np.nan))
    with pytest.raises(DataError, match="only set id and excluded"):
        codec_for(frame, "infer", time_column="t", window=2)


def test_auto_window_finds_the_period():
    steps = np.arange(2000)
    values = np.column_stack([np.sin(2 * np.pi * steps / 50), np.cos(2 * np.pi * steps / 50)])
    window, rule = choose_window(values)
    assert window == 50 and "dominant period, 50 steps" in rule
    noise = np.random.default_rng(0).normal(size=(2000, 1))
    assert choose_window(noise)[0] == 32
    assert choose_window(values[:100])[0] == 25  # bounded by n / 4


def test_round_trip_of_the_codec():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=3).fit(frame)
    again = codec_from_dict(codec.to_dict())
    assert isinstance(again, WindowCodec) and again == codec
    np.testing.assert_array_equal(again.encode(frame).packed, codec.encode(frame).packed)


def test_partial_training_windows_mask_the_oldest_steps():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=3).fit(frame)
    rows = codec.encode(frame).packed
    out = codec.training_rows(rows, np.random.default_rng(0))
    extra = out[len(rows):]
    assert len(extra) == 4 and np.array_equal(out[:len(rows)], rows)
    width, channels = codec.n_blocks, len(codec.channels)

    def is_masked_copy(row, original):
        for lag in range(1, codec.window):
            head = lag * channels
            parts = [row[k * width:(k + 1) * width] for k in range(3)]
            base = [original[k * width:(k + 1) * width] for k in range(3)]
            if all((p[:head] == 0).all() and np.array_equal(p[head:], b[head:])
                   for p, b in zip(parts, base, strict=True)):
                return True
        return False

    assert all(any(is_masked_copy(row, original) for original in rows) for row in extra)
    scale = codec.full_window_scale(rows)
    np.testing.assert_allclose(scale, width / np.maximum(rows[:, 2 * width:].sum(axis=1), 1))


def test_score_steps_weigh_the_newest_steps_and_round_trip():
    frame = _series()
    codec = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=4,
                      score_steps=2).fit(frame)
    rows = codec.encode(frame).packed
    weights = codec.block_weights(rows)
    assert codec.score_steps == 2 and (weights[:, :4] == 0).all()
    # row 3 (00:05) follows a 3-minute jump: its newest 2 steps hold 2 of 4 entries
    np.testing.assert_allclose(weights[3, 4:], 2.0)
    np.testing.assert_allclose(weights[-1, 4:], 1.0)
    again = codec_from_dict(codec.to_dict())
    assert again == codec and again.score_steps == 2
    whole = codec_for(frame, {"id_columns": ["id"]}, time_column="t", window=4, score_steps=100)
    assert whole.score_steps == 4  # capped at the window: the whole window
    older = codec.to_dict()
    del older["score_steps"]  # a model file of latentwatch 0.2 scored whole windows
    assert codec_from_dict(older).score_steps == 4
