"""Signed model files: forgeries that the checksum lets through are refused by a
signature check; the right key is accepted; key files in every supported form."""

import json
import os
import struct

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import save_file

import latentwatch
from latentwatch import AutoEncoderDetector
from latentwatch.demos.datasets import make_transactions
from latentwatch.errors import KeyFileError, SignatureError
from latentwatch.persistence import _digest, signer
from latentwatch.signing import HEADER_KEY, key_id, private_key, public_key, write_key_pair

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A model of card transactions (categories, numbers, times) saved signed and
    unsigned, its key pair and the rows it scores."""
    folder = tmp_path_factory.mktemp("signed")
    frame, _ = make_transactions(400, seed=0)
    model = AutoEncoderDetector(max_epochs=2, random_state=0, schema={
        "id_columns": ["transaction_id"], "exclude": ["customer_id"]}).fit(frame)
    secret, public = write_key_pair(folder / "model.key")
    path = model.save(folder / "signed.lwm", sign_key=secret)
    plain = model.save(folder / "plain.lwm")
    return {"model": model, "frame": frame, "path": path, "plain": plain,
            "secret": secret, "public": public, "folder": folder}


def _forge(path, out, edit_meta=None, edit_tensors=None):
    """Rewrite a model file with its JSON document or tensors edited and the checksum
    recomputed, keeping the original signature entry: what an attacker with write access
    to the file and this source code can do."""
    with safe_open(str(path), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    meta = json.loads(header["latentwatch"])
    if edit_meta is not None:
        edit_meta(meta)
    if edit_tensors is not None:
        edit_tensors(tensors)
    meta["sha256"] = _digest(tensors, meta)
    header["latentwatch"] = json.dumps(meta)
    save_file(tensors, str(out), metadata=header)
    return out


def test_the_right_key_is_accepted_and_scores_bit_for_bit(signed):
    loaded = latentwatch.load(signed["path"], verify_key=signed["public"])
    np.testing.assert_array_equal(loaded.anomaly_score(signed["frame"]),
                                  signed["model"].anomaly_score(signed["frame"]))
    assert signer(signed["path"]) == key_id(signed["public"])
    assert signer(signed["plain"]) is None
    # a signed file still loads without a key: verifying is the loader's choice
    latentwatch.load(signed["path"])


def test_an_edited_threshold_with_a_recomputed_checksum_is_refused(signed, tmp_path):
    def silence(meta):
        offsets = meta["threshold"]["offsets"]
        for method in offsets:
            offsets[method] = -1e9  # no row is ever flagged

    forged = _forge(signed["path"], tmp_path / "forged.lwm", edit_meta=silence)
    quiet = latentwatch.load(forged)  # the checksum alone lets it through...
    assert not (quiet.predict(signed["frame"]) == -1).any()
    with pytest.raises(SignatureError, match="changed after it was signed"):
        latentwatch.load(forged, verify_key=signed["public"])  # ...the signature does not


def test_swapped_category_labels_are_refused(signed, tmp_path):
    def swap(meta):
        block = next(b for b in meta["codec"]["blocks"] if b["name"] == "country")
        block["categories"][0], block["categories"][1] = (block["categories"][1],
                                                          block["categories"][0])

    forged = _forge(signed["path"], tmp_path / "swapped.lwm", edit_meta=swap)
    latentwatch.load(forged)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        latentwatch.load(forged, verify_key=signed["public"])


def test_edited_weights_and_calibration_scores_are_refused(signed, tmp_path):
    def nudge(tensors):
        name = next(n for n in sorted(tensors) if n.startswith("module."))
        tensors[name] = tensors[name] + 1e-6

    forged = _forge(signed["path"], tmp_path / "weights.lwm", edit_tensors=nudge)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        latentwatch.load(forged, verify_key=signed["public"])


def test_unsigned_and_stripped_files_are_refused(signed, tmp_path):
    with pytest.raises(SignatureError, match="not signed"):
        latentwatch.load(signed["plain"], verify_key=signed["public"])
    with safe_open(str(signed["path"]), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    del header[HEADER_KEY]
    save_file(tensors, str(tmp_path / "stripped.lwm"), metadata=header)
    with pytest.raises(SignatureError, match="not signed"):
        latentwatch.load(tmp_path / "stripped.lwm", verify_key=signed["public"])


def test_a_file_signed_by_another_key_is_refused(signed, tmp_path):
    other_secret, other_public = write_key_pair(tmp_path / "other.key")
    path = signed["model"].save(tmp_path / "other.lwm", sign_key=other_secret)
    with pytest.raises(SignatureError, match=f"signed by key {key_id(other_public)}, not by "
                                             f"the verify key {key_id(signed['public'])}"):
        latentwatch.load(path, verify_key=signed["public"])
    # a forger who relabels the key id gets the mismatch instead
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    entry = json.loads(header["__metadata__"][HEADER_KEY])
    entry["key_id"] = key_id(signed["public"])
    header["__metadata__"][HEADER_KEY] = json.dumps(entry)
    new = json.dumps(header).encode()
    relabelled = tmp_path / "relabelled.lwm"
    relabelled.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + size:])
    with pytest.raises(SignatureError, match="changed after it was signed"):
        latentwatch.load(relabelled, verify_key=signed["public"])


def test_bytes_round_trip_signed(signed):
    data = signed["model"].to_bytes(sign_key=signed["secret"])
    latentwatch.load_bytes(data, verify_key=signed["public"])
    with pytest.raises(SignatureError, match="not signed"):
        latentwatch.load_bytes(signed["model"].to_bytes(), verify_key=signed["public"])


def test_key_files_in_every_supported_form(signed, tmp_path):
    from cryptography.hazmat.primitives import serialization

    secret = private_key(signed["secret"])
    raw_private = secret.private_bytes(serialization.Encoding.Raw,
                                       serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption())
    public = secret.public_key()
    raw_public = public.public_bytes(serialization.Encoding.Raw,
                                     serialization.PublicFormat.Raw)
    forms = {"raw.pub": raw_public, "hex.pub": raw_public.hex().encode() + b"\n",
             "ssh.pub": public.public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH)}
    for name, data in forms.items():
        (tmp_path / name).write_bytes(data)
        latentwatch.load(signed["path"], verify_key=tmp_path / name)
    (tmp_path / "raw.key").write_bytes(raw_private)
    path = signed["model"].save(tmp_path / "raw-signed.lwm", sign_key=tmp_path / "raw.key")
    latentwatch.load(path, verify_key=signed["public"])
    with pytest.raises(KeyFileError, match="a private key; verifying needs only the public"):
        public_key(signed["secret"])
    with pytest.raises(KeyFileError, match="a public key; signing needs the private key"):
        private_key(signed["public"])
    (tmp_path / "junk.pub").write_text("not a key\n")
    with pytest.raises(KeyFileError, match=r"junk\.pub: not an Ed25519 public key"):
        public_key(tmp_path / "junk.pub")
    with pytest.raises(KeyFileError, match="no such public key file"):
        public_key(tmp_path / "missing.pub")


def test_key_pairs_are_never_overwritten_and_the_private_key_is_private(signed):
    assert oct(os.stat(signed["secret"]).st_mode & 0o777) == "0o600"
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_pair(signed["secret"])


def test_no_key_material_is_in_the_model_file(signed):
    from cryptography.hazmat.primitives import serialization

    secret = private_key(signed["secret"])
    raw = secret.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                               serialization.NoEncryption())
    data = signed["path"].read_bytes()
    assert raw not in data and raw.hex().encode() not in data
    with safe_open(str(signed["path"]), framework="pt") as f:
        header = f.metadata()
    assert sorted(json.loads(header[HEADER_KEY])) == ["algorithm", "key_id", "signature"]
