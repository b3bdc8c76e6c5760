"""Forged and damaged model files: every edit is refused with a ModelFormatError (one
line from the command line), also when the forger recomputes the checksum."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hostile_helpers import TALLY, invoke, refused
from safetensors import safe_open
from safetensors.torch import save_file

import latentwatch
from latentwatch import persistence
from latentwatch.errors import ModelFormatError


def _open(path):
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["latentwatch"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    return meta, tensors


def _write(path, meta, tensors, *, resign: bool, raw_meta: str | None = None):
    if resign:
        meta["sha256"] = persistence._digest(tensors, meta)
    save_file(tensors, str(path), metadata={"latentwatch": raw_meta or json.dumps(meta)})
    return path


def _refused_everywhere(path) -> str:
    """Refused by ``load``, ``info`` and ``score``; returns ``load``'s message."""
    TALLY["forged files"] += 1
    with pytest.raises(ModelFormatError) as caught:
        latentwatch.load(path)
    refused(invoke("info", path), str(path))
    refused(invoke("score", path, path.with_suffix(".csv")), str(path))
    TALLY["forged files refused"] += 1
    return str(caught.value)


def _edit_threshold(meta, tensors):
    offsets = meta["threshold"]["offsets"]
    for key in offsets:
        offsets[key] = -1e9


def _swap_categories(meta, tensors):
    block = next(b for b in meta["codec"]["blocks"] if b["kind"] == "categorical")
    block["categories"] = block["categories"][::-1]


def _edit_scale(meta, tensors):
    next(b for b in meta["codec"]["blocks"] if b["kind"] == "numeric")["scale"] *= 2


def _edit_weight(meta, tensors):
    name = next(k for k in tensors if k.startswith("module.") and k.endswith("weight"))
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] += 1e-6


def _drop_tensor(meta, tensors):
    del tensors[next(k for k in tensors if k.startswith("calibration."))]


UNSIGNED = {"threshold": _edit_threshold, "categories": _swap_categories,
            "scale": _edit_scale, "weight": _edit_weight, "dropped tensor": _drop_tensor}


@pytest.mark.parametrize("edit", sorted(UNSIGNED))
def test_any_edit_without_the_checksum_is_refused(model, tmp_path, edit):
    meta, tensors = _open(model)
    UNSIGNED[edit](meta, tensors)
    path = _write(tmp_path / "forged.lwm", meta, tensors, resign=False)
    assert "checksum" in _refused_everywhere(path)


def _nan_weight(meta, tensors):
    name = next(k for k in tensors if k.startswith("module.") and k.endswith("weight"))
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[3] = float("nan")


def _inf_calibration(meta, tensors):
    name = next(k for k in tensors if k.startswith("calibration."))
    tensors[name] = tensors[name].clone()
    tensors[name][0] = float("inf")


def _huge_n_samples(meta, tensors):
    meta["params"]["n_samples"] = 10**7
    meta["model"]["config"]["n_samples"] = 10**7


def _huge_hidden(meta, tensors):
    meta["model"]["config"]["hidden_dims"] = [10**9, 16]


def _zero_scale(meta, tensors):
    next(b for b in meta["codec"]["blocks"] if b["kind"] == "numeric")["scale"] = 0.0


def _nan_threshold(meta, tensors):
    meta["threshold"]["offsets"]["reconstruction_probability"] = float("nan")


def _deep_json(meta, tensors):
    value: object = 1
    for _ in range(100):
        value = [value]
    meta["params"]["training"] = value


SIGNED = {"NaN weight": (_nan_weight, "NaN or infinite"),
          "inf calibration": (_inf_calibration, "NaN or infinite"),
          "n_samples 1e7": (_huge_n_samples, "n_samples"),
          "hidden 1e9": (_huge_hidden, "does not match the file's tensors"),
          "zero scale": (_zero_scale, "scale"),
          "NaN threshold": (_nan_threshold, "non-finite"),
          "deep JSON": (_deep_json, "nested")}


@pytest.mark.parametrize("edit", sorted(SIGNED))
def test_hostile_contents_with_a_recomputed_checksum_are_refused(model, tmp_path, edit):
    meta, tensors = _open(model)
    change, message = SIGNED[edit]
    change(meta, tensors)
    path = _write(tmp_path / "forged.lwm", meta, tensors, resign=True)
    assert message in _refused_everywhere(path)


def test_200000_levels_of_nested_json_are_refused(model, tmp_path):
    meta, tensors = _open(model)
    raw = json.dumps(meta)[:-1] + ', "deep": ' + "[" * 200_000 + "]" * 200_000 + "}"
    path = _write(tmp_path / "deep.lwm", meta, tensors, resign=False, raw_meta=raw)
    assert "not valid JSON" in _refused_everywhere(path)


@pytest.mark.parametrize("cut", [0, 7, 100, -100, -1])
def test_truncated_files_are_refused(model, tmp_path, cut):
    data = model.read_bytes()
    path = tmp_path / "cut.lwm"
    path.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    assert _refused_everywhere(path).startswith(f"{path}: ")


def test_a_foreign_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "foreign.lwm"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "pt"})
    assert "not a latentwatch model" in _refused_everywhere(path)


def test_an_honest_file_loads_and_scores_bit_for_bit(model, tmp_path):
    meta, tensors = _open(model)
    path = _write(tmp_path / "copy.lwm", meta, tensors, resign=False)
    frame = __import__("hostile_helpers").table().iloc[:20]
    np.testing.assert_array_equal(latentwatch.load(path).anomaly_score(frame),
                                  latentwatch.load(model).anomaly_score(frame))
