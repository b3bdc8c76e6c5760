"""A small frame (fewer than ``UNSEEN_WARN_MIN`` rows) is encoded through
:mod:`latentwatch.data.small` with the same packed rows, unseen flags and problems, bit for
bit, as the per-column pandas path: random mixed tables with gaps, unseen categories,
booleans spelt three ways, datetimes, numbers as categories, and bad cells."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentwatch.data import codec as codec_module
from latentwatch.data import small
from latentwatch.data.codec import UNSEEN_WARN_MIN, TableCodec

SHOPS = ["fuel", "grocery", "travel", "bar"]
WORDS = ["yes", "no", " Y ", "FALSE", "t", "maybe"]
STAMPS = ["2024-03-04 08:49:19", "2023-12-31T23:59:59", "1969-07-20 20:17:40",
          "2024-02-29 00:00:00", "not a date", "2024-06-01T12:00:00+02:00",
          "2024-02-30 10:00:00", " 2024-03-04 08:49:19", "2024-03-04T08:49:19.5",
          "\u0662024-03-04 08:49:19", "2024-03-04 24:00:00"]


def _training(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    return pd.DataFrame({
        "amount": np.exp(rng.normal(3, 1, n)),
        "age": rng.integers(18, 90, n),
        "score": rng.normal(size=n),
        "shop": rng.choice(SHOPS[:3], n).astype(object),
        "shop_s": pd.Series(rng.choice(SHOPS[:3], n), dtype="string"),
        "level": rng.integers(1, 4, n),
        "online": rng.random(n) < 0.3,
        "member": rng.choice(["yes", "no"], n).astype(object),
        "flag01": rng.integers(0, 2, n).astype(float),
        "when": pd.Series(pd.date_range("2024-01-01", periods=n, freq="37min").astype(str),
                          dtype=object),
    })


SCHEMA = {"columns": {"amount": {"kind": "numeric", "log": True},
                      "level": {"kind": "categorical"},
                      "online": {"kind": "boolean"}, "member": {"kind": "boolean"},
                      "flag01": {"kind": "boolean"}}}


@pytest.fixture(scope="module")
def codecs():
    rng = np.random.default_rng(0)
    frame = _training(rng)
    frame.loc[rng.random(len(frame)) < 0.1, ["shop", "score", "when", "member"]] = None
    plain = TableCodec(schema=SCHEMA).fit(frame)
    quantile = TableCodec(schema=SCHEMA, numeric_transform="quantile").fit(frame)
    return plain, quantile


def _both(codec: TableCodec, frame: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = codec.encode(frame)
        original = codec_module.SmallFrame.of
        codec_module.SmallFrame.of = classmethod(lambda cls, f: None)
        try:
            slow = codec.encode(frame)
        finally:
            codec_module.SmallFrame.of = original
    return fast, slow


def _assert_same(fast, slow) -> None:
    assert fast.packed.tobytes() == slow.packed.tobytes()
    np.testing.assert_array_equal(fast.unseen, slow.unseen)
    np.testing.assert_array_equal(fast.bad, slow.bad)
    assert fast.problems == slow.problems


cell = st.sampled_from


@st.composite
def frames(draw):
    n = draw(st.integers(1, UNSEEN_WARN_MIN - 1))
    gap = st.sampled_from([None, np.nan])

    def column(values):
        return [draw(st.one_of(values, gap)) for _ in range(n)]

    numbers = st.floats(-1e6, 1e6, allow_nan=False, width=32)
    frame = pd.DataFrame({
        "amount": pd.Series(column(st.one_of(st.floats(0, 1e5), cell([-0.5, -2.0, np.inf]))),
                            dtype=float),
        "age": pd.Series([draw(st.integers(0, 120)) for _ in range(n)]),
        "score": pd.Series(column(numbers), dtype=float),
        "shop": pd.Series(column(cell([*SHOPS, " fuel", "FUEL"])), dtype=object),
        "shop_s": pd.Series(column(cell(SHOPS)), dtype="string"),
        "level": pd.Series([draw(st.integers(0, 5)) for _ in range(n)]),
        "online": pd.Series([draw(st.booleans()) for _ in range(n)]),
        "member": pd.Series(column(cell(WORDS)), dtype=object),
        "flag01": pd.Series(column(cell([0.0, 1.0, 2.0])), dtype=float),
        "when": pd.Series(column(cell(STAMPS)), dtype=object),
    })
    if draw(st.booleans()):  # the text columns as pandas' string dtype
        frame["member"] = frame["member"].astype("string")
        frame["when"] = frame["when"].astype("string")
    if draw(st.booleans()):  # the categorical numbers as floats with gaps
        frame["level"] = pd.Series(column(cell([1.0, 2.0, 3.0, 7.0, 0.0])), dtype=float)
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames())
def test_small_frames_encode_as_the_pandas_path(codecs, frame):
    for codec in codecs:
        _assert_same(*_both(codec, frame))


def test_the_small_path_reads_the_common_cases_itself(codecs, monkeypatch):
    """The blocks of a clean row are read by the small path, not handed back to pandas."""
    codec = codecs[0]
    row = pd.DataFrame({"amount": [12.5], "age": [40], "score": [0.1], "shop": ["bar"],
                        "shop_s": pd.Series(["fuel"], dtype="string"), "level": [2],
                        "online": [True], "member": ["no"], "flag01": [1.0],
                        "when": ["2024-03-04 08:49:19"]})
    handed_back = []
    original = codec_module._block_values
    monkeypatch.setattr(codec_module, "_block_values",
                        lambda block, *a: handed_back.append(block.name) or original(block, *a))
    fast = codec.encode(row)
    assert handed_back == [] and not fast.problems
    monkeypatch.setattr(codec_module.SmallFrame, "of", classmethod(lambda cls, f: None))
    _assert_same(fast, codec.encode(row))


def test_bad_cells_keep_their_messages(codecs):
    codec = codecs[0]
    row = pd.DataFrame({"amount": [-3.0], "age": [40], "score": [np.inf], "shop": ["bar"],
                        "shop_s": pd.Series(["fuel"], dtype="string"), "level": [2],
                        "online": [True], "member": ["maybe"], "flag01": [2.0],
                        "when": ["not a date"]})
    fast, slow = _both(codec, row)
    _assert_same(fast, slow)
    assert len(fast.problems) == 1 and "is not above -1" in fast.problems[0].message


def test_unusual_cells_are_left_to_pandas():
    frame = pd.DataFrame({"a": [1.5], "b": pd.Series([3], dtype=object), "c": ["x"]})
    cells = small.SmallFrame.of(frame)
    assert cells.column("a")[0] == small.NUMBER
    assert cells.column("b") is None  # a number in a text column
    assert cells.column("c") == (small.TEXT, ["x"])
    assert small.SmallFrame.of(pd.DataFrame([[1, 2]], columns=["a", "a"])) is None
