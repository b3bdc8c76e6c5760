"""The streaming data source: files, the two-pass codec, hashed splits, the shards."""

import numpy as np
import pandas as pd
import pytest
from scale_helpers import SCHEMA, write_parts

from latentwatch.data import dataset, statistics
from latentwatch.data.codec import TableCodec
from latentwatch.data.dataset import (
    StreamingRows,
    StreamSplit,
    TableDataset,
    deal_pieces,
    fit_codec_stream,
    resolve_files,
)
from latentwatch.data.quantiles import from_normal_scores, to_normal_scores
from latentwatch.engine.splits import hashed_uniforms
from latentwatch.errors import DataError

FLOATS = ("mean", "scale")


def assert_same_codec(streamed: TableCodec, in_memory: TableCodec) -> None:
    """Equal to_dict, but means and scales to 1e-12 relative (summation order)."""
    a, b = streamed.to_dict(), in_memory.to_dict()
    assert a["schema"] == b["schema"]
    assert a["dates"] == b["dates"]
    assert [x["name"] for x in a["blocks"]] == [x["name"] for x in b["blocks"]]
    for x, y in zip(a["blocks"], b["blocks"], strict=True):
        for key in x:
            if key in FLOATS:
                assert x[key] == pytest.approx(y[key], rel=1e-12), (x["name"], key)
            else:
                assert x[key] == y[key], (x["name"], key)


def fitting_rows(data: TableDataset, split: StreamSplit) -> np.ndarray:
    return np.flatnonzero(split.codes(0, data.n_rows) != 2)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streamed_codec_is_the_in_memory_codec(tmp_path, transactions, fmt):
    _, train, _, _ = transactions
    frame = train.copy()
    frame.loc[frame.index[::97], "amount"] = np.nan  # gaps, some of them in calibration rows
    write_parts(frame, tmp_path / "d", 4, 300, fmt)
    data = TableDataset(tmp_path / "d", chunk_rows=256, text_columns=["transaction_id"])
    split = StreamSplit(11, 0.2, 0.1, 0.05)
    fitted = fit_codec_stream(data, SCHEMA, split)
    whole = pd.concat([pd.read_parquet(p) if fmt == "parquet" else pd.read_csv(
        p, dtype={"transaction_id": str}, keep_default_na=False, na_values=[""])
        for p in data.files], ignore_index=True)
    rows = fitting_rows(data, split)
    expected = TableCodec(SCHEMA).fit(whole.iloc[rows], gaps_in=whole)
    assert_same_codec(fitted.codec, expected)
    assert any(b.missing for b in fitted.codec.blocks if b.name == "amount")
    assert sum(fitted.counts.values()) == len(whole) == data.n_rows


@pytest.mark.parametrize("transform", ["quantile", "mixed"])
def test_streamed_quantile_knots_are_the_in_memory_knots(tmp_path, transactions, transform):
    _, train, _, _ = transactions
    write_parts(train, tmp_path / "d", 3, 400)
    data = TableDataset(tmp_path / "d", chunk_rows=256, text_columns=["transaction_id"])
    split = StreamSplit(5, 0.1, 0.1, 0.05)
    fitted = fit_codec_stream(data, SCHEMA, split, numeric_transform=transform)
    expected = TableCodec(SCHEMA, transform).fit(train.iloc[fitting_rows(data, split)])
    assert_same_codec(fitted.codec, expected)
    assert fitted.codec.numeric_transform == transform
    numeric = [b for b in fitted.codec.blocks if b.kind == "numeric"]
    assert (transform == "quantile") == all(b.quantiles is not None for b in numeric)


def test_knots_from_a_small_sample_end_at_the_whole_datasets_extremes(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.lognormal(0, 1, 3000), "n": rng.poisson(0.3, 3000)})
    write_parts(frame, tmp_path / "d", 3, 500)
    fitted = fit_codec_stream(TableDataset(tmp_path / "d"), None, StreamSplit(2, 0.0, 0.1, 0.1),
                              sample_rows=200, numeric_transform="quantile")
    codec = fitted.codec
    for block in codec.blocks:
        assert block.quantiles[0] == frame[block.name].min() == block.low
        assert block.quantiles[-1] == frame[block.name].max() == block.high
    knots = np.array(next(b.quantiles for b in codec.blocks if b.name == "n"))
    counts = frame["n"].to_numpy(dtype=float)
    assert np.allclose(from_normal_scores(to_normal_scores(counts, knots), knots), counts,
                       rtol=1e-9, atol=1e-12)


def test_held_out_rows_follow_the_hash_of_the_global_row(tmp_path, transactions):
    _, train, _, _ = transactions
    write_parts(train, tmp_path / "d", 3, 400)
    split = StreamSplit(5, 0.1, 0.2, 0.1)
    coarse = fit_codec_stream(TableDataset(tmp_path / "d", chunk_rows=10_000), SCHEMA, split)
    fine = fit_codec_stream(TableDataset(tmp_path / "d", chunk_rows=77), SCHEMA, split)
    codes = split.codes(0, len(train))
    for name, code in (("validation", 1), ("calibration", 2), ("training_sample", 3)):
        expected = train.iloc[np.flatnonzero(codes == code)][coarse.codec.sources]
        for fitted in (coarse, fine):
            got = getattr(fitted, name)[coarse.codec.sources]
            pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                          expected.reset_index(drop=True), check_dtype=False)
    assert abs(coarse.counts["validation"] / len(train) - 0.2) < 0.03
    assert abs(coarse.counts["calibration"] / len(train) - 0.1) < 0.03


def test_uniforms_do_not_depend_on_the_cutting():
    whole = hashed_uniforms(3, 0, 5000)
    parts = np.concatenate([hashed_uniforms(3, s, 500) for s in range(0, 5000, 500)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, hashed_uniforms(4, 0, 5000))
    counts = np.histogram(whole, bins=10, range=(0, 1))[0]
    assert counts.min() > 400 and counts.max() < 600


def test_files_resolve_in_order_and_refuse_mixed_or_missing(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("b.parquet", "a.parquet", "c.parquet"):
        pd.DataFrame({"x": [1.0]}).to_parquet(folder / name)
    (folder / ".hidden.parquet").write_bytes(b"")
    files, fmt = resolve_files(folder)
    assert [f.name for f in files] == ["a.parquet", "b.parquet", "c.parquet"] and fmt == "parquet"
    assert [f.name for f in resolve_files(f"{folder}/[ab].parquet")[0]] == ["a.parquet",
                                                                           "b.parquet"]
    pd.DataFrame({"x": [1.0]}).to_csv(folder / "d.csv", index=False)
    with pytest.raises(DataError, match=r"mixes csv .*d\.csv.* and parquet") as error:
        resolve_files(folder)
    assert "\n" not in str(error.value)
    with pytest.raises(DataError, match=r"\*\.pq: no file matches"):
        resolve_files(f"{folder}/*.pq")
    with pytest.raises(DataError, match="no such file or folder"):
        resolve_files(tmp_path / "absent")


def test_a_bad_value_is_named_by_file_row_and_column(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    good = pd.DataFrame({"x": np.arange(200.0), "y": np.arange(200.0) % 3})
    good.to_csv(folder / "a.csv", index=False)
    bad = good.astype({"x": object})
    bad.loc[57, "x"] = "oops"
    bad.to_csv(folder / "b.csv", index=False)
    data = TableDataset(folder, chunk_rows=50)
    with pytest.raises(DataError) as error:
        fit_codec_stream(data, {"columns": {"x": "numeric", "y": "numeric"}},
                         StreamSplit(1, 0.0, 0.1, 0.1))
    message = str(error.value)
    assert "b.csv: row 58, column 'x': 'oops'" in message and "\n" not in message


def test_labels_beyond_the_cap_keep_the_most_frequent(monkeypatch):
    monkeypatch.setattr(statistics, "MAX_TRACKED_LABELS", 10)
    labels = statistics.LabelCounts()
    for k in range(5):
        chunk = pd.Series({"common": 100, **{f"rare{k}-{j}": 1 for j in range(6)}})
        labels.add(chunk)
    assert labels.counts["common"] == 500
    assert labels.distinct() >= 10 and len(labels.counts) <= 10


def test_pieces_are_dealt_disjointly_and_balanced():
    pieces = [dataset.Piece(0, k, 10 * k, 10, 1) for k in range(7)]
    shards = deal_pieces(pieces, [10, 30, 10, 10, 20, 10, 10], 2, np.arange(7))
    assert sorted(p.part for s in shards for p in s) == list(range(7))
    sizes = [sum([10, 30, 10, 10, 20, 10, 10][p.part] for p in s) for s in shards]
    assert abs(sizes[0] - sizes[1]) <= 30


def test_ranks_read_disjoint_shards_that_cover_the_training_rows(transactions):
    folder, train, _, _ = transactions
    data = TableDataset(folder, text_columns=["transaction_id"])
    split = StreamSplit(9, 0.0, 0.1, 0.05)
    codec = fit_codec_stream(data, SCHEMA, split).codec
    training = np.flatnonzero(np.isin(split.codes(0, data.n_rows), (0, 3)))
    ranks = [StreamingRows(data, codec, split, batch_size=64, seed=3, rank=r, world_size=2,
                           shuffle_rows=256) for r in range(2)]
    for epoch in (0, 1):
        seen = [r.row_indices(epoch) for r in ranks]
        assert len(np.intersect1d(seen[0], seen[1])) == 0
        assert np.array_equal(np.sort(np.concatenate(seen)), training)
    one = StreamingRows(data, codec, split, batch_size=64, seed=3, shuffle_rows=256)
    one.set_epoch(0)
    first = torch_rows(one)
    assert first.shape == (len(training), codec.packed_width)
    expected = codec.encode(train.iloc[training]).packed.astype(np.float32)
    assert np.array_equal(sort_rows(first), sort_rows(expected))
    one.set_epoch(0)
    assert np.array_equal(torch_rows(one), first)  # an epoch is the same on every run
    one.set_epoch(1)
    assert not np.array_equal(torch_rows(one), first)  # and another epoch another order


def torch_rows(stream) -> np.ndarray:
    return np.concatenate([b.numpy() for b in stream])


def sort_rows(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])]


def test_dataloader_workers_read_their_own_pieces_and_get_the_codec_as_json(transactions):
    import torch

    folder, train, _, _ = transactions
    data = TableDataset(folder, text_columns=["transaction_id"])
    split = StreamSplit(2, 0.0, 0.1, 0.05)
    codec = fit_codec_stream(data, SCHEMA, split).codec
    rows = StreamingRows(data, codec, split, batch_size=128, seed=1, num_workers=2,
                         shuffle_rows=256)
    state = rows.__getstate__()
    assert isinstance(state["codec"], str)  # plain JSON crosses to a spawned worker
    copy = StreamingRows.__new__(StreamingRows)
    copy.__setstate__(state)
    assert copy.codec == codec
    shards = [set(p.part + 100 * p.file for p in rows.shard_of(0, w)) for w in range(2)]
    assert not shards[0] & shards[1]
    loader = torch.utils.data.DataLoader(rows, batch_size=None, num_workers=2)
    got = np.concatenate([b.numpy() for b in loader])
    training = np.flatnonzero(np.isin(split.codes(0, data.n_rows), (0, 3)))
    expected = codec.encode(train.iloc[training]).packed.astype(np.float32)
    assert np.array_equal(sort_rows(got), sort_rows(expected))
