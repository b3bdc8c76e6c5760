"""``latentwatch sample --condition`` and the end points ``interpolate`` states (issue 17)."""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, invoke, ok

from latentwatch import VAEDetector
from latentwatch.cli.generate import parse_condition
from latentwatch.demos.datasets import make_transactions


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    frame, _ = make_transactions(600, anomaly_fraction=0.0, seed=1)
    frame = frame.drop(columns=["transaction_id", "customer_id"])
    folder = tmp_path_factory.mktemp("conditions")
    frame.to_csv(folder / "rows.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAEDetector(purpose="generate", max_epochs=3, random_state=0).fit(frame).save(
            folder / "gen.lwm")
    return folder


def test_sample_with_conditions(model_file):
    result = ok(invoke("sample", model_file / "gen.lwm", "-n", 60, "--condition", "country=DE",
                       "-c", "customer_age=30..45", "-c", "is_online=false"))
    rows = pd.read_csv(io.StringIO(result.stdout))
    assert len(rows) == 60 and (rows["country"] == "DE").all()
    assert rows["customer_age"].between(30, 45).all() and not rows["is_online"].any()
    out = model_file / "de.csv"
    result = ok(invoke("sample", model_file / "gen.lwm", "-n", 10, "-c", "country=DE", "-o", out))
    assert "wrote 10 rows with country=DE" in result.stderr
    assert len(pd.read_csv(out)) == 10


@pytest.mark.parametrize("condition, fragments", [
    ("colour=red", ["gen.lwm", "condition on 'colour': the model generates no such column"]),
    ("country=XX", ["condition on 'country': 'XX' was never seen in training"]),
    ("country", ["--condition 'country': write COLUMN=VALUE or COLUMN=LOW..HIGH"]),
    ("amount=5..1", ["condition on 'amount'", "is empty"]),
])
def test_bad_conditions_are_one_line_errors(model_file, condition, fragments):
    assert_one_line_error(invoke("sample", model_file / "gen.lwm", "-n", 5, "-c", condition),
                          *fragments)


def test_an_unreachable_condition_names_the_budget(model_file):
    assert_one_line_error(
        invoke("sample", model_file / "gen.lwm", "-n", 500, "-c", "country=JP", "-c",
               "currency=EUR", "--max-draws", 2000), "held on", "max_draws=2,000")


def test_parse_condition():
    assert parse_condition("country=DE") == ("country", "DE")
    assert parse_condition(" amount = 1.5..20 ") == ("amount", ("1.5", "20"))
    assert parse_condition("note=a=b") == ("note", "a=b")


def test_interpolate_says_its_end_points_are_reconstructions(model_file):
    out = model_file / "path.csv"
    result = ok(invoke("interpolate", model_file / "gen.lwm", model_file / "rows.csv", "--from",
                       2, "--to", 9, "-n", 4, "-o", out))
    assert "steps 0 and 3 are the model's reconstructions of rows 2 and 9" in result.stderr
    assert list(pd.read_csv(out)["step"]) == [0, 1, 2, 3]


def test_fit_with_the_generative_recipe(model_file, tmp_path):
    from latentwatch import load

    out = tmp_path / "cli-gen.lwm"
    ok(invoke("fit", model_file / "rows.csv", "--purpose", "generate", "--epochs", 2, "-q",
              "-o", out))
    model = load(out)
    assert model.get_params()["purpose"] == "generate" and model.module_.config.beta < 1
    rows = pd.read_csv(io.StringIO(ok(invoke("sample", out, "-n", 20)).stdout))
    assert len(rows) == 20
    assert_one_line_error(invoke("fit", model_file / "rows.csv", "--purpose", "generate", "-m",
                                 "ae", "-o", tmp_path / "x.lwm"), "--purpose generate needs")
    assert_one_line_error(invoke("fit", model_file / "rows.csv", "--purpose", "art", "-o",
                                 tmp_path / "x.lwm"), "--purpose 'art'")
