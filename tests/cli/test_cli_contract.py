"""Every command on every model kind: AE and VAE, on a mixed table (text, categories, a
boolean, a datetime column, gaps), on a numeric CSV and on a time series (where a command
applies to its window models; test_cli_contract_kinds.py holds the refusals and ``serve``);
and ``score`` on what ``sample`` wrote. The same fitted models everywhere (see
conftest.py)."""

from __future__ import annotations

import io
import json
import os
import stat
import warnings

import numpy as np
import pandas as pd
import pytest
from cli_helpers import DECODERS, FIT_ARGS, invoke, ok

import latentwatch
from latentwatch.service import output_ids


def _read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_fit_gives_the_model_it_reports(each):
    model = each.load()
    expected = latentwatch.VAEDetector if each.kind == "vae" else latentwatch.AutoEncoderDetector
    assert type(model) is expected
    assert model.schema_.id_columns == tuple(each.ids)
    excluded = dict(model.schema_.excluded)
    assert model.n_epochs_ == 3 and model.seed_ is not None
    if each.table == "series":  # the time column set aside, each other column a channel
        assert excluded.keys() == {"when", "label"} and "time column" in excluded["when"]
        assert model.window_ == 12 and model.codec_.channels == ["a", "b"]
        assert not model.codec_.can_decode
        return
    assert excluded.keys() == {"label"} and model.window_ is None
    if each.table == "numeric":  # ids set aside, then the Python rule: a numeric matrix
        assert [c.note for c in model.schema_.columns] == ["numeric matrix"] * 6
        assert model.codec_.blocks[2].missing  # f2's gaps are a masked numeric column
    else:
        kinds = {c.name: c.kind for c in model.schema_.columns}
        assert kinds["timestamp"] == "datetime" and kinds["is_online"] == "boolean"
        assert kinds["merchant_category"] == "categorical" and kinds["amount"] == "numeric"


def test_score_writes_one_row_per_input_row_in_order(each, tmp_path):
    out = tmp_path / "scores.csv"
    result = ok(invoke("score", each.model, each.data, "-o", out, "-k", 2))
    assert f"scored {len(each.frame):,} rows" in result.stderr
    scores = pd.read_csv(out)
    model = each.load()
    firsts = output_ids(model, each.ids)  # a series adds its time column after the ids
    assert firsts == each.ids + ([model.codec_.time_column] if model.window_ else [])
    assert list(scores.columns[:len(firsts) + 2]) == [*firsts, "score", "is_anomaly"]
    assert list(scores.columns[-4:]) == ["top1", "top1_nats", "top2", "top2_nats"]
    assert list(scores[each.ids[0]]) == list(each.frame[each.ids[0]])
    np.testing.assert_array_equal(scores["score"].to_numpy(), model.anomaly_score(each.inputs))
    assert list(scores["is_anomaly"]) == list(model.predict(each.inputs) == -1)
    assert set(scores["top1"]) <= set(model.codec_.names)
    assert (scores["top1_nats"] >= scores["top2_nats"]).all()


def test_explain_picked_rows_and_top_rows(each):
    picked = ok(invoke("explain", each.model, each.data, "--rows", "1,3-4", "-k", 2))
    heads = [line for line in picked.stdout.splitlines() if line.startswith("row ")]
    assert [line.split()[1] for line in heads] == ["1", "3", "4"]
    assert f"{each.ids[0]}={each.frame[each.ids[0]][2]}" in heads[1]
    per_row = 1 + 2 + (each.load().window_ is not None)  # a head, two cells, by channel
    assert len(picked.stdout.splitlines()) == 3 * per_row
    assert "expected" in picked.stdout
    top = ok(invoke("explain", each.model, each.data, "-n", 3, "-k", 1))
    heads = [line for line in top.stdout.splitlines() if line.startswith("row ")]
    found = [float(line.split("score ")[1].split()[0]) for line in heads]
    best = np.sort(each.load().anomaly_score(each.inputs))[::-1][:3]
    np.testing.assert_allclose(found, best, rtol=1e-3)


def test_info_describes_the_model_file(each):
    text = ok(invoke("info", each.model)).stdout
    name = "VAEDetector" if each.kind == "vae" else "AutoEncoderDetector"
    for fragment in (name, "model format 3", "training: 3 epochs", "threshold: score >",
                     each.ids[0], "passed through", "label", "excluded"):
        assert fragment in text, fragment
    meta = json.loads(ok(invoke("info", each.model, "--json")).stdout)
    assert meta["class"] == name and meta["fit"]["seed"] == each.load().seed_


def test_schema_shows_how_fit_reads_the_data(each, tmp_path):
    out = tmp_path / "schema.json"
    result = ok(invoke("schema", each.data, "-i", each.ids[0], "-x", "label", "-o", out,
                       *FIT_ARGS[each.table]))
    assert "rows" in result.stderr  # the table
    schema = json.loads(out.read_text())
    model = each.load()
    assert list(schema["columns"]) == model.schema_.names
    assert schema["id_columns"] == each.ids
    assert schema["exclude"] == [name for name, _ in model.schema_.excluded]
    assert schema["exclude"][-1] == "label"


def test_evaluate_against_the_labels(each, tmp_path):
    out = tmp_path / "metrics.json"
    result = ok(invoke("evaluate", each.model, each.data, "-l", "label", "--json", "-o", out))
    metrics = json.loads(result.stdout)
    assert metrics == json.loads(out.read_text())
    assert metrics["n_rows"] == len(each.frame)
    assert metrics["n_anomalies"] == int(each.frame["label"].sum())
    assert 0 <= metrics["auc_roc"] <= 1
    table = ok(invoke("evaluate", each.model, each.data, "-l", "label", "--precision-at", 5))
    assert "AUC-ROC" in table.stdout and "precision at k=5" in table.stdout


def test_report_on_the_model_and_the_data(each, tmp_path):
    out = tmp_path / "report.html"
    result = ok(invoke("report", each.model, each.data, "-l", "label", "-o", out, "-n", 3))
    assert "wrote" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and each.data.name in page
    assert "data:image/png;base64," in page
    assert not list(tmp_path.glob(".latentwatch-*")), "no temporary file is left behind"


def test_report_on_the_model_alone(fitted, tmp_path):
    out = tmp_path / "alone.html"
    ok(invoke("report", fitted["vae-mixed"].model, "-o", out))
    assert "</html>" in out.read_text(encoding="utf-8")


def _check_valid_rows(model, rows: pd.DataFrame) -> None:
    """Generated rows hold valid values of the training schema."""
    assert list(rows.columns) == list(model.codec_.sources)
    for block in model.codec_.blocks:
        if block.derive is not None:
            continue
        values = rows[block.source].dropna()
        if block.kind == "numeric":
            assert values.between(block.low, block.high).all(), block.name
            if block.integer:
                assert (values == values.round()).all(), block.name
        elif block.kind == "categorical":
            known = {str(v) for v in [*block.categories, *block.rare_labels]}
            assert {str(v) for v in values} <= known, block.name
    for column in model.codec_.dates:
        stamps = pd.to_datetime(rows[column.name].dropna())
        assert stamps.between(pd.Timestamp(column.first).normalize() - pd.Timedelta(days=1),
                              pd.Timestamp(column.last) + pd.Timedelta(days=1)).all()


def test_sample_then_score_what_it_wrote(decoder, tmp_path):
    each = decoder
    out = tmp_path / "samples.csv"
    decode = ["--decode", "sample"] if each.kind == "vae" else []
    result = ok(invoke("sample", each.model, "-n", 40, "--seed", 1, "-o", out, *decode))
    assert "wrote 40 rows" in result.stderr
    rows = pd.read_csv(out)
    model = each.load()
    assert len(rows) == 40
    _check_valid_rows(model, rows)
    again = ok(invoke("sample", each.model, "-n", 40, "--seed", 1, *decode))  # stdout
    pd.testing.assert_frame_equal(_read_csv(again.stdout), rows)
    scored = ok(invoke("score", each.model, out, "-o", tmp_path / "s.csv", "--keep-bad-rows"))
    assert "could not be scored" not in scored.stderr
    scores = pd.read_csv(tmp_path / "s.csv")
    assert len(scores) == 40 and scores["score"].notna().all()
    assert scores["reason"].isna().all()


def test_sample_parquet_keeps_the_types(fitted, tmp_path):
    out = tmp_path / "samples.parquet"
    each = fitted["vae-mixed"]
    ok(invoke("sample", each.model, "-n", 25, "-o", out, "--decode", "sample"))
    rows = pd.read_parquet(out)
    assert pd.api.types.is_datetime64_any_dtype(rows["timestamp"])
    assert str(rows["customer_age"].dtype) == "Int64"
    ok(invoke("score", each.model, out, "-o", tmp_path / "s.parquet", "-q"))
    assert pd.read_parquet(tmp_path / "s.parquet")["score"].notna().all()


def test_interpolate_between_two_rows(decoder):
    each = decoder
    result = ok(invoke("interpolate", each.model, each.data, "--from", 1, "--to", 4, "-n", 5,
                       "--path", "spherical"))
    rows = _read_csv(result.stdout)
    model = each.load()
    assert list(rows.columns) == ["step", *model.codec_.sources]
    assert list(rows["step"]) == [0, 1, 2, 3, 4]
    _check_valid_rows(model, rows.drop(columns="step"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = model.reconstruct(each.inputs.iloc[[0]]).reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(first.to_csv(index=False))),
                                  rows.drop(columns="step").iloc[[0]], check_dtype=False)


def test_encode_writes_the_latent_means(each, tmp_path):
    out = tmp_path / "codes.parquet"
    ok(invoke("encode", each.model, each.data, "-o", out, "--variance", "-i", each.ids[0]))
    codes = pd.read_parquet(out)
    model = each.load()
    k = model.latent_dim_
    assert list(codes.columns) == [each.ids[0], *(f"z{j}" for j in range(k)),
                                   *(f"var_z{j}" for j in range(k))]
    mean, var = model.encode(each.inputs, return_variance=True)
    np.testing.assert_array_equal(codes[[f"z{j}" for j in range(k)]].to_numpy(), mean)
    np.testing.assert_array_equal(codes[[f"var_z{j}" for j in range(k)]].to_numpy(), var)
    assert list(codes[each.ids[0]]) == list(each.frame[each.ids[0]])


def test_plot_latent_writes_an_image(each, tmp_path):
    out = tmp_path / "latent.png"
    colour = ["--color-by", "country" if each.table == "mixed" else "label"]
    ok(invoke("plot-latent", each.model, each.data, "-o", out, *colour))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_latent_by_score_and_as_svg(fitted, tmp_path):
    out = tmp_path / "latent.svg"
    ok(invoke("plot-latent", fitted["ae-numeric"].model, fitted["ae-numeric"].data, "-o", out))
    assert b"<svg" in out.read_bytes()[:400]


def test_cli_and_python_give_the_same_model_bit_for_bit(fitted, tmp_path):
    """The same numeric CSV: latentwatch fit --seed 0 and VAEDetector(random_state=0).fit
    of pd.read_csv give identical scores (ids and labels set aside in both)."""
    for name in ("vae-numeric", "ae-numeric"):
        each = fitted[name]
        model_class = (latentwatch.VAEDetector if each.kind == "vae"
                       else latentwatch.AutoEncoderDetector)
        X = pd.read_csv(each.data).drop(columns=["rid", "label"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            python = model_class(random_state=0, max_epochs=3).fit(X)
        cli = each.load()
        assert cli.codec_.blocks == python.codec_.blocks
        np.testing.assert_array_equal(cli.anomaly_score(X), python.anomaly_score(X))
        assert cli.offset_ == python.offset_


def test_cli_and_python_agree_without_id_columns(workspace, tmp_path):
    """A plain numeric CSV, nothing set aside: the CLI passes schema=None, as Python."""
    data = tmp_path / "plain.csv"
    pd.read_csv(workspace / "numeric.csv").drop(columns=["rid", "label"]).to_csv(
        data, index=False)
    ok(invoke("fit", data, "--epochs", 2, "--seed", 3, "-q", "-o", tmp_path / "plain.lwm"))
    cli = latentwatch.load(tmp_path / "plain.lwm")
    assert cli.get_params()["schema"] is None
    X = pd.read_csv(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        python = latentwatch.VAEDetector(random_state=3, max_epochs=2).fit(X)
    np.testing.assert_array_equal(cli.anomaly_score(X), python.anomaly_score(X))


def test_outputs_are_created_with_the_users_umask(fitted, tmp_path):
    each = fitted["vae-mixed"]
    old = os.umask(0o022)
    try:
        outputs = {
            "m.lwm": ["fit", fitted["vae-numeric"].data, "--epochs", 1, "-q",
                      "--hidden-dims", "8,4"],
            "s.csv": ["score", each.model, each.data, "-q"],
            "r.html": ["report", each.model],
            "p.png": ["plot-latent", each.model, each.data],
            "schema.json": ["schema", each.data, "-q"],
            "metrics.json": ["evaluate", each.model, each.data, "-l", "label"],
            "info.json": ["info", each.model],
            "samples.parquet": ["sample", each.model, "-n", 5],
            "codes.csv": ["encode", each.model, each.data],
        }
        for name, args in outputs.items():
            ok(invoke(*args, "-o", tmp_path / name))
            mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
            assert mode == 0o644, (name, oct(mode))
    finally:
        os.umask(old)
    assert not list(tmp_path.glob(".latentwatch-*"))


@pytest.mark.parametrize("name", [name for name in DECODERS if name.startswith("vae-")])
@pytest.mark.parametrize("source", ["prior", "aggregate-posterior"])
def test_sample_sources_of_a_vae(fitted, name, source):
    each = fitted[name]
    rows = _read_csv(ok(invoke("sample", each.model, "-n", 6, "--source", source)).stdout)
    assert list(rows.columns) == list(each.load().codec_.sources) and len(rows) == 6
