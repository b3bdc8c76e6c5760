"""The generative commands: sample, interpolate, encode, plot-latent; and demo's argument."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({
        "id": [f"r{i}" for i in range(300)],
        "amount": 100 + 20 * x + rng.normal(size=300),
        "ratio": np.tanh(x) + 0.1 * rng.normal(size=300),
        "count": rng.poisson(3, size=300),
        "label": np.where(x > 1, "high", "normal"),
    })
    features = frame[["amount", "ratio", "count"]]
    folder = tmp_path_factory.mktemp("cli")
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_parquet(folder / "data.parquet")
    VAEDetector(max_epochs=5, random_state=0).fit(features).save(folder / "vae.lwm")
    AutoEncoderDetector(max_epochs=5, latent_dim=3, random_state=0).fit(
        features.to_numpy(dtype=float)).save(folder / "ae.lwm")
    return folder


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_sample_writes_rows_in_the_training_columns(files):
    out = files / "samples.parquet"
    result = run("sample", files / "vae.lwm", "-n", 25, "--out", out, "--seed", 3)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert list(table.columns) == ["amount", "ratio", "count"]
    assert len(table) == 25 and table["count"].dtype == np.int64
    again = run("sample", files / "vae.lwm", "-n", 25, "--seed", 3)  # CSV on stdout
    pd.testing.assert_frame_equal(pd.read_csv(pd.io.common.StringIO(again.stdout)), table)
    other = run("sample", files / "vae.lwm", "-n", 5, "--source", "aggregate-posterior",
                "--decode", "sample", "--out", files / "other.csv")
    assert other.exit_code == 0 and len(pd.read_csv(files / "other.csv")) == 5


def test_sample_from_an_autoencoder_uses_its_aggregate_posterior(files):
    result = run("sample", files / "ae.lwm", "-n", 4)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "x0,x1,x2"
    refused = run("sample", files / "ae.lwm", "--source", "prior")
    assert refused.exit_code == 1 and "no prior" in refused.output


def test_interpolate_between_two_rows(files):
    result = run("interpolate", files / "vae.lwm", files / "data.csv", "--from", 0, "--to", 7,
                 "--steps", 5, "--path", "spherical")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(table.columns) == ["step", "amount", "ratio", "count"]
    assert list(table["step"]) == [0, 1, 2, 3, 4]


def test_encode_with_variances_and_an_id_column(files):
    out = files / "codes.csv"
    result = run("encode", files / "vae.lwm", files / "data.parquet", "--out", out,
                 "--variance", "--id-column", "id")
    assert result.exit_code == 0, result.output
    codes = pd.read_csv(out)
    assert list(codes.columns) == ["id", "z0", "z1", "var_z0", "var_z1"]
    assert len(codes) == 300 and codes["id"].iloc[5] == "r5"
    assert (codes[["var_z0", "var_z1"]] > 0).all().all()
    # an unnamed-feature model takes all columns but the id column
    numeric = files / "numeric.csv"
    pd.read_csv(files / "data.csv").drop(columns="label").to_csv(numeric, index=False)
    result = run("encode", files / "ae.lwm", numeric, "--id-column", "id")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "id,z0,z1,z2"


@pytest.mark.parametrize("colour", [None, "label", "amount"])
def test_plot_latent_writes_a_png(files, colour):
    out = files / f"latent-{colour}.png"
    args = ["plot-latent", files / "vae.lwm", files / "data.csv", "--out", out]
    result = run(*args, *(["--color-by", colour] if colour else []))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_latent_projects_wider_latent_spaces(files):
    numeric = files / "numeric3.csv"
    pd.read_csv(files / "data.csv")[["amount", "ratio", "count", "label"]].to_csv(numeric,
                                                                                  index=False)
    out = files / "ae-latent.png"
    result = run("plot-latent", files / "ae.lwm", numeric, "--out", out, "--color-by", "label")
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: d.drop(columns="ratio"), ["encode"], "column 'ratio' is missing"),
        (lambda d: d.assign(amount=d["amount"].astype(str).where(d.index != 4, "abc")),
         ["encode"], "row 5, column 'amount': 'abc' is not a number"),
        (lambda d: d.assign(count=d["count"].where(d.index != 9)), ["encode"],
         "row 10, column 'count': missing value"),
        (lambda d: d, ["interpolate", "--from", 0, "--to", 300], "--to 300"),
        (lambda d: d, ["plot-latent", "--color-by", "colour"], "column 'colour' is missing"),
    ],
    ids=["missing-column", "not-numeric", "missing-value", "row-out-of-range", "colour"],
)
def test_bad_data_gives_one_line_errors(files, make, args, message):
    bad = files / "bad.csv"
    make(pd.read_csv(files / "data.csv")).to_csv(bad, index=False)
    result = run(args[0], files / "vae.lwm", bad, *args[1:])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0, result.output
    assert message in result.output and "bad.csv" in result.output


def test_bad_files_give_one_line_errors(files):
    (files / "broken.lwm").write_bytes(b"not a model")
    (files / "empty.csv").write_text("")
    cases = [
        (["sample", files / "missing.lwm"], "missing.lwm: no such model file"),
        (["sample", files / "broken.lwm"], "broken.lwm: not a readable"),
        (["sample", files / "vae.lwm", "--out", files / "x.json"], "x.json: unknown file type"),
        (["encode", files / "vae.lwm", files / "empty.csv"], "empty.csv: empty file"),
        (["encode", files / "vae.lwm", files / "nothing.csv"], "nothing.csv: no such file"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output.startswith("error: ") and message in result.output, result.output
        assert "Traceback" not in result.output


def test_demo_takes_the_demo_name(monkeypatch, tmp_path):
    import latentwatch.demo
    import latentwatch.demo_digits

    calls = []
    monkeypatch.setattr(latentwatch.demo, "run_demo", lambda seed: calls.append(("bc", seed)))
    monkeypatch.setattr(latentwatch.demo_digits, "run_digits_demo",
                        lambda out_dir, seed: calls.append(("digits", out_dir, seed)))
    assert run("demo").exit_code == 0
    assert run("demo", "digits", "--out", tmp_path, "--seed", 2).exit_code == 0
    assert run("demo", "breast-cancer").exit_code == 0
    assert run("demo", "faces").exit_code != 0
    assert calls == [("bc", 0), ("digits", tmp_path, 2), ("bc", 0)]
