"""The HTML report on every model kind: sections, embedded images, no scripts, the
columns of the codec, rows that cannot be scored, and the file it writes."""

from __future__ import annotations

import base64
import io
import os
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from latentwatch import VAEDetector
from latentwatch.errors import DataError
from latentwatch.report import build_report, write_report
from latentwatch.report.data_sections import column_quality
from latentwatch.report.scored import score_for_report
from latentwatch.service import score_table
from latentwatch.thresholds import FalseAlarmRate

CASES = [(k, d) for k in ("ae", "vae") for d in ("array", "frame", "mixed")]
BAD_ROWS = (3, 17)  # the rows given bad values in conftest.py
WITH_DATA = ["summary", "threshold", "scores", "evaluation", "rows", "latent", "columns",
             "training", "model"]
ids = pytest.mark.parametrize(("kind", "data"), CASES, ids=[f"{k}-{d}" for k, d in CASES])


def images(document: str) -> list[np.ndarray]:
    sources = re.findall(r'<img [^>]*src="([^"]+)"', document)
    assert len(sources) == document.count("<img ")
    decoded = []
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        decoded.append(imread(io.BytesIO(base64.b64decode(source.split(",", 1)[1])), "png"))
    return decoded


def section_ids(document: str) -> list[str]:
    return re.findall(r'<section id="([a-z]+)">', document)


def section(document: str, key: str) -> str:
    return document.split(f'<section id="{key}">')[1].split("</section>")[0]


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture(scope="module")
def reports(fitted):
    """The full report (bad rows, labels) of every case, built once."""
    cache: dict = {}

    def get(kind: str, data: str) -> str:
        if (kind, data) not in cache:
            case = fitted(kind, data)
            cache[(kind, data)] = build_report(case.model, case.X_bad, case.y,
                                               data_name="test <rows>.csv", top=8)
        return cache[(kind, data)]

    return get


@ids
def test_report_on_data_with_labels_for_every_model_kind(fitted, reports, kind, data):
    case, document = fitted(kind, data), reports(kind, data)
    assert section_ids(document) == [WITH_DATA[0], "unscored", *WITH_DATA[1:]]
    pictures = images(document)
    # scores, ROC + PR, latent map, per-column quality, loss curves
    assert len(pictures) == 5
    for picture in pictures:
        assert picture.shape[0] > 100 and picture.shape[1] > 300
        assert picture[..., :3].std() > 0.05  # not a blank canvas
    assert "<script" not in document.lower()
    assert "<link" not in document and "url(" not in document
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", document, re.IGNORECASE)
    assert "test &lt;rows&gt;.csv (200 rows)" in document
    # every data column and every modelled column of the codec is named
    for name in [*case.columns, *case.model.codec_.names]:
        assert escaped(name) in document, name
    quality = section(document, "columns")
    for name in case.model.codec_.names:
        assert f'<span class="feat">{escaped(name)}</span>' in quality
    assert "No row could be scored" not in document


@ids
def test_rows_that_cannot_be_scored_are_listed(fitted, reports, kind, data):
    case, document = fitted(kind, data), reports(kind, data)
    listed = section(document, "unscored")
    rows = [int(r) for r in re.findall(r'<tr><td class="num">(\d+)</td>', listed)]
    assert rows == [r + 1 for r in BAD_ROWS]  # counted from 1, as every command counts
    assert f"2 of {len(case.y)} rows could not be scored" in listed
    assert "rows not scored" in section(document, "summary")
    table = section(document, "rows")
    shown = [int(r) - 1 for r in re.findall(r'<tr><td class="num">(\d+)</td>', table)]
    assert len(shown) == 8 and not set(shown) & set(BAD_ROWS)
    assert f"Over the {len(case.y) - 2} scored rows" in section(document, "evaluation")


@ids
def test_most_anomalous_rows_come_first_with_their_top_column(fitted, reports, kind, data):
    case, document = fitted(kind, data), reports(kind, data)
    frame = case.X_bad if isinstance(case.X_bad, pd.DataFrame) else pd.DataFrame(
        case.X_bad, columns=case.model.codec_.sources)
    result = score_table(case.model, frame)
    good = np.flatnonzero(result.good)
    table = section(document, "rows").split("</table>")[0]
    numbers = [int(r) for r in re.findall(r'<tr><td class="num">(\d+)</td>', table)]
    listed = [n - 1 for n in numbers]  # row numbers count from 1
    assert listed == list(good[np.argsort(-result.scores, kind="stable")[:8]])
    first = table.split("</tr>")[1]
    top = case.model.explain(frame.iloc[[listed[0]]], top_k=1)[0].contributions[0].column
    assert first.split("<td>")[-1].startswith(f'<span class="feat">{escaped(top)}</span> = ')
    assert "expected" in first and "nats" in first
    if data == "mixed":  # the schema's id column is shown beside the row number
        assert f"<td>{case.X.at[listed[0], 'transaction_id']}</td>" in first


@pytest.mark.parametrize(("kind", "data"), [("ae", "array"), ("vae", "mixed")])
def test_the_operating_points_are_those_of_evaluate(fitted, reports, kind, data):
    from latentwatch.evaluation import evaluate

    case, document = fitted(kind, data), reports(kind, data)
    frame = case.X_bad if isinstance(case.X_bad, pd.DataFrame) else pd.DataFrame(
        case.X_bad, columns=case.model.codec_.sources)
    good = np.flatnonzero(score_table(case.model, frame).good)
    expected = evaluate(case.model, frame.iloc[good], np.asarray(case.y)[good])
    table = section(document, "evaluation").split("Operating points")[1]
    cells = re.findall(r"<tr>((?:<td[^>]*>[^<]*</td>)+)</tr>", table)
    shown = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in cells]
    assert [(r[0], r[2], r[3], r[4]) for r in shown] == [
        (f"{p.threshold:.6g}", str(p.flagged), "n/a" if p.precision is None
         else f"{p.precision:.4f}", "n/a" if p.recall is None else f"{p.recall:.4f}")
        for p in expected.operating_points]
    marked = [r[-1] for r in shown]
    assert marked.count("\u2190 the model's threshold") + marked.count(
        "&larr; the model's threshold") == 1


@ids
def test_report_without_data_shows_the_model(fitted, kind, data):
    case = fitted(kind, data)
    document = build_report(case.model)
    assert section_ids(document) == [k for k in WITH_DATA if k != "evaluation"]
    assert document.count("Needs data.") == 3
    assert len(images(document)) == 2  # the calibration scores and the loss curves
    assert "Anomaly scores of the calibration rows" in document
    assert "<script" not in document.lower()
    for name in case.model.codec_.names:
        assert escaped(name) in section(document, "model")


@pytest.mark.parametrize(("kind", "data"), [("ae", "frame"), ("ae", "array"), ("vae", "mixed")])
def test_report_without_labels_on_clean_rows(fitted, kind, data):
    case = fitted(kind, data)
    document = build_report(case.model, case.X, max_map_points=50)
    assert section_ids(document) == [k for k in WITH_DATA if k != "evaluation"]
    assert len(images(document)) == 4
    assert f"50 of {len(case.y)} rows drawn at random" in document
    how = {1: "the single latent dimension", 2: "the two latent dimensions"}.get(
        case.model.latent_dim_, f"a PCA projection of the {case.model.latent_dim_} latent")
    assert how in section(document, "latent")


def test_expected_values_come_from_the_one_decode_path(fitted):
    case = fitted("vae", "mixed")
    scored = score_for_report(case.model, case.X_bad)
    rows = case.X_bad.drop(index=list(BAD_ROWS)).astype(case.X.dtypes.to_dict())
    reconstructed = case.model.reconstruct(rows).reset_index(drop=True)
    for block in case.model.codec_.blocks:
        expected = scored.expected[block.name]
        if block.derive is None:
            pd.testing.assert_series_equal(expected, reconstructed[block.source],
                                           check_names=False, check_dtype=False)
        elif block.derive == "hour":
            np.testing.assert_array_equal(expected.astype(int),
                                          reconstructed[block.source].dt.hour)


def test_numeric_quality_is_r2_in_the_original_units(fitted):
    case = fitted("ae", "array")
    scored = score_for_report(case.model, case.X, case.y)
    quality = column_quality(case.model, scored)
    normal = case.X[case.y == 0]
    residual = normal - case.model.reconstruct(normal)
    r2 = 1 - (residual**2).sum(0) / ((normal - normal.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(quality["quality"], r2, rtol=1e-6)
    np.testing.assert_allclose(quality["mean_abs_error"], np.abs(residual).mean(0), rtol=1e-6)
    np.testing.assert_allclose(quality["part_normal"],
                               case.model.feature_scores(normal).mean(0), rtol=1e-6)
    assert list(quality["measure"]) == ["R²"] * 12


def test_categorical_quality_is_the_accuracy_of_the_most_probable_value(fitted):
    case = fitted("ae", "mixed")
    scored = score_for_report(case.model, case.X)
    quality = column_quality(case.model, scored).set_index("column")
    reconstructed = case.model.reconstruct(case.X)
    for name in ("country", "merchant_category", "is_online"):
        present = case.X[name].notna().to_numpy()
        hits = (reconstructed[name].astype(str) == case.X[name].astype(str)).to_numpy()[present]
        assert quality.at[name, "measure"] == "accuracy"
        assert quality.at[name, "quality"] == pytest.approx(hits.mean())
        top_share = case.X[name].value_counts(normalize=True).iloc[0]
        assert quality.at[name, "baseline"] == pytest.approx(top_share)
    assert quality.at["amount", "measure"] == "R²"
    assert quality.at["merchant_category", "entries"] == case.X["merchant_category"].notna().sum()


def test_schema_section_comes_from_the_codec(fitted):
    document = build_report(fitted("vae", "mixed").model)
    schema = section(document, "model")
    assert "log(1 + x), mean" in schema and "; range [" in schema
    assert "hour of datetime column timestamp, 2024-" in schema
    assert "weekday of datetime column timestamp" in schema
    assert "categories: Mon, Tue, Wed" in schema
    assert "yes (modelled)" in schema  # the blanked columns
    assert "transaction_id" in schema and "identifier" in schema
    assert "false / true written False / True" in schema
    assert "fitted on</th><td>a DataFrame" in schema
    assert "a numeric array (columns named x0 to x11)" in build_report(
        fitted("ae", "array").model)


def test_training_section_names_the_loss(fitted):
    assert "negative ELBO per row" in section(build_report(fitted("vae", "array").model),
                                              "training")
    ae = section(build_report(fitted("ae", "array").model), "training")
    assert "mean point error, nats per row" in ae
    assert "validation loss still falling" in ae  # 3 epochs


def test_threshold_section_states_the_threshold(fitted, reports):
    case, document = fitted("vae", "mixed"), reports("vae", "mixed")
    threshold = section(document, "threshold")
    assert "flags at most 0.1 of normal rows (split conformal)" in threshold
    assert "calibration split held out of training" in threshold
    assert f"{-case.model.offset_:.4g}" in threshold
    for label in ("AUC-ROC", "AUC-PR", "precision at threshold", "false negatives"):
        assert label in section(document, "evaluation")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_model_without_a_threshold_shows_ranking_metrics_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    model = VAEDetector(max_epochs=2, random_state=0,
                        threshold=FalseAlarmRate(0.05, calibration_fraction=0)).fit(X)
    y = np.r_[np.zeros(40, int), np.ones(10, int)]
    document = build_report(model, np.r_[X[:40], X[:10] + 6], y)
    assert "not set: calibrate(X_normal) first" in section(document, "threshold")
    evaluation = section(document, "evaluation")
    assert "no threshold yet" in evaluation and "AUC-ROC" in evaluation
    assert "precision at threshold" not in evaluation
    assert "rows flagged" not in section(document, "summary")


def test_a_table_of_bad_rows_only_does_not_crash(fitted):
    case = fitted("ae", "frame")
    document = build_report(case.model, case.X_bad.iloc[list(BAD_ROWS)], [0, 1])
    assert "unscored" in section_ids(document)
    assert document.count("No row could be scored.") == 5  # scores ... columns


def test_bad_arguments_are_refused(fitted):
    case = fitted("ae", "frame")
    with pytest.raises(ValueError, match="labels were given without data"):
        build_report(case.model, None, [0, 1])
    with pytest.raises(ValueError, match="199 labels for 200 rows"):
        build_report(case.model, case.X, case.y[:-1])
    with pytest.raises(ValueError, match="0/1"):
        build_report(case.model, case.X, np.full(len(case.y), 2))
    with pytest.raises(DataError, match=r"^d\.csv: column 'sensor <3>' is missing"):
        build_report(case.model, case.X.drop(columns=["sensor <3>"]), data_name="d.csv")
    with pytest.raises(ValueError, match="X has 11 columns, but the model reads 12"):
        build_report(case.model, case.X.to_numpy()[:, :11])


def test_an_array_model_reads_a_dataframe_and_a_frame_model_an_array(fitted):
    array_case, frame_case = fitted("ae", "array"), fitted("ae", "frame")
    named = pd.DataFrame(array_case.X, columns=[f"x{i}" for i in range(12)]).assign(note="x")
    scored = score_for_report(array_case.model, named)
    np.testing.assert_allclose(scored.scores, array_case.model.anomaly_score(array_case.X))
    scored = score_for_report(frame_case.model, frame_case.X.to_numpy())
    np.testing.assert_allclose(scored.scores, frame_case.model.anomaly_score(frame_case.X))
    assert list(scored.frame.columns) == frame_case.columns


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_a_saved_and_loaded_model_gives_the_same_report(fitted, tmp_path, kind):
    from latentwatch import load

    case = fitted(kind, "mixed")
    loaded = load(case.model.save(tmp_path / "m.lwm"))
    def strip(document: str) -> str:
        return re.sub(r"generated [^<·]*", "", document)

    assert strip(build_report(loaded)) == strip(build_report(case.model))
    before, after = (score_for_report(m, case.X_bad, case.y) for m in (case.model, loaded))
    np.testing.assert_array_equal(after.scores, before.scores)
    pd.testing.assert_frame_equal(after.expected, before.expected)
    assert after.evaluation == before.evaluation


# -- the file -------------------------------------------------------------------------------


def test_write_report_creates_folders_with_the_users_umask(fitted, tmp_path):
    model = fitted("ae", "array").model
    old = os.umask(0o027)
    try:
        path = write_report(model, tmp_path / "a" / "b" / "r.html")
    finally:
        os.umask(old)
    assert path == tmp_path / "a" / "b" / "r.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["r.html"]  # no temporary file left


def test_a_failed_report_leaves_the_old_file_untouched(fitted, tmp_path):
    case = fitted("ae", "frame")
    path = tmp_path / "r.html"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(DataError):
        write_report(case.model, path, case.X.drop(columns=["sensor <0>"]))
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
