"""``latentwatch info MODEL`` reads the model file without torch, scikit-learn or
matplotlib: its output is the full load's, the checksum and the signature are the same
digests as torch's tensors give, and a damaged or edited file is still refused."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import MODELS, assert_one_line_error, invoke, ok

import latentwatch
from latentwatch import model_file, persistence, signing
from latentwatch.cli import describe

HEAVY = ("torch", "sklearn", "matplotlib")
PROBE = ("import json, runpy, sys; sys.argv = ['latentwatch', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('latentwatch', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")


def _probe(*args) -> tuple[str, list[str]]:
    src = str(Path(latentwatch.__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)],
                            capture_output=True, text=True, env={"PYTHONPATH": src},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), json.loads(lines[-1])


def _fast_output(monkeypatch, *args) -> str:
    """``info``'s output where a full load would fail the test (the fast path only)."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("info loaded the whole model")

    with monkeypatch.context() as patch:
        patch.setattr(describe, "load_model", refuse)
        return ok(invoke("info", *args)).stdout


def _full_load_output(monkeypatch, *args) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(describe, "_file_view", lambda *_: None)
        return ok(invoke("info", *args)).stdout


@pytest.mark.parametrize("name", ["vae-mixed", "ae-series"])
def test_info_imports_no_heavy_library(fitted, name):
    text, heavy = _probe("info", fitted[name].model)
    assert heavy == []
    assert f"{fitted[name].model}: " in text and "threshold: " in text


def test_info_prints_what_the_full_load_prints(each, monkeypatch):
    fast = _fast_output(monkeypatch, each.model)
    assert fast == _full_load_output(monkeypatch, each.model)


def test_a_signed_file_is_verified_without_torch(fitted, tmp_path, monkeypatch):
    ok(invoke("keygen", "-o", tmp_path / "k.key"))
    signed = tmp_path / "signed.lwm"
    ok(invoke("sign", fitted["vae-numeric"].model, "--sign-key", tmp_path / "k.key", "-o",
              signed))
    text, heavy = _probe("info", signed, "--verify-key", tmp_path / "k.key.pub")
    assert heavy == [] and "verified" in text
    fast = _fast_output(monkeypatch, signed, "--verify-key", tmp_path / "k.key.pub")
    assert fast == _full_load_output(monkeypatch, signed, "--verify-key",
                                     tmp_path / "k.key.pub")
    ok(invoke("keygen", "-o", tmp_path / "other.key"))
    assert_one_line_error(invoke("info", signed, "--verify-key", tmp_path / "other.key.pub"),
                          "signed by key")


@pytest.mark.parametrize("kwargs", [{"hidden_dims": []}, {"hidden_dims": (12, 7, 5),
                                                          "latent_dim": 3}])
@pytest.mark.parametrize("kind", ["AutoEncoderDetector", "VAEDetector"])
def test_the_network_line_of_other_shapes(kind, kwargs, tmp_path, monkeypatch):
    X = np.random.default_rng(0).normal(size=(80, 4))
    model = getattr(latentwatch, kind)(max_epochs=1, random_state=0, **kwargs).fit(X)
    path = model.save(tmp_path / "m.lwm")
    fast = _fast_output(monkeypatch, path)
    assert f"-> {model.hidden_dims_} -> latent {model.latent_dim_}" in fast
    assert fast == _full_load_output(monkeypatch, path)


def test_digests_from_the_raw_bytes_equal_torchs(fitted, tmp_path):
    ok(invoke("keygen", "-o", tmp_path / "k.key"))
    for name in MODELS:
        meta, tensors = persistence.read_file(fitted[name].model)
        _header, raw = model_file.read_raw(fitted[name].model)
        parts = {k: (t.torch_dtype, t.shape, t.data) for k, t in raw.items()}
        assert model_file.digest(parts, meta) == meta["sha256"]
        assert model_file.digest(parts, meta) == persistence.checksum(
            tensors, {k: v for k, v in meta.items()
                      if k not in ("format", "format_version", "sha256")})
        assert signing.parts_digest(parts, meta) == signing.contents_digest(tensors, meta)
        for key, tensor in tensors.items():
            np.testing.assert_array_equal(raw[key].array(), tensor.numpy())


def _flip(path: Path, out: Path, where: int) -> Path:
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def test_a_damaged_file_is_refused(fitted, tmp_path):
    path = fitted["vae-mixed"].model
    data = path.read_bytes()
    damaged = _flip(path, tmp_path / "damaged.lwm", len(data) - 3)
    assert_one_line_error(invoke("info", damaged), "does not match its checksum")
    truncated = tmp_path / "truncated.lwm"
    truncated.write_bytes(data[:len(data) // 2])
    assert_one_line_error(invoke("info", truncated), "not a readable safetensors")
    assert_one_line_error(invoke("info", tmp_path / "missing.lwm"), "no such model file")


def test_an_edited_file_with_a_recomputed_checksum_is_refused(fitted, tmp_path):
    meta, tensors = persistence.read_file(fitted["vae-mixed"].model)
    body = {k: v for k, v in meta.items() if k not in ("format", "format_version", "sha256")}
    body["params"] = {**body["params"], "n_samples": 10 ** 9}
    edited = persistence.write_file(tmp_path / "edited.lwm", tensors, body)
    assert_one_line_error(invoke("info", edited), "n_samples")
    body = {k: v for k, v in meta.items() if k not in ("format", "format_version", "sha256")}
    tensors = {**tensors, "calibration.elbo": tensors["calibration.elbo"] * float("nan")}
    edited = persistence.write_file(tmp_path / "nan.lwm", tensors, body)
    assert_one_line_error(invoke("info", edited), "NaN or infinite")
