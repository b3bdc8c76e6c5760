"""The contract as one matrix: every registered model x every kind of data x every command.

test_cli_contract.py checks each command working on the fitted models (conftest.py: an AE
and a VAE on a mixed table, a numeric matrix and a time series). This module ties them into
the matrix: the commands and models it must cover (a new command or a newly registered model
fails here until it is added), the table of the (model, kind, command) that refuse, each
checked to refuse in one line, and ``serve`` over real HTTP on every model, giving the
numbers of ``latentwatch score`` row for row.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer.main
from cli_helpers import DECODERS, MODELS, assert_one_line_error, invoke, ok

import latentwatch
from latentwatch import models
from latentwatch.cli import app

COMMANDS = ("fit", "score", "explain", "info", "schema", "evaluate", "calibrate", "report",
            "sample", "interpolate", "encode", "plot-latent", "serve", "sign", "drift")
NOT_ON_A_MODEL = {"demo", "keygen"}  # write example data, a key pair

# Where each command is checked to work: a test over ``each`` (every model) or ``decoder``
# (the models that decode rows), in test_cli_contract.py or in this module.
WORKS = {
    "fit": "test_fit_gives_the_model_it_reports",
    "score": "test_score_writes_one_row_per_input_row_in_order",
    "explain": "test_explain_picked_rows_and_top_rows",
    "info": "test_info_describes_the_model_file",
    "schema": "test_schema_shows_how_fit_reads_the_data",
    "evaluate": "test_evaluate_against_the_labels",
    "calibrate": "test_calibrate_on_normal_rows_gives_the_p_values_of_python",
    "report": "test_report_on_the_model_and_the_data",
    "sample": "test_sample_then_score_what_it_wrote",
    "interpolate": "test_interpolate_between_two_rows",
    "encode": "test_encode_writes_the_latent_means",
    "plot-latent": "test_plot_latent_writes_an_image",
    "serve": "test_serve_gives_the_scores_of_latentwatch_score",
    "sign": "test_sign_then_verify_every_model",
    "drift": "test_drift_of_the_training_file_is_a_json_verdict_on_every_row",
}

# (model, kind of data, command) -> a fragment of its one-line refusal; "*" is any model or
# kind; the first entry that matches applies. Every other pair works.
REFUSED = {
    ("ae", "*", "sample --source prior"): "an autoencoder has no prior",
    ("*", "series", "sample"): "a windowed model does not decode rows",
    ("*", "series", "sample --source prior"): "a windowed model does not decode rows",
    ("*", "series", "interpolate"): "a windowed model does not decode rows",
}
# How each command of the table is run on a fitted model.
INVOKE = {
    "sample": lambda f: ("sample", f.model, "-n", 5),
    "sample --source prior": lambda f: ("sample", f.model, "-n", 5, "--source", "prior"),
    "interpolate": lambda f: ("interpolate", f.model, f.data, "--from", 1, "--to", 4, "-n", 3),
}


def refusal(name: str, command: str) -> str | None:
    """The fragment of the one-line error model ``name`` (``"ae-series"``) gives for
    ``command``; None where the command works."""
    model, kind = name.split("-")
    for (m, k, c), fragment in REFUSED.items():
        if m in (model, "*") and k in (kind, "*") and c == command:
            return fragment
    return None


def _test_fixtures() -> dict[str, str]:
    """The first parameter of each test function of the contract modules."""
    found = {}
    for module in ("test_cli_contract.py", Path(__file__).name):
        tree = ast.parse(Path(__file__).with_name(module).read_text(encoding="utf-8"))
        found.update({node.name: node.args.args[0].arg for node in tree.body
                      if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
                      and node.args.args})
    return found


def test_the_matrix_names_every_command_and_every_registered_model():
    assert set(COMMANDS) == set(typer.main.get_command(app).commands) - NOT_ON_A_MODEL
    assert {name.split("-")[0] for name in MODELS} == set(models.MODELS)
    assert set(WORKS) == set(COMMANDS)
    fixtures = _test_fixtures()
    runs_on = {"each": MODELS, "decoder": DECODERS}
    for command, test in WORKS.items():
        assert fixtures.get(test) in runs_on, (command, test)
        for name in MODELS:
            works, refused = name in runs_on[fixtures[test]], refusal(name, command)
            assert works != (refused is not None), (name, command, test, refused)
    assert {c for _, _, c in REFUSED} == set(INVOKE)


def test_calibrate_on_normal_rows_gives_the_p_values_of_python(each, tmp_path):
    out = tmp_path / "calibrated.lwm"
    ok(invoke("calibrate", each.model, each.data, "-o", out, "-q"))
    model = each.load().calibrate(each.inputs)
    calibrated = latentwatch.load(out)
    assert calibrated.calibration_source_ == "calibrate"
    np.testing.assert_array_equal(calibrated.calibration_scores_, model.calibration_scores_)


@pytest.mark.parametrize("name, command", [(name, command) for name in MODELS
                                           for command in INVOKE if refusal(name, command)])
def test_refusals_are_one_line(fitted, name, command):
    each = fitted[name]
    assert_one_line_error(invoke(*INVOKE[command](each)), refusal(name, command))


def test_sign_then_verify_every_model(each, tmp_path):
    ok(invoke("keygen", "-o", tmp_path / "k.key"))
    signed = tmp_path / "signed.lwm"
    ok(invoke("sign", each.model, "--sign-key", tmp_path / "k.key", "-o", signed))
    assert "verified" in ok(invoke("info", signed, "--verify-key", tmp_path / "k.key.pub")).stdout
    assert_one_line_error(invoke("info", each.model, "--verify-key", tmp_path / "k.key.pub"),
                          "not signed")


def test_drift_of_the_training_file_is_a_json_verdict_on_every_row(each):
    result = invoke("drift", each.model, each.data, "--json")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["n_rows"] == len(each.inputs)
    assert 0.0 <= verdict["p_value"] <= 1.0 and isinstance(verdict["drift"], bool)
    shifts = [c["shift"] for c in verdict["columns"]]
    assert shifts == sorted(shifts, key=abs, reverse=True)


# -- serve over real HTTP ------------------------------------------------------------------
@pytest.fixture(scope="module")
def servers(fitted):
    """``latentwatch serve`` on every fitted model, started side by side."""
    for package in ("httpx", "fastapi", "uvicorn", "prometheus_client"):
        pytest.importorskip(package)
    from server_helpers import Server

    started = {}
    try:
        for name in MODELS:
            started[name] = Server(fitted[name].model, wait=False)
        for server in started.values():
            server.wait()
        yield started
    finally:
        for server in started.values():
            server.process.terminate()  # all at once; stop() then waits for each
        for server in started.values():
            server.stop()


def test_serve_gives_the_scores_of_latentwatch_score(each, servers, tmp_path):
    from server_helpers import json_records

    server, model = servers[each.name], each.load()
    described = server.get("/v1/model").json()
    assert described["columns"] == list(model.codec_.sources)
    assert described["threshold"] == -model.offset_
    window = model.window_
    assert described["window"] == window
    assert described["context_rows"] == (0 if window is None else window - 1)
    ok(invoke("score", each.model, each.data, "-o", tmp_path / "cli.csv", "-q", "-k", 2))
    whole = pd.read_csv(tmp_path / "cli.csv", dtype={each.ids[0]: str})
    raw = pd.read_csv(each.data, dtype=str)
    start, end = 100, 160
    body = {"rows": json_records(raw.iloc[start:end])}
    if window is not None:  # the rows before, as the server documents
        body["context"] = json_records(raw.iloc[start - (window - 1):start])
    response = server.post("/v1/score?top_k=2", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer.get("series_start", False) is False and not answer.get("warnings")
    got, want = pd.DataFrame(answer["rows"]), whole.iloc[start:end].reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert list(got[each.ids[0]]) == list(want[each.ids[0]])
    if window is None:  # a row of a table is scored alone: bit for bit
        np.testing.assert_array_equal(got["score"].to_numpy(), want["score"].to_numpy())
    else:
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(got["p_value"], want["p_value"], rtol=1e-9, atol=0)
    assert list(got["is_anomaly"]) == list(want["is_anomaly"])
    assert list(got["top1"]) == list(want["top1"])
    if window is not None:  # without the context the first rows start a series
        alone = server.post("/v1/score", json={"rows": body["rows"]}).json()
        assert alone["series_start"] is True and "start of a series" in alone["warnings"][0]
