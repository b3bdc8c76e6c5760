"""Both codecs satisfy the Codec protocol; their capabilities are stated, not probed."""

import numpy as np
import pandas as pd
import pytest

from latentwatch.data import Codec, codec_for, codec_from_dict
from latentwatch.data.codec import TableCodec
from latentwatch.data.windows import WindowCodec


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(200)
    return pd.DataFrame({"time": t * 60.0, "a": np.sin(t / 5) + rng.normal(0, .1, 200),
                         "b": rng.normal(size=200)})


@pytest.fixture(scope="module")
def codecs(mixed, series):
    table = codec_for(mixed.drop(columns=["typo"]), {"id_columns": ["id"]}).fit(
        mixed.drop(columns=["typo"]))
    window = codec_for(series, time_column="time", window=6).fit(series)
    return table, window


def test_both_codecs_are_codecs_and_neither_is_the_other(codecs):
    table, window = codecs
    assert isinstance(table, Codec) and isinstance(window, Codec)
    assert not isinstance(window, TableCodec) and not isinstance(table, WindowCodec)
    for codec in codecs:
        again = codec_from_dict(codec.to_dict())
        assert isinstance(again, Codec) and again == codec


def test_a_table_states_no_context_decodes_and_scales_nothing(codecs, mixed):
    table, _ = codecs
    assert (table.kind, table.context_rows, table.can_decode) == ("table", 0, True)
    rows = table.encode(mixed).packed
    assert table.training_rows(rows, np.random.default_rng(0)) is rows
    assert table.block_weights(rows) is None
    assert table.rows_per_chunk(1234) == 1234
    assert table.column_blocks == table.blocks
    again = table.encode(mixed, context=mixed.iloc[:3])
    np.testing.assert_array_equal(again.packed, rows)


def test_a_series_states_its_context_and_refuses_to_decode_in_one_line(codecs, series):
    _, window = codecs
    assert (window.kind, window.context_rows, window.can_decode) == ("window", 5, False)
    rows = window.encode(series).packed
    more = window.training_rows(rows, np.random.default_rng(0))
    assert len(more) > len(rows)
    weights = window.block_weights(rows)
    assert window.score_steps == 5 and weights.shape == (len(rows), 12)
    # the first row sees only its own step (both channels): its 2 entries stand for 10
    assert weights[0, :2].tolist() == [0, 0] and weights[0, 2:] == pytest.approx(5.0)
    assert weights[-1, :2].tolist() == [0, 0] and weights[-1, 2:] == pytest.approx(1.0)
    assert [b.name for b in window.column_blocks] == ["a", "b"]
    with pytest.raises(ValueError) as error:
        window.decode(np.zeros((1, window.n_blocks)))
    assert "does not decode" in str(error.value) and "\n" not in str(error.value)


def test_a_window_expects_values_block_by_block_in_channel_units(codecs):
    _, window = codecs
    frame = window.block_frame(np.zeros((2, window.n_blocks)))
    assert list(frame.columns) == window.names
    means = {b.name: b.mean for b in window.channel_blocks}
    assert frame["a[t]"].iloc[0] == pytest.approx(means["a"], abs=1e-3)


def test_an_unknown_kind_names_what_is_known():
    with pytest.raises(ValueError, match="known: table, window"):
        codec_from_dict({"kind": "image"})
