"""The file planning shared by the streamed fit and the Dask adapter."""

import pandas as pd
import pytest

from latentwatch.data.files import plan_pieces, read_row_groups, resolve_files
from latentwatch.errors import DataError


def test_a_list_gives_the_files_of_each_item_in_turn_each_once(tmp_path):
    for name in ("b.parquet", "a.parquet", "_meta.parquet", ".hidden.parquet"):
        pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / name)
    (tmp_path / "sub").mkdir()
    pd.DataFrame({"x": [2.0]}).to_parquet(tmp_path / "sub" / "c.parquet")
    files, fmt = resolve_files([tmp_path / "sub" / "c.parquet", tmp_path,
                                str(tmp_path / "a.parquet")])
    assert [f.name for f in files] == ["c.parquet", "a.parquet", "b.parquet"]
    assert fmt == "parquet"
    with pytest.raises(DataError, match=r"absent\.csv: no such file or folder$"):
        resolve_files([tmp_path / "a.parquet", tmp_path / "absent.csv"])


def test_pieces_count_rows_globally_and_in_their_file(tmp_path):
    for k in range(2):
        pd.DataFrame({"x": range(3)}).to_csv(tmp_path / f"p{k}.csv", index=False)
    files, fmt = resolve_files(tmp_path)
    pieces = plan_pieces(files, fmt, chunk_rows=2)
    assert [(p.file, p.part, p.start, p.rows, p.first_row) for p in pieces] == [
        (0, 0, 0, 2, 1), (0, 1, 2, 1, 3), (1, 0, 3, 2, 1), (1, 1, 5, 1, 3)]


def test_row_groups_are_read_with_nullable_integers(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"n": pd.array([1, None, 3, 4], dtype="Int64"),
                  "s": list("abcd")}).to_parquet(path, row_group_size=2)
    frame = read_row_groups(path, [0], ["n"])
    assert list(frame.columns) == ["n"] and str(frame["n"].dtype) == "Int64"
    assert frame["n"].isna().tolist() == [False, True]
    assert read_row_groups(path, None)["s"].tolist() == list("abcd")
    with pytest.raises(DataError, match=r"a\.parquet: column 'zz' is missing \(it has: n, s"):
        read_row_groups(path, [0], ["zz"])
