"""Save/load round trips, the file format, and refusal of damaged, foreign or old files."""

import json
import os
import struct

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import latentwatch
from latentwatch import AutoEncoderDetector, ModelFormatError, VAEDetector
from latentwatch.persistence import FORMAT_VERSION, _digest, read_metadata

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", params=[AutoEncoderDetector, VAEDetector])
def saved(request, planted, tmp_path_factory):
    X_train, _, _ = planted
    model = request.param(max_epochs=5, random_state=0, contamination=0.05).fit(X_train)
    path = tmp_path_factory.mktemp("models") / "model.lwm"
    model.save(path)
    return model, path


def _header(raw: bytes) -> dict:
    return json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])


def _rewrite_header(path, tmp_path, edit, name="edited.lwm"):
    """Copy a safetensors file with its JSON header transformed by ``edit``."""
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    edit(header)
    new = json.dumps(header).encode()
    out = tmp_path / name
    out.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + size:])
    return out


def test_round_trip_is_bit_identical(saved, planted):
    model, path = saved
    _, X_test, _ = planted
    loaded = latentwatch.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.codec_ == model.codec_
    np.testing.assert_array_equal(loaded.anomaly_score(X_test), model.anomaly_score(X_test))
    np.testing.assert_array_equal(loaded.feature_scores(X_test), model.feature_scores(X_test))
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    np.testing.assert_array_equal(loaded.p_values(X_test), model.p_values(X_test))
    np.testing.assert_array_equal(loaded.transform(X_test), model.transform(X_test))
    np.testing.assert_array_equal(loaded.sample(20, random_state=1),
                                  model.sample(20, random_state=1))
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(loaded.prior_, name), getattr(model.prior_, name))
    assert loaded.offset_ == model.offset_
    assert loaded.history_ == model.history_
    assert loaded.seed_ == model.seed_ and loaded.input_kind_ == model.input_kind_
    # saving again writes the same bytes
    again = loaded.save(path.parent / "again.lwm")
    assert again.read_bytes() == path.read_bytes()


def test_file_is_plain_safetensors_with_json_metadata(saved):
    model, path = saved
    raw = path.read_bytes()
    meta = json.loads(_header(raw)["__metadata__"]["latentwatch"])
    assert meta["format"] == "latentwatch-model"
    assert meta["format_version"] == FORMAT_VERSION == 3
    assert meta["latentwatch_version"] == latentwatch.__version__
    assert meta["class"] == type(model).__name__
    assert meta["model"]["name"] == model.module_.name
    assert meta["codec"] == model.codec_.to_dict()
    assert set(meta["fit"]) >= {"seed", "history", "input_kind", "n_features"}
    assert read_metadata(path) == meta
    assert b"pickle" not in raw and raw[:2] != b"\x80\x04"


def test_round_trip_keeps_feature_names(planted, tmp_path):
    X_train, _, _ = planted
    frame = pd.DataFrame(X_train, columns=[f"c{i}" for i in range(X_train.shape[1])])
    model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame)
    loaded = latentwatch.load(model.save(tmp_path / "m.lwm"))
    assert list(loaded.feature_names_in_) == list(frame.columns)
    pd.testing.assert_frame_equal(loaded.reconstruct(frame.iloc[:5]),
                                  model.reconstruct(frame.iloc[:5]))


def test_truncated_file_is_refused(saved, tmp_path):
    _, path = saved
    cut = tmp_path / "cut.lwm"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFormatError, match=r"cut\.lwm"):
        latentwatch.load(cut)


def test_edited_weights_are_refused(saved, tmp_path):
    _, path = saved
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    edited = tmp_path / "flipped.lwm"
    edited.write_bytes(bytes(raw))
    with pytest.raises(ModelFormatError, match="checksum"):
        latentwatch.load(edited)


def test_edited_metadata_is_refused(saved, tmp_path):
    _, path = saved

    def break_json(header):
        header["__metadata__"]["latentwatch"] = header["__metadata__"]["latentwatch"][:-5]

    with pytest.raises(ModelFormatError, match="not valid JSON"):
        latentwatch.load(_rewrite_header(path, tmp_path, break_json))

    def shift_threshold(header):
        meta = json.loads(header["__metadata__"]["latentwatch"])
        offsets = meta["threshold"]["offsets"]
        offsets[next(iter(offsets))] += 1.0
        header["__metadata__"]["latentwatch"] = json.dumps(meta)

    # the checksum covers the JSON document, not only the tensors
    with pytest.raises(ModelFormatError, match="checksum"):
        latentwatch.load(_rewrite_header(path, tmp_path, shift_threshold))


def test_inconsistent_contents_are_refused_even_with_a_valid_checksum(saved, tmp_path):
    _, path = saved
    with safe_open(str(path), framework="pt") as f:
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118

    def drop_seed(header):
        meta = json.loads(header["__metadata__"]["latentwatch"])
        del meta["fit"]["seed"]
        meta["sha256"] = _digest(tensors, meta)
        header["__metadata__"]["latentwatch"] = json.dumps(meta)

    with pytest.raises(ModelFormatError, match="inconsistent"):
        latentwatch.load(_rewrite_header(path, tmp_path, drop_seed))


def test_newer_format_version_says_so(saved, tmp_path):
    _, path = saved

    def bump(header):
        meta = json.loads(header["__metadata__"]["latentwatch"])
        meta["format_version"] = 99
        header["__metadata__"]["latentwatch"] = json.dumps(meta)

    with pytest.raises(ModelFormatError, match="newer"):
        latentwatch.load(_rewrite_header(path, tmp_path, bump))


@pytest.mark.parametrize("version", [1, 2])
def test_files_of_latentwatch_0_1_are_refused_with_how_to_refit(version, tmp_path):
    """A format 1 (numeric) or 2 (table) file as latentwatch 0.1 wrote it: network tensors
    and a JSON document with the estimator's attributes under ``state``."""
    state = {"latent_dim_": 2, "hidden_dims_": [32, 16], "n_features_in_": 3,
             "offset_": -4.2, "seed_": 7, "n_epochs_": 3}
    if version == 1:
        state |= {"mean_": [0.0, 0.0, 0.0], "scale_": [1.0, 1.0, 1.0],
                  "data_min_": [-1.0] * 3, "data_max_": [1.0] * 3}
    else:
        state |= {"layout_": {"blocks": [{"name": "a", "kind": "numeric"}]}}
    meta = {"format": "latentwatch-model", "format_version": version,
            "latentwatch_version": "0.1.4", "class": "VAEDetector",
            "params": {"max_epochs": 3, "random_state": 0}, "state": state,
            "sha256": "0" * 64}
    path = tmp_path / f"old-v{version}.lwm"
    save_file({"network.encoder.0.weight": torch.zeros(32, 3),
               "network.encoder.0.bias": torch.zeros(32)}, str(path),
              metadata={"latentwatch": json.dumps(meta)})
    with pytest.raises(ModelFormatError) as info:
        latentwatch.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert f"format {version}" in message and "0.1.4" in message
    assert "refit" in message and "latentwatch fit" in message
    with pytest.raises(ModelFormatError, match="refit"):
        read_metadata(path)


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFormatError, match=r"notes\.txt"):
        latentwatch.load(text)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(ModelFormatError, match="not a latentwatch model"):
        latentwatch.load(other)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign),
              metadata={"latentwatch": json.dumps({"format": "something-else"})})
    with pytest.raises(ModelFormatError, match="not a latentwatch model"):
        latentwatch.load(foreign)
    with pytest.raises(ModelFormatError, match="no such"):
        latentwatch.load(tmp_path / "missing.lwm")


def test_save_is_atomic_and_leaves_no_temporary_files(saved, tmp_path):
    model, _ = saved
    target = tmp_path / "m.lwm"
    target.write_bytes(b"old")
    model.save(target)
    assert latentwatch.load(target) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["m.lwm"]


def test_saved_files_follow_the_umask(saved, tmp_path):
    model, _ = saved
    old = os.umask(0o022)
    try:
        path = model.save(tmp_path / "shared.lwm")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_capped_score_survives_the_round_trip(planted, tmp_path):
    X_train, X_test, _ = planted
    model = VAEDetector(max_epochs=5, random_state=0,
                        score_method="capped_reconstruction_probability").fit(X_train)
    loaded = latentwatch.load(model.save(tmp_path / "capped.lwm"))
    np.testing.assert_array_equal(loaded.feature_nll_median_, model.feature_nll_median_)
    np.testing.assert_array_equal(loaded.anomaly_score(X_test), model.anomaly_score(X_test))
    for method in ("reconstruction_probability", "elbo"):
        model.set_params(score_method=method)
        loaded.set_params(score_method=method)
        assert loaded.offset_ == model.offset_
        np.testing.assert_array_equal(loaded.anomaly_score(X_test), model.anomaly_score(X_test))



@pytest.mark.parametrize("cls", [AutoEncoderDetector, VAEDetector])
@pytest.mark.parametrize(
    "params",
    [{"hidden_dims": (16, 8), "latent_dim": 3},
     {"hidden_dims": [24], "max_epochs": "auto", "training": {"auto_epoch_range": (2, 3)}}],
    ids=["architecture", "training"],
)
def test_every_parameter_and_architecture_round_trips(cls, params, tmp_path):
    X = np.random.default_rng(0).normal(size=(150, 5))
    model = cls(random_state=0, **{"max_epochs": 2, **params}).fit(X)
    loaded = latentwatch.load(model.save(tmp_path / "m.lwm"))
    assert loaded.get_params() == model.get_params()
    assert loaded.hidden_dims_ == model.hidden_dims_ and loaded.latent_dim_ == model.latent_dim_
    np.testing.assert_array_equal(loaded.anomaly_score(X), model.anomaly_score(X))
