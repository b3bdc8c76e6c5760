"""Reading and writing tables: separators, compression, stdin, file modes."""

import bz2
import gzip
import io
import os
import sys
import zipfile

import pandas as pd
import pytest

from latentwatch.data.io import (
    TableWriter,
    iter_tables,
    read_table,
    sniff_delimiter,
)
from latentwatch.errors import DataError

EXPECTED = pd.DataFrame({"id": ["a", "b", "c"], "amount": [1.5, 2.0, 3.25],
                         "note": ["x, y", "z", "w"]})


def _text(sep: str) -> str:
    """``EXPECTED`` with separator ``sep`` (the comma in the first note quoted only for ``,``)."""
    return EXPECTED.to_csv(sep=sep, index=False)


@pytest.mark.parametrize(
    ("lines", "default", "expected"),
    [
        (["a,b,c\n", "1,2,3\n"], ",", ","),
        (["a;b;c\n", "1,5;2;3\n", "4;5,5;6\n"], ",", ";"),  # decimal commas do not fool it
        (["a\tb\n", "1\t2\n"], ",", "\t"),
        (["a|b|c\n", "1|2|3\n"], ",", "|"),
        (['"x;y",b\n', '"1;2",3\n'], ",", ","),  # quoted separators are not separators
        (["a,b\n", "1,2\n"], "\t", ","),  # a .tsv that is really comma-separated
        (["a\tb;c\n", "1\t2;3\n"], "\t", "\t"),  # the default wins a tie
        (["a;b;c|d\n", "1;2;3|4\n"], ",", ";"),  # else the most fields
        (["a,b\n", "1,2,3\n", "4\n"], ",", ","),  # ragged: the reader names the line
        (["a;b;c\n", "1;2;3\n", "4;5;6;7\n"], ",", ";"),
        (["amount (EUR; net)\n", "5\n", "6\n"], ",", ","),  # the header alone splits
        (["value\n", "1\n", "2\n"], ",", ","),
        (["a;b\n", '1;"open\n'], ",", ";"),  # a record left open by the cut is skipped
        ([], ",", ","),
    ],
)
def test_sniff_delimiter(lines, default, expected):
    assert sniff_delimiter(lines, default=default) == expected


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_files_are_read_with_their_separator(tmp_path, sep):
    path = tmp_path / "data.csv"
    path.write_text(_text(sep))
    pd.testing.assert_frame_equal(read_table(path), EXPECTED)


def test_tsv_stays_tab_separated(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("a\tb,c\n1\t2,3\n")
    assert read_table(path).to_dict("list") == {"a": [1], "b,c": ["2,3"]}


def test_a_one_column_file_still_reads(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("value\n1\n2\n3\n")
    assert read_table(path).to_dict("list") == {"value": [1, 2, 3]}


def test_an_unresolvable_header_is_refused_saying_what_to_do(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("amount (EUR; net)\n5\n6\n")
    with pytest.raises(DataError, match="1 column found; the header contains ';'") as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "pass a file with ',' separators" in message
    assert "\n" not in message


def test_a_ragged_file_names_the_bad_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a;b;c\n1;2;3\n4;5;6;7\n")
    with pytest.raises(DataError, match="row 2 has 4 fields but the header has 3"):
        read_table(path)


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress)],
)
def test_compressed_files_are_sniffed_too(tmp_path, suffix, compress):
    path = tmp_path / f"data.csv{suffix}"
    path.write_bytes(compress(_text(";").encode()))
    pd.testing.assert_frame_equal(read_table(path), EXPECTED)


def test_zipped_files_are_sniffed_too(tmp_path):
    path = tmp_path / "data.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", _text("\t"))
    pd.testing.assert_frame_equal(read_table(path), EXPECTED)


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_stdin_is_sniffed_and_streamed_in_chunks(monkeypatch):
    rows = pd.DataFrame({"x": range(50), "y": [f"v{i}" for i in range(50)]})
    monkeypatch.setattr(sys, "stdin", _Stdin(rows.to_csv(sep="|", index=False).encode()))
    chunks = list(iter_tables("-", chunk_rows=7))
    assert [len(c) for c in chunks] == [7] * 7 + [1]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), rows)


def test_stdin_longer_than_the_sniffed_head_is_read_whole(monkeypatch):
    rows = pd.DataFrame({"x": range(5000), "y": 0.5})
    monkeypatch.setattr(sys, "stdin", _Stdin(rows.to_csv(sep=";", index=False).encode()))
    pd.testing.assert_frame_equal(read_table("-"), rows)


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        for name in ("out.csv", "out.parquet"):
            with TableWriter(tmp_path / name) as writer:
                writer.write(EXPECTED)
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.csv.gz", "out.csv.bz2",
                                  "out.csv.xz", "out.csv.zip", "out.parquet"])
def test_write_then_read_round_trips(tmp_path, name):
    path = tmp_path / name
    with TableWriter(path) as writer:
        writer.write(EXPECTED.iloc[:2])
        writer.write(EXPECTED.iloc[2:])
    assert writer.rows == 3
    assert [p.name for p in tmp_path.iterdir()] == [name], "no temporary file is left"
    pd.testing.assert_frame_equal(read_table(path), EXPECTED)
    if name == "out.tsv":
        assert path.read_text().splitlines()[0] == "id\tamount\tnote"
    if name == "out.csv.gz":
        assert gzip.decompress(path.read_bytes()).decode() == _text(",")


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.csv.gz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), TableWriter(path) as writer:
        writer.write(EXPECTED)
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_bytes() == b"old"


def test_zst_output_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(DataError, match=r"cannot write \.zst files; use \.csv\.gz"):
        TableWriter(tmp_path / "out.csv.zst")
    assert not list(tmp_path.iterdir())
