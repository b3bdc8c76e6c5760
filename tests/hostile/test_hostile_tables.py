"""Hostile tables at the data boundary: every case is refused with one line naming the
file, column and row, or scored with one output row per input row, ids in order."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest
from hostile_helpers import invoke, refused, scored, table, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentwatch.data.io import NA_TOKENS

HEADER = "id,amount,ratio,shop,country"


def _rows(n: int = 6) -> list[str]:
    frame = table().iloc[10:10 + n]
    return [",".join(str(v) for v in row) for row in frame.itertuples(index=False)]


def _file(tmp_path, lines, name="data.csv"):
    return write_csv(tmp_path / name, "\n".join([HEADER, *lines]) + "\n")


def test_a_short_row_is_refused_with_its_row(model, tmp_path):
    rows = _rows()
    rows[3] = "t9999,51.2,0.1"
    path = _file(tmp_path, rows)
    error = refused(invoke("score", model, path), str(path))
    assert "row 4 has 3 fields" in error and "header has 5" in error


def test_a_long_row_is_refused_with_its_row(model, tmp_path):
    rows = _rows()
    rows[1] += ",extra"
    assert "row 2 has 6 fields" in refused(invoke("score", model, _file(tmp_path, rows)))


def test_a_short_row_is_found_after_quoted_newlines(model, tmp_path):
    rows = _rows()
    rows[0] = rows[0].replace(",grocery,", ',"gro\ncery",').replace(",fuel,", ',"fu\nel",'
                                                                     ).replace(
        ",travel,", ',"tra\nvel",')
    rows[4] = "t9999,51.2"
    assert "row 5 has 2 fields" in refused(invoke("score", model, _file(tmp_path, rows)))


def test_a_short_row_on_stdin_is_refused(model, tmp_path):
    rows = _rows()
    rows[2] = "t9999"
    text = "\n".join([HEADER, *rows]) + "\n"
    error = refused(invoke("score", model, "-", input=text))
    assert "<stdin>" in error and "row 3 has 1 fields" in error


def test_a_short_row_in_a_compressed_file_is_refused(model, tmp_path):
    rows = _rows()
    rows[2] = "t9999,1"
    path = tmp_path / "data.csv.gz"
    import gzip

    path.write_bytes(gzip.compress(("\n".join([HEADER, *rows]) + "\n").encode()))
    assert "row 3 has 2 fields" in refused(invoke("score", model, path))


@pytest.mark.parametrize("header", ["id,amount,amount,shop,country",
                                    "id,amount,ratio,shop,shop"])
def test_a_column_named_twice_is_refused(model, tmp_path, header):
    path = write_csv(tmp_path / "dup.csv", header + "\n" + "\n".join(_rows()) + "\n")
    column = header.split(",")[2] if "amount,amount" in header else "shop"
    error = refused(invoke("score", model, path))
    assert str(path) in error and f"column {column!r} appears twice" in error
    assert "appears twice" in refused(invoke("fit", path, "-o", tmp_path / "m.lwm", "-q"))


def test_a_column_named_twice_in_parquet_is_refused(model, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array(["a"]), pa.array([1.0]), pa.array([2.0])],
                            names=["id", "amount", "amount"]), path)
    assert "column 'amount' appears twice" in refused(invoke("score", model, path))


def test_namibia_and_an_id_na_are_values_not_gaps(model, tmp_path, hostile_dir):
    frame = table().iloc[:40].copy()
    frame.loc[0, "id"] = "NA"
    frame.loc[1, "id"] = "null"
    path = tmp_path / "na.csv"
    frame.to_csv(path, index=False)
    out = scored(invoke("score", model, path, "-i", "id"), frame["id"].tolist())
    assert out["id"].iloc[0] == "NA" and out["id"].iloc[1] == "null"
    info = invoke("info", model)
    assert "country" in info.stdout
    line = next(ln for ln in info.stdout.splitlines() if ln.lstrip().startswith("country"))
    assert "NA" in line and "gaps" not in line  # learned as a value, no gap modelled


def test_na_tokens_in_a_numeric_column_are_gaps_and_refused_where_unseen(model, tmp_path):
    rows = _rows()
    rows[2] = rows[2].split(",", 2)[0] + ",NA," + rows[2].split(",", 2)[2]
    error = refused(invoke("score", model, _file(tmp_path, rows)))
    assert "row 3" in error and "'amount'" in error and "never missing in training" in error


def test_column_names_with_spaces_around_them_are_read(model, tmp_path):
    frame = table().iloc[:30]
    spaced = frame.rename(columns={"amount": " amount ", "shop": "shop  "})
    path = tmp_path / "spaced.csv"
    spaced.to_csv(path, index=False)
    plain = scored(invoke("score", model, frame_csv(tmp_path, frame), "-i", "id"),
                   frame["id"].tolist())
    out = scored(invoke("score", model, path, "-i", "id"), frame["id"].tolist())
    np.testing.assert_array_equal(out["score"], plain["score"])


def test_two_columns_differing_only_by_spaces_are_refused(model, tmp_path):
    frame = table().iloc[:30].drop(columns="amount")
    frame[" amount"] = 1.0
    frame["amount "] = 2.0
    path = frame_csv(tmp_path, frame)
    error = refused(invoke("score", model, path))
    assert "' amount'" in error and "'amount '" in error and "differ only by spaces" in error


def frame_csv(tmp_path, frame, name="plain.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_an_id_column_named_like_an_output_is_refused(model, tmp_path):
    frame = table().iloc[:20].rename(columns={"id": "score"})
    error = refused(invoke("score", model, frame_csv(tmp_path, frame), "-i", "score"))
    assert "id column 'score' has the name of an output column" in error


# -- gaps the model never saw ---------------------------------------------------------------
@pytest.mark.parametrize("column", ["amount", "ratio", "country"])
def test_a_gap_never_seen_in_training_is_refused(model, tmp_path, column):
    frame = table().iloc[:20].copy()
    frame[column] = frame[column].astype(object)
    frame.loc[7, column] = None
    path = frame_csv(tmp_path, frame)
    refused(invoke("score", model, path), str(path), "row 8", repr(column),
            "never missing in training")
    out = scored(invoke("score", model, path, "--keep-bad-rows"), frame["id"].tolist(),
                 bad_rows=1)
    assert np.isnan(out["score"].iloc[7]) and "never missing" in out["reason"].iloc[7]


def test_a_fully_blank_row_is_refused(model, tmp_path):
    rows = _rows()
    rows[1] = "t0001,,,,"
    error = refused(invoke("score", model, _file(tmp_path, rows)))
    assert "row 2" in error and "never missing" in error


def test_a_gap_the_model_learned_is_scored(model, tmp_path):
    frame = table().iloc[:20].copy()
    frame.loc[3, "shop"] = None  # 'shop' had a gap in training
    out = scored(invoke("score", model, frame_csv(tmp_path, frame)), frame["id"].tolist())
    assert np.isfinite(out["score"]).all()


def test_blanking_a_field_is_refused_by_the_python_api_too(model):
    import latentwatch
    from latentwatch.errors import DataError

    model = latentwatch.load(model)
    frame = table().iloc[:10].copy()
    frame.loc[2, "amount"] = np.nan
    with pytest.raises(DataError, match="row 3, column 'amount': is missing"):
        model.anomaly_score(frame)


# -- numbers out of any range ----------------------------------------------------------------
def test_a_huge_training_value_is_refused_with_its_row(tmp_path):
    frame = table()
    frame.loc[17, "amount"] = 1e308
    path = frame_csv(tmp_path, frame)
    refused(invoke("fit", path, "-i", "id", "-o", tmp_path / "m.lwm", "-q"), str(path),
            "row 18", "'amount'", "too large to model")
    assert not (tmp_path / "m.lwm").exists()


@pytest.mark.parametrize("value", [1e308, -1e308, 1e300, 1e30, -1e154, 5e-324])
def test_a_huge_value_at_scoring_gets_a_finite_flagged_score(model, tmp_path, value):
    frame = table().iloc[:12].copy()
    frame.loc[4, "amount"] = value
    frame.loc[6, "ratio"] = value
    path = frame_csv(tmp_path, frame)
    out = scored(invoke("score", model, path), frame["id"].tolist())
    if abs(value) > 1e6:
        assert bool(out["is_anomaly"].iloc[4]) and bool(out["is_anomaly"].iloc[6])
    explained = invoke("explain", model, path, "--rows", "5,7")
    assert explained.exit_code == 0, explained.stderr
    scores = [float(line.split("score ")[1].split()[0]) for line in
              explained.stdout.splitlines() if line.startswith("row ")]
    np.testing.assert_allclose(scores, out["score"].iloc[[4, 6]], rtol=1e-3)
    assert "nan" not in explained.stdout.lower()
    if value != 1e308:
        return
    labelled = frame.assign(label=(np.arange(12) == 4).astype(int))
    labelled_path = frame_csv(tmp_path, labelled, "labelled.csv")
    evaluated = invoke("evaluate", model, labelled_path, "-l", "label")
    assert evaluated.exit_code == 0, evaluated.stderr
    report = invoke("report", model, labelled_path, "-l", "label", "-o", tmp_path / "r.html")
    assert report.exit_code == 0, report.stderr


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_an_infinite_value_is_refused_with_its_row(model, tmp_path, value):
    rows = _rows()
    parts = rows[2].split(",")
    parts[1] = value
    rows[2] = ",".join(parts)
    error = refused(invoke("score", model, _file(tmp_path, rows)))
    assert "row 3" in error and "'amount'" in error and "infinite" in error


# -- categories ------------------------------------------------------------------------------
def test_a_column_of_spaced_categories_is_warned_about(model, tmp_path):
    frame = table().iloc[:60].copy()
    frame["shop"] = frame["shop"].map(lambda v: v if v is None else f" {v} ")
    frame.loc[5, "shop"] = "fuel"
    result = invoke("score", model, frame_csv(tmp_path, frame))
    scored(result, frame["id"].tolist())
    warning = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warning) == 1, result.stderr
    assert "'shop'" in warning[0] and "never seen in training" in warning[0]
    assert "matches 'grocery'" in warning[0] or "matches 'fuel'" in warning[0] or (
        "matches 'travel'" in warning[0])


def test_a_few_new_categories_are_not_warned_about(model, tmp_path):
    frame = table().iloc[:60].copy()
    frame.loc[[3, 9], "shop"] = "casino"
    result = invoke("score", model, frame_csv(tmp_path, frame))
    scored(result, frame["id"].tolist())
    assert "warning" not in result.stderr


# -- an unnamed (numpy-fitted) model ---------------------------------------------------------
@pytest.mark.parametrize("header", ["a,b,c", "c,b,a", "Unnamed: 0,x0,x1", "index,x1,x2",
                                    "x2,x1,q"])
def test_an_unnamed_model_refuses_columns_it_cannot_check(array_model, tmp_path, header):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(10, 3)), columns=header.split(","))
    path = frame_csv(tmp_path, frame)
    error = refused(invoke("score", array_model, path))
    assert str(path) in error and "unnamed array" in error and "x0 to x2" in error


def test_an_unnamed_model_reads_x0_to_x2_in_any_order(array_model, tmp_path):
    import latentwatch

    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 3))
    frame = pd.DataFrame(X, columns=["x0", "x1", "x2"]).iloc[:, [2, 0, 1]]
    frame.insert(0, "id", [f"r{i}" for i in range(10)])
    out = scored(invoke("score", array_model, frame_csv(tmp_path, frame), "-i", "id"),
                 frame["id"].tolist())
    expected = latentwatch.load(array_model).anomaly_score(X)
    np.testing.assert_allclose(out["score"], expected, rtol=1e-12)


# -- generated tables: whatever the cells, rows in = rows out --------------------------------
_CELLS = st.one_of(
    st.sampled_from(["", "NA", "N/A", "null", "None", "nan", "-", "[/]", "[bold]x", "<b>",
                     "\x1b[31m", "\u202e", " grocery ", "1e308", "-1e308", "inf", "0x10",
                     "1,5", '"', "''", "\t", "é", "🙂"]),
    st.text(alphabet=string.printable, max_size=6),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(cells=st.lists(st.tuples(_CELLS, _CELLS, _CELLS, _CELLS), min_size=1, max_size=8),
       keep=st.booleans())
def test_generated_cells_are_refused_clearly_or_scored_row_for_row(model, tmp_path_factory,
                                                                   cells, keep):
    import csv

    folder = tmp_path_factory.mktemp("gen")
    ids = [f"g{i:03d}" for i in range(len(cells))]
    path = folder / "gen.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.split(","))
        for row_id, row in zip(ids, cells, strict=True):
            writer.writerow([row_id, *row])
    args = ["score", model, path, "-i", "id", *(["--keep-bad-rows"] if keep else [])]
    result = invoke(*args)
    if result.exit_code == 0:
        out = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(out) == len(ids)
        bad = scored_any(result, ids)
        assert keep or bad == 0
    else:
        line = refused(result, str(path))
        assert "row " in line or "column" in line, line


def scored_any(result, ids) -> int:
    """:func:`scored` with however many rows could not be scored; returns that count."""
    import io

    out = pd.read_csv(io.StringIO(result.stdout), dtype={"id": str}, keep_default_na=False,
                      na_values=[""])
    return len(scored(result, ids, bad_rows=int(out["score"].isna().sum())).query(
        "score != score"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(tokens=st.lists(st.sampled_from(sorted(NA_TOKENS - {""})), min_size=1, max_size=5),
       numbers=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5),
       words=st.lists(st.text(alphabet=string.ascii_letters, max_size=5).map("w".__add__),
                      min_size=1, max_size=3))
def test_na_tokens_are_gaps_among_numbers_and_values_among_text(tmp_path_factory, tokens,
                                                                 numbers, words):
    from latentwatch.data.io import read_table

    numeric = [repr(v) for v in numbers] + tokens
    text = (words * len(numeric))[:len(numeric) - len(tokens)] + tokens
    path = tmp_path_factory.mktemp("na") / "na.csv"
    pd.DataFrame({"num": numeric, "text": text}).to_csv(path, index=False)
    frame = read_table(path)
    assert len(frame) == len(numeric)
    assert pd.api.types.is_float_dtype(frame["num"])
    assert frame["num"].isna().tolist() == [False] * len(numbers) + [True] * len(tokens)
    assert frame["text"].tolist() == text  # every token kept as written


@pytest.fixture(scope="module")
def small_models():
    import warnings

    import latentwatch

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 2-epoch fit says it is short
        return [cls(max_epochs=2, random_state=0).fit(X) for cls in (
            latentwatch.AutoEncoderDetector, latentwatch.VAEDetector)]


@pytest.mark.filterwarnings("error")
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=3,
                       max_size=3))
def test_no_finite_value_gives_an_infinite_or_nan_score(small_models, values):
    frame = pd.DataFrame([values, [0.0, 0.1, -0.1]], columns=list("abc"))
    for model in small_models:
        assert np.isfinite(model.anomaly_score(frame)).all(), (type(model).__name__, values)
        assert np.isfinite(model.feature_scores(frame)).all()
        if hasattr(model, "score_method"):
            default = model.score_method
            for method in model.module_.score_methods:
                scores = model.set_params(score_method=method).anomaly_score(frame)
                assert np.isfinite(scores).all(), (method, values)
            model.set_params(score_method=default)
