"""Save/load round trips and refusal of damaged or foreign files."""

import json
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import latentwatch
from latentwatch import AutoEncoderDetector, ModelFormatError, VAEDetector


@pytest.fixture(scope="module", params=[AutoEncoderDetector, VAEDetector])
def saved(request, planted, tmp_path_factory):
    X_train, _, _ = planted
    model = request.param(max_epochs=5, random_state=0, contamination=0.05).fit(X_train)
    path = tmp_path_factory.mktemp("models") / "model.lwm"
    model.save(path)
    return model, path


def _rewrite_header(path, tmp_path, edit):
    """Copy a safetensors file with its JSON header transformed by ``edit``."""
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    edit(header)
    new = json.dumps(header).encode()
    out = tmp_path / "edited.lwm"
    out.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + size:])
    return out


def test_round_trip_is_bit_identical(saved, planted):
    model, path = saved
    _, X_test, _ = planted
    loaded = latentwatch.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.anomaly_score(X_test), model.anomaly_score(X_test))
    np.testing.assert_array_equal(loaded.feature_scores(X_test), model.feature_scores(X_test))
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    np.testing.assert_array_equal(loaded.transform(X_test), model.transform(X_test))
    assert loaded.offset_ == model.offset_
    assert loaded.history_ == model.history_


def test_file_is_plain_safetensors_with_json_metadata(saved):
    _, path = saved
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
    meta = json.loads(header["__metadata__"]["latentwatch"])
    assert meta["format"] == "latentwatch-model"
    assert meta["format_version"] == 1
    assert meta["latentwatch_version"] == latentwatch.__version__
    assert b"pickle" not in raw and raw[:2] != b"\x80\x04"


def test_round_trip_keeps_feature_names(planted, tmp_path):
    import pandas as pd

    X_train, _, _ = planted
    frame = pd.DataFrame(X_train, columns=[f"c{i}" for i in range(X_train.shape[1])])
    model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame)
    loaded = latentwatch.load(model.save(tmp_path / "m.lwm"))
    assert list(loaded.feature_names_in_) == list(frame.columns)


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

    def drop_state(header):
        meta = json.loads(header["__metadata__"]["latentwatch"])
        del meta["state"]["latent_dim_"]
        header["__metadata__"]["latentwatch"] = json.dumps(meta)

    with pytest.raises(ModelFormatError, match="inconsistent"):
        latentwatch.load(_rewrite_header(path, tmp_path, drop_state))


def test_newer_format_version_says_so(saved, tmp_path):
    _, path = saved

    def bump(header):
        meta = json.loads(header["__metadata__"]["latentwatch"])
        meta["format_version"] = 99
        header["__metadata__"]["latentwatch"] = json.dumps(meta)

    with pytest.raises(ModelFormatError, match="newer"):
        latentwatch.load(_rewrite_header(path, tmp_path, bump))


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFormatError, match=r"notes\.txt"):
        latentwatch.load(text)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(ModelFormatError, match="not a latentwatch model"):
        latentwatch.load(other)
    with pytest.raises(ModelFormatError, match="no such"):
        latentwatch.load(tmp_path / "missing.lwm")


def test_save_is_atomic_and_leaves_no_temporary_files(saved, tmp_path):
    model, _ = saved
    target = tmp_path / "m.lwm"
    target.write_bytes(b"old")
    model.save(target)
    assert latentwatch.load(target) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["m.lwm"]


def test_capped_score_survives_the_round_trip_and_older_files_say_to_refit(planted, tmp_path):
    X_train, X_test, _ = planted
    model = VAEDetector(max_epochs=5, random_state=0,
                        score_method="capped_reconstruction_probability").fit(X_train)
    loaded = latentwatch.load(model.save(tmp_path / "capped.lwm"))
    np.testing.assert_array_equal(loaded.feature_nll_median_, model.feature_nll_median_)
    np.testing.assert_array_equal(loaded.anomaly_score(X_test), model.anomaly_score(X_test))
    # a file written before the capped score existed has no medians
    del model.feature_nll_median_
    older = latentwatch.load(model.save(tmp_path / "older.lwm"))
    assert not hasattr(older, "feature_nll_median_")
    with pytest.raises(ValueError, match="predates the capped score"):
        older.anomaly_score(X_test)
    older.set_params(score_method="reconstruction_probability")
    assert np.isfinite(older.anomaly_score(X_test)).all()
