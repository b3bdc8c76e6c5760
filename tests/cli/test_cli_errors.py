"""The one error wrapper: one line and status 1 for every expected error, the exception
named for an unexpected one, --debug for the traceback, Ctrl-C and closed pipes; bad
input at the boundary (separators, bad values, missing columns)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import typer
from cli_helpers import assert_one_line_error, invoke, ok
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import latentwatch
from latentwatch.cli.errors import Group, guarded
from latentwatch.errors import DataError


def _app(body):
    """A one-command app wrapped like latentwatch's."""
    app = typer.Typer(cls=Group)

    def command(debug: bool = typer.Option(False, "--debug")) -> None:
        body()

    app.command("run")(guarded(command))

    @app.callback()
    def _root() -> None:
        pass

    return app


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (DataError("data.csv: column 'x' is missing (it has: a, b)"),
         "error: data.csv: column 'x' is missing (it has: a, b)"),
        (PermissionError(13, "Permission denied", "out.csv"),
         "error: out.csv: Permission denied; check the path and its permissions"),
        (KeyError("boom"), "error: KeyError: 'boom' (run with --debug for the traceback)"),
        (RuntimeError("line one\nline two"),
         "error: RuntimeError: line one line two (run with --debug for the traceback)"),
    ],
)
def test_every_error_is_one_line_and_debug_reraises(exception, expected):
    def body():
        raise exception

    result = CliRunner().invoke(_app(body), ["run"])
    assert result.exit_code == 1
    assert result.stderr == expected + "\n" and result.stdout == ""
    debug = CliRunner().invoke(_app(body), ["run", "--debug"])
    assert debug.exception is exception


def test_ctrl_c_exits_130_and_a_closed_pipe_exits_141():
    def interrupted():
        raise KeyboardInterrupt

    def closed():
        raise BrokenPipeError(32, "Broken pipe")

    result = CliRunner().invoke(_app(interrupted), ["run"])
    assert result.exit_code == 130 and "Traceback" not in result.output
    result = CliRunner().invoke(_app(closed), ["run"])
    # a truncated output is not a success (issue 18): status 141, one line on stderr
    assert result.exit_code == 141 and result.stdout == ""
    assert result.stderr.startswith("error: <stdout>: the reader closed the pipe")


def test_warnings_are_one_line_each():
    import warnings

    def warns():
        warnings.warn("something\nodd", UserWarning, stacklevel=1)

    result = CliRunner().invoke(_app(warns), ["run"])
    assert result.exit_code == 0 and result.stderr == "warning: something odd\n"


def test_usage_errors_are_one_line_too(fitted):
    model = fitted["vae-mixed"].model
    line = assert_one_line_error(invoke("score", model, "x.csv", "--tpo-k", 3), "--tpo-k",
                                 code=2)
    assert "latentwatch score --help" in line
    assert_one_line_error(invoke("score", model, "x.csv", "-k", "many"), "--top-k", code=2)
    assert_one_line_error(invoke("sample", model, "--decode", "blur"), "blur", code=2)
    assert_one_line_error(invoke("frobnicate"), "frobnicate", code=2)


def test_debug_is_on_every_command():
    from latentwatch.cli import COMMANDS, app

    group = typer.main.get_command(app)
    for name in COMMANDS:
        options = {o for p in group.commands[name].params for o in p.opts}
        assert "--debug" in options, name


@pytest.mark.parametrize("command", ["score", "explain", "encode", "evaluate", "report",
                                     "plot-latent", "interpolate"])
def test_missing_data_file(fitted, tmp_path, command):
    extra = {"evaluate": ["-l", "label"], "interpolate": ["--from", 1, "--to", 2],
             "report": ["-o", tmp_path / "r.html"], "plot-latent": ["-o", tmp_path / "p.png"]}
    result = invoke(command, fitted["ae-numeric"].model, tmp_path / "nothing.csv",
                    *extra.get(command, []))
    assert_one_line_error(result, "nothing.csv: no such file")


@pytest.mark.parametrize("command", ["score", "info", "sample", "report"])
def test_missing_or_damaged_model(fitted, tmp_path, command):
    data = [fitted["ae-numeric"].data] if command == "score" else []
    assert_one_line_error(invoke(command, tmp_path / "nothing.lwm", *data),
                          "nothing.lwm", "no such model file")
    broken = tmp_path / "broken.lwm"
    broken.write_bytes(fitted["ae-numeric"].model.read_bytes()[:-50])
    assert_one_line_error(invoke(command, broken, *data), "broken.lwm")


def test_bad_columns(fitted, workspace, tmp_path):
    each = fitted["vae-mixed"]
    frame = pd.read_csv(each.data)
    frame.drop(columns="currency").to_parquet(tmp_path / "no_currency.parquet")
    for command in ("score", "encode", "explain"):
        assert_one_line_error(invoke(command, each.model, tmp_path / "no_currency.parquet"),
                              "no_currency.parquet", "column 'currency' is missing")
    frame.assign(is_online="sometimes").to_csv(tmp_path / "typed.csv", index=False)
    assert_one_line_error(invoke("encode", each.model, tmp_path / "typed.csv"), "typed.csv",
                          "row 1, column 'is_online': 'sometimes' is not a boolean")
    assert_one_line_error(invoke("score", each.model, each.data, "-i", "ghost"),
                          "mixed.csv", "id column 'ghost' is not in the data")
    assert_one_line_error(invoke("fit", each.data, "-i", "ghost", "-o", tmp_path / "m.lwm"),
                          "mixed.csv", "id column 'ghost' is not in the data")
    assert_one_line_error(invoke("evaluate", each.model, each.data, "-l", "nope"),
                          "mixed.csv", "'nope' is not in the data")
    assert_one_line_error(invoke("evaluate", each.model, each.data, "-l", "country"),
                          "label column 'country'", "0/1")
    assert_one_line_error(invoke("plot-latent", each.model, each.data, "--color-by", "hue",
                                 "-o", tmp_path / "p.png"), "'hue' is not in the data")
    assert not (tmp_path / "p.png").exists()


def test_debug_reraises_a_data_error(fitted, tmp_path):
    each = fitted["vae-mixed"]
    pd.read_csv(each.data).assign(is_online="sometimes").to_csv(tmp_path / "typed.csv",
                                                                index=False)
    result = invoke("score", each.model, tmp_path / "typed.csv", "--debug")
    assert result.exit_code == 1 and type(result.exception).__name__ == "DataError"


def test_a_semicolon_file_is_read_or_refused_by_name(workspace, tmp_path):
    frame = pd.read_csv(workspace / "numeric.csv").head(200)
    frame.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    result = ok(invoke("schema", tmp_path / "semi.csv", "-i", "rid", "-x", "label"))
    assert "f5" in result.stdout and "rid" in result.stdout  # eight columns, not one
    ok(invoke("fit", tmp_path / "semi.csv", "-i", "rid", "-x", "label", "--epochs", 1,
              "-q", "-o", tmp_path / "semi.lwm"))
    assert latentwatch.load(tmp_path / "semi.lwm").n_features_in_ == 6
    ok(invoke("score", tmp_path / "semi.lwm", tmp_path / "semi.csv", "-q", "-o",
              tmp_path / "s.csv"))
    assert len(pd.read_csv(tmp_path / "s.csv")) == 200
    # a header with ';' whose lines do not split evenly on it: refused, naming it
    (tmp_path / "odd.csv").write_text("a;b;c\n1\n2\n")
    assert_one_line_error(invoke("fit", tmp_path / "odd.csv"), "odd.csv", "1 column found",
                          "';'")


def test_fit_refuses_bad_rows_or_skips_them(workspace, tmp_path):
    frame = pd.read_csv(workspace / "numeric.csv").head(300).astype({"f1": object})
    frame.loc[[6, 9], "f1"] = ["twelve", "?"]
    frame.to_csv(tmp_path / "bad.csv", index=False)
    failed = invoke("fit", tmp_path / "bad.csv", "-i", "rid", "-x", "label", "-o",
                    tmp_path / "bad.lwm")
    assert_one_line_error(failed, "bad.csv", "2 rows cannot be used", "row 7, column 'f1'",
                          "--skip-bad-rows")
    assert not (tmp_path / "bad.lwm").exists()
    kept = ok(invoke("fit", tmp_path / "bad.csv", "-i", "rid", "--schema", "infer", "-x",
                     "label", "--skip-bad-rows", "--epochs", 1, "-o", tmp_path / "bad.lwm"))
    assert "skipped: 2 rows cannot be used" in kept.stderr
    assert "trained VAEDetector on 298 rows" in kept.stdout


def test_score_refuses_bad_rows_or_gives_them_a_reason(fitted, tmp_path):
    each = fitted["vae-mixed"]
    bad = pd.read_csv(each.data).astype({"amount": object})
    bad.loc[6, "amount"] = "twelve"
    bad.loc[9, "amount"] = "-"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out.csv"
    failed = invoke("score", each.model, tmp_path / "bad.csv", "-o", out, "--chunk-rows", 5)
    assert_one_line_error(failed, "bad.csv", "2 rows cannot be used",
                          "row 7, column 'amount': 'twelve' is not a number", "row 10",
                          "--keep-bad-rows")
    assert not out.exists(), "a failed run leaves no partial output"
    kept = ok(invoke("score", each.model, tmp_path / "bad.csv", "-o", out, "--keep-bad-rows"))
    assert "2 rows could not be scored" in kept.stderr
    scores = pd.read_csv(out)
    assert len(scores) == len(bad) and scores["score"].isna().sum() == 2
    assert scores.loc[6, "reason"] == "column 'amount': 'twelve' is not a number"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--threshold", "false_alarm_rate"], ["--threshold", "KIND:VALUE"]),
        (["--threshold", "contamination:abc"], ["--threshold", "'abc' is not a number"]),
        (["--threshold", "log_likelihood:-40", "--model", "ae"], ["--threshold", "VAEDetector"]),
        (["--threshold", "contamination:0.05", "--contamination", "0.05"],
         ["--threshold", "not both"]),
        (["--contamination", "0.9"], ["--contamination '0.9'", "(0, 0.5]"]),
        (["--epochs", "many"], ["--epochs 'many'"]),
        (["--hidden-dims", "64,x"], ["--hidden-dims '64,x'"]),
        (["--schema", "nothing.json"], ["nothing.json", "cannot read the schema file"]),
    ],
)
def test_fit_refuses_bad_options_in_one_line(workspace, tmp_path, args, fragments):
    result = invoke("fit", workspace / "numeric.csv", "-o", tmp_path / "m.lwm", *args)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "m.lwm").exists()


def test_row_selectors_count_from_one(fitted):
    each = fitted["ae-numeric"]
    assert_one_line_error(invoke("explain", each.model, each.data, "--rows", "501"),
                          "numeric.csv", "--rows 501 is past the end (500 rows")
    assert_one_line_error(invoke("explain", each.model, each.data, "--rows", "0,2"),
                          "count from 1")
    assert_one_line_error(invoke("explain", each.model, each.data, "--rows", "a-b"),
                          "3,17,40-45")
    assert_one_line_error(invoke("interpolate", each.model, each.data, "--from", 1, "--to",
                                 501), "--to 501", "rows 1 to 500")


def test_an_autoencoder_has_no_prior_nor_decoder_draws(fitted):
    model = fitted["ae-numeric"].model
    assert_one_line_error(invoke("sample", model, "--source", "prior"), "no prior",
                          "--source aggregate-posterior")
    assert_one_line_error(invoke("sample", model, "--decode", "sample"), "--decode mean")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [("", ["empty file"]), ("rid,f0\n", ["column 'f1' is missing"]),
     ("f0,f1\n1,2\n3,4,5\n", ["row 2 has 3 fields but the header has 2"]),
     ("rid,f0,f1,f2,f3,f4,f5,label\n", ["no data rows"])],
)
def test_malformed_files_give_one_line(fitted, tmp_path, content, fragments):
    path = tmp_path / "x.csv"
    path.write_text(content)
    assert_one_line_error(invoke("score", fitted["ae-numeric"].model, path), "x.csv",
                          *fragments)


def test_bad_output_paths(fitted, tmp_path):
    each = fitted["ae-numeric"]
    assert_one_line_error(invoke("score", each.model, each.data, "-o", tmp_path / "x.json"),
                          "x.json", "unknown file type")
    assert_one_line_error(invoke("sample", each.model, "-o", tmp_path / "no" / "x.csv"),
                          "no such directory")
    assert_one_line_error(invoke("plot-latent", each.model, each.data, "-o",
                                 tmp_path / "x.gif"), "x.gif", "unknown image type")
    assert_one_line_error(invoke("score", each.model, tmp_path), "is a directory")


cell = st.one_of(st.text(max_size=6), st.integers(-10**9, 10**9),
                 st.floats(allow_nan=True, allow_infinity=True), st.just(""), st.just("NaN"))


@settings(derandomize=True, deadline=None, max_examples=15,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_bad_input_never_gives_a_traceback(fitted, tmp_path, data):
    each = fitted["vae-mixed"]
    frame = each.frame.head(8).astype(object)
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.integers(0, 7))
        column = data.draw(st.sampled_from(list(frame.columns)))
        frame.loc[row, column] = data.draw(cell)
    dropped = data.draw(st.lists(st.sampled_from(list(frame.columns)), max_size=2))
    frame = frame.drop(columns=list(set(dropped)))
    path = tmp_path / "generated.csv"
    if data.draw(st.booleans()):
        frame.to_csv(path, index=False)
    else:
        path.write_bytes(data.draw(st.binary(max_size=64)))
    result = invoke("score", each.model, path, "-q", "-k", 1)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "generated.csv" in lines[0], lines[0]
    else:
        assert len(result.stdout.strip().splitlines()) == 1 + len(frame)
    os.remove(path)
