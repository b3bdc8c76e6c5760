"""Mergeable per-column statistics: two pieces merged are the whole, and the table codec
is the statistics of one piece."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentwatch.data import statistics
from latentwatch.data.codec import TableCodec
from latentwatch.data.scaling import fit_standardizer
from latentwatch.data.schema import ColumnSpec, TableSchema, infer_schema
from latentwatch.data.statistics import (
    ColumnStatistics,
    LabelCounts,
    Moments,
    TableStatistics,
    decimals_of,
    is_integer_valued,
)

EXACT = ("count", "low", "high", "integer", "decimals")


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "amount": np.round(rng.lognormal(2, 1, n), 2),
        "count": rng.integers(0, 40, n).astype(float),
        "shop": rng.choice(["a", "b", "c", "d", "e"], n, p=[.4, .3, .2, .07, .03]),
        "flag": rng.choice(["yes", "no"], n),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "min"),
    })
    frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
    return frame


FRAME = _table(300, 0)
SCHEMA = infer_schema(FRAME)


def _merged(frame: pd.DataFrame, cuts: list[int]) -> TableStatistics:
    edges = [0, *sorted(cuts), len(frame)]
    pieces = []
    for a, b in itertools.pairwise(edges):
        piece = TableStatistics(SCHEMA, FRAME)
        piece.update(frame.iloc[a:b])
        pieces.append(piece)
    out = pieces[0]
    for piece in pieces[1:]:
        out = out.merge(piece)
    return out


def _assert_same_blocks(got, expected):
    for a, b in zip(got, expected, strict=True):
        for key, value in vars(b).items():
            if key in ("mean", "scale"):
                assert getattr(a, key) == pytest.approx(value, rel=1e-12), (b.name, key)
            else:
                assert getattr(a, key) == value, (b.name, key)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, len(FRAME) - 1), min_size=1, max_size=4, unique=True))
def test_merged_pieces_give_the_blocks_of_the_whole(cuts):
    whole = TableStatistics(SCHEMA, FRAME)
    whole.update(FRAME)
    merged = _merged(FRAME, cuts)
    _assert_same_blocks(merged.blocks(), whole.blocks())
    assert merged.dates() == whole.dates()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60), st.data())
def test_chan_merge_of_two_pieces_is_the_two_pass_moments(values, data):
    x = np.array(values)
    k = data.draw(st.integers(0, len(x)))
    a = Moments.of_columns(x[:k, None])[0] if k else Moments()
    b = Moments.of_columns(x[k:, None])[0] if k < len(x) else Moments()
    merged = a.merge(b)
    mean, scale = fit_standardizer(x[:, None])
    assert merged.n == len(x)
    assert merged.mean == pytest.approx(mean[0], rel=1e-9, abs=1e-6)
    assert merged.standardizer()[1] == pytest.approx(scale[0], rel=1e-6, abs=1e-6)


def test_one_piece_is_the_two_pass_standardizer_bit_for_bit():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(1001, 4)) * [1, 1e-3, 1e5, 7] + [0, 1, -3, 1e6]
    means, scales = fit_standardizer(matrix)
    got = [m.standardizer() for m in Moments.of_table(matrix)]
    assert [g[0] for g in got] == means.tolist()
    assert [g[1] for g in got] == scales.tolist()


def test_merging_with_an_empty_side_changes_nothing():
    moments = Moments(3, 1.0 / 3.0, 0.7)
    assert Moments().merge(moments) == moments == moments.merge(Moments())


def test_the_table_codec_is_the_statistics_of_one_piece():
    codec = TableCodec(SCHEMA).fit(FRAME)
    whole = TableStatistics(SCHEMA, FRAME)
    whole.update(FRAME)
    assert codec.blocks == whole.blocks() and codec.dates == whole.dates()


def test_rows_outside_the_fitting_mask_count_for_gaps_only():
    spec = ColumnSpec("x", "numeric")
    column = ColumnStatistics(spec)
    column.update(pd.Series([1.0, 2.0, np.nan, 100.0]), np.array([True, True, False, False]))
    assert (column.numeric.low, column.numeric.high, column.numeric.count) == (1.0, 2.0, 2)
    assert column.gaps


def test_unreadable_values_are_returned_with_why():
    column = ColumnStatistics(ColumnSpec("x", "numeric", log=True))
    found = column.update(pd.Series(["1", "abc", "-5", "1e200"]))
    by_message = {u.message: u.mask.tolist() for u in found}
    assert by_message["is not a finite number"] == [False, True, False, False]
    assert by_message[statistics.NOT_ABOVE_MINUS_ONE] == [False, False, True, False]
    assert not any(u.fatal and u.mask.any() for u in found)  # log(1e200) is modelled
    plain = ColumnStatistics(ColumnSpec("x", "numeric")).update(pd.Series([1.0, 1e200]))
    assert [u.mask.tolist() for u in plain if u.fatal] == [[False, True]]


def test_label_counts_merge_and_stay_capped(monkeypatch):
    a, b = LabelCounts(), LabelCounts()
    a.add(pd.Series({"x": 3, "y": 1}))
    b.add(pd.Series({"y": 2, "z": 5}))
    assert a.merge(b).counts.to_dict() == {"x": 3, "y": 3, "z": 5}
    monkeypatch.setattr(statistics, "MAX_TRACKED_LABELS", 4)
    many = LabelCounts()
    many.add(pd.Series({f"l{k}": k + 1 for k in range(6)}))
    assert len(many.counts) == 2 and many.distinct() == 6
    assert set(many.counts.index) == {"l5", "l4"}


def test_boolean_spellings_and_datetime_period_merge():
    spec = ColumnSpec("f", "boolean")
    a, b = ColumnStatistics(spec), ColumnStatistics(spec)
    a.update(pd.Series(["Yes", "no"]))
    b.update(pd.Series(["yes", "yes", "no"]))
    assert a.merge(b).blocks(SCHEMA)[0].categories == ["no", "yes"]
    dates = ColumnSpec("t", "datetime", features=("hour",))
    c, d = ColumnStatistics(dates), ColumnStatistics(dates)
    c.update(pd.Series(pd.to_datetime(["2024-03-01 10:00"])))
    d.update(pd.Series(pd.to_datetime(["2024-01-01 05:00", None])))
    both = c.merge(d)
    assert both.date_column().first.startswith("2024-01-01")
    assert both.date_column().last.startswith("2024-03-01")
    block = both.blocks(TableSchema(columns=(), min_category_count=1))[0]
    assert block.categories == [5, 10] and block.missing


def test_one_integer_rule():
    assert is_integer_valued(np.array([0.0, 3.0, -2.0]))
    assert not is_integer_valued(np.array([2.0**53]))
    assert not is_integer_valued(np.array([1.5]))
    assert decimals_of(np.array([0.125])) == 3 and decimals_of(np.array([1 / 3])) is None


def test_quantile_knots_end_at_the_exact_extremes_of_every_piece():
    schema = TableSchema(columns=(ColumnSpec("n", "numeric"),))
    sample = pd.DataFrame({"n": [1.0, 2.0, 2.0, 3.0]})
    stats = TableStatistics(schema, sample, "quantile")
    stats.update(pd.DataFrame({"n": [0.0, 2.0]}))
    stats.update(pd.DataFrame({"n": [9.0]}))
    knots = stats.blocks()[0].quantiles
    assert knots[0] == 0.0 and knots[-1] == 9.0


def test_an_unknown_transform_is_refused():
    with pytest.raises(ValueError, match="numeric_transform must be one of"):
        TableStatistics(SCHEMA, FRAME, "log")
