"""The HTML report: sections, embedded images, no network references, the command."""

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.cli import app
from latentwatch.report import build_report, write_report

COLUMNS = [f"sensor <{i}>" for i in range(12)]  # odd characters must be escaped


@pytest.fixture(scope="module")
def vae(planted):
    X_train, _, _ = planted
    return VAEDetector(max_epochs=10, random_state=0, latent_dim=3,
                       threshold="false_alarm_rate:0.05").fit(
        pd.DataFrame(X_train, columns=COLUMNS))


@pytest.fixture(scope="module")
def full_report(vae, planted):
    _, X_test, y_test = planted
    return build_report(vae, pd.DataFrame(X_test, columns=COLUMNS), y_test, data_name="t.csv")


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


def test_full_report_has_every_section_and_renders_images(full_report):
    assert section_ids(full_report) == ["summary", "threshold", "scores", "evaluation", "rows",
                                        "latent", "features", "training", "model"]
    pictures = images(full_report)
    # loss curves, score histograms, ROC + PR, latent map, per-feature quality
    assert len(pictures) == 5
    for picture in pictures:
        assert picture.shape[0] > 100 and picture.shape[1] > 300
        assert picture[..., :3].std() > 0.05  # not a blank canvas


def test_report_is_self_contained(full_report):
    assert "<script" not in full_report
    assert "<link" not in full_report
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", full_report, re.IGNORECASE)
    assert "url(" not in full_report


def test_text_is_escaped(full_report):
    assert "sensor <3>" not in full_report
    assert "sensor &lt;3&gt;" in full_report


def test_report_states_the_threshold_and_the_evaluation(full_report, vae):
    assert "flags at most 0.05 of normal rows (split conformal)" in full_report
    assert "calibration split held out of training" in full_report
    assert f"{-vae.offset_:.4g}" in full_report
    for label in ("AUC-ROC", "AUC-PR", "precision at threshold", "false negatives"):
        assert label in full_report


def test_most_anomalous_rows_come_first_with_their_columns(full_report, vae, planted):
    _, X_test, _ = planted
    frame = pd.DataFrame(X_test, columns=COLUMNS)
    table = full_report.split('<section id="rows">')[1].split("</table>")[0]
    listed = [int(r) for r in re.findall(r'<tr><td class="num">(\d+)</td>', table)]
    scores = vae.anomaly_score(frame)
    assert listed == list(np.argsort(-scores, kind="stable")[:10])
    parts = vae.feature_scores(frame.iloc[listed[:1]])[0]
    assert f"sensor &lt;{int(np.argmax(parts))}&gt;</span>" in table.split("</tr>")[1]
    assert "expected" in table


def test_report_without_data_shows_the_model(vae):
    document = build_report(vae)
    assert "evaluation" not in section_ids(document)
    assert document.count("Needs data.") == 3
    assert len(images(document)) == 2  # loss curves and the calibration scores
    assert "Anomaly scores of the calibration rows" in document


def test_report_without_labels(planted):
    X_train, X_test, _ = planted
    model = AutoEncoderDetector(max_epochs=5, random_state=0, latent_dim=2).fit(X_train)
    document = build_report(model, X_test, max_map_points=100)
    assert "evaluation" not in section_ids(document)
    assert "the two latent dimensions" in document
    assert f"100 of {len(X_test)} rows drawn at random" in document
    assert "x11" in document  # array input: generated column names
    assert len(images(document)) == 4


def test_latent_map_of_more_than_two_dimensions_is_a_projection(full_report):
    assert "a PCA projection of the 3 latent dimensions" in full_report


def test_labels_without_data_are_refused(vae):
    with pytest.raises(ValueError, match="labels"):
        build_report(vae, None, [0, 1])


def test_write_report_creates_folders(vae, tmp_path):
    path = write_report(vae, tmp_path / "a" / "b" / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# -- the command ------------------------------------------------------------------------------

runner = CliRunner()


def test_report_command(vae, planted, tmp_path):
    _, X_test, y_test = planted
    model_path = vae.save(tmp_path / "m.lwm")
    pd.DataFrame(X_test, columns=COLUMNS).assign(y=y_test).to_parquet(tmp_path / "d.parquet")
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(model_path), str(tmp_path / "d.parquet"),
                                 "--label-column", "y", "--out", str(out), "--top", "3",
                                 "--title", "Pump 7"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    document = out.read_text(encoding="utf-8")
    assert "<title>Pump 7</title>" in document
    assert "d.parquet" in document
    assert "evaluation" in section_ids(document)
    result = runner.invoke(app, ["report", str(model_path), "--out", str(tmp_path / "m.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.html").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--label-column", "y"], "--label-column needs a DATA file"),
     (["{data}", "-l", "label"], "d.csv: column 'label' is missing")],
)
def test_report_command_errors_are_one_line(vae, tmp_path, args, message):
    model_path = vae.save(tmp_path / "m.lwm")
    pd.DataFrame(np.zeros((3, 12)), columns=COLUMNS).to_csv(tmp_path / "d.csv", index=False)
    args = [a.replace("{data}", str(tmp_path / "d.csv")) for a in args]
    result = runner.invoke(app, ["report", str(model_path), *args,
                                 "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "r.html").exists()
