"""``keygen``, ``fit --sign-key``, ``sign`` and ``--verify-key`` on every command that
loads a model: a forged or unsigned model is refused in one line."""

from __future__ import annotations

import inspect
import json

import pytest
from cli_helpers import assert_one_line_error, invoke, ok
from safetensors import safe_open
from safetensors.torch import save_file

from latentwatch.cli import COMMANDS
from latentwatch.persistence import _digest

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def keyed(workspace, tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    result = ok(invoke("keygen", "-o", folder / "team.key"))
    assert "key id" in result.stderr
    model = folder / "signed.lwm"
    fitted = ok(invoke("fit", workspace / "mixed.csv", "-i", "transaction_id", "-x", "label",
                       "--epochs", 2, "--seed", 0, "-o", model, "--sign-key",
                       folder / "team.key"))
    assert "signed by key" in fitted.stdout
    plain = folder / "plain.lwm"
    ok(invoke("fit", workspace / "mixed.csv", "-i", "transaction_id", "-x", "label",
              "--epochs", 2, "--seed", 0, "-q", "-o", plain))
    with safe_open(str(model), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    meta = json.loads(header["latentwatch"])
    for method in meta["threshold"]["offsets"]:
        meta["threshold"]["offsets"][method] = -1e9
    meta["sha256"] = _digest(tensors, meta)
    header["latentwatch"] = json.dumps(meta)
    forged = folder / "forged.lwm"
    save_file(tensors, str(forged), metadata=header)
    return {"key": folder / "team.key", "pub": folder / "team.key.pub", "model": model,
            "plain": plain, "forged": forged, "data": workspace / "mixed.csv",
            "folder": folder}


def test_every_command_that_loads_a_model_takes_verify_key():
    for name, command in COMMANDS.items():
        parameters = inspect.signature(command).parameters
        if "model" in parameters and name not in ("fit", "sign"):
            assert "verify_key" in parameters, name


def test_a_signed_model_scores_as_an_unsigned_one(keyed, tmp_path):
    ok(invoke("score", keyed["model"], keyed["data"], "--verify-key", keyed["pub"], "-q",
              "-o", tmp_path / "signed.csv"))
    ok(invoke("score", keyed["plain"], keyed["data"], "-q", "-o", tmp_path / "plain.csv"))
    assert (tmp_path / "signed.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    info = ok(invoke("info", keyed["model"], "--verify-key", keyed["pub"]))
    assert "signed by key" in info.stdout and "verified" in info.stdout


@pytest.mark.parametrize("args", [
    ("score", "{model}", "{data}", "-o", "{out}/s.csv"),
    ("score", "{model}", "{data}", "--engine", "dask", "--workers", "1", "-o", "{out}/parts"),
    ("explain", "{model}", "{data}", "-n", "1"),
    ("evaluate", "{model}", "{data}", "-l", "label"),
    ("report", "{model}", "{data}", "-o", "{out}/r.html"),
    ("info", "{model}"),
    ("sample", "{model}", "-n", "2"),
    ("encode", "{model}", "{data}", "-o", "{out}/c.csv"),
    ("serve", "{model}", "--port", "1"),
])
def test_forged_and_unsigned_models_are_refused_in_one_line(keyed, tmp_path, args):
    for model, fragment in ((keyed["forged"], "changed after it was signed"),
                            (keyed["plain"], "not signed")):
        filled = [a.format(model=model, data=keyed["data"], out=tmp_path) for a in args]
        result = invoke(*filled, "--verify-key", keyed["pub"])
        assert_one_line_error(result, str(model), fragment)
        assert list(tmp_path.iterdir()) == []


def test_the_verify_key_can_come_from_the_environment(keyed):
    result = invoke("info", keyed["forged"], env={"LATENTWATCH_VERIFY_KEY": str(keyed["pub"])})
    assert_one_line_error(result, "changed after it was signed")


def test_sign_signs_an_existing_model(keyed, tmp_path):
    out = tmp_path / "now-signed.lwm"
    ok(invoke("sign", keyed["plain"], "--sign-key", keyed["key"], "-o", out))
    ok(invoke("info", out, "--verify-key", keyed["pub"]))
    assert_one_line_error(invoke("sign", keyed["forged"], "--sign-key", keyed["pub"]),
                          "a public key; signing needs the private key")


def test_bad_key_files_are_refused_before_training(keyed, tmp_path):
    result = invoke("fit", keyed["data"], "--sign-key", tmp_path / "missing.key", "-o",
                    tmp_path / "m.lwm")
    assert_one_line_error(result, "missing.key: no such private key file")
    assert not (tmp_path / "m.lwm").exists()
    result = invoke("score", keyed["model"], keyed["data"], "--verify-key", keyed["key"])
    assert_one_line_error(result, "a private key; verifying needs only the public key")
    assert_one_line_error(invoke("keygen", "-o", keyed["key"]), "already exists")
