"""The model file format: one safetensors file, no pickle.

Its tensors are the network's ``state_dict`` (``module.*``), the calibration scores of
every score method (``calibration.<method>``), the aggregate posterior's mixture
(``prior.*``) and, for the drift test, the calibration rows' scores and per-column parts
(``drift.scores``, ``drift.parts``, a categorical column's category counts
``drift.counts.<j>``; never training rows; a file without them still
loads, and ``drift`` then asks for ``calibrate``). Its header metadata holds one JSON
document (key ``"latentwatch"``) that each component writes itself: the estimator's
class and parameters, the codec's ``to_dict`` (schema, scales, categories, gaps), the
model's name and config, the
threshold's state, the fit's seed and history, the drift reference's method and source
(``"drift"``) and, after ``partial_fit``, the lineage (``"lineage"``: the parent's
checksum, the training rows seen). A SHA-256 over the tensors AND the rest
of the JSON document makes any edit, truncation or foreign file a
:class:`~latentwatch.errors.ModelFormatError`.

Before anything is built from a file, its contents are checked against sane bounds
(:func:`check_contents`): every tensor finite, the JSON at most ``MAX_JSON_DEPTH``
levels deep with finite numbers (the training history aside), scales positive, at most
``MAX_SCORE_SAMPLES`` latent samples per row, and a network whose layers (built first on
PyTorch's ``meta`` device, which allocates nothing) have exactly the shapes of the
file's tensors. A file that fails is a :class:`~latentwatch.errors.ModelFormatError`. The
checksum detects edits and damage; it is not a signature (whoever can write the file can
recompute it), which is why the bounds are checked as well. A file may also carry an
Ed25519 signature over all of its contents (:mod:`latentwatch.signing`): written with
``sign_key``, required and checked when a ``verify_key`` is given.

Format 3 is the layout of latentwatch 0.2 (one data path). Files of formats 1 and 2
(latentwatch 0.1) are refused with a message saying how to refit: their matrix models
scored on a different path, so loading them "as is" could not give identical scores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_tensors
from safetensors.torch import save, save_file

from latentwatch import model_file
from latentwatch.errors import ModelFormatError
from latentwatch.model_file import (  # noqa: F401 (the bounds, named here as before)
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_JSON_DEPTH,
    MAX_SCORE_SAMPLES,
)

_METADATA_KEY = model_file.METADATA_KEY
MODULE = "module."
CALIBRATION = "calibration."
PRIOR = "prior."
PRIOR_FIELDS = ("weights", "means", "covariances")
DRIFT = "drift."

__all__ = ["FORMAT_VERSION", "ModelFormatError", "check_contents", "check_shapes",
           "checksum", "drift_meta", "drift_tensors", "file_bytes", "json_params",
           "params_from_json", "read_bytes", "read_drift", "read_file", "read_metadata",
           "sign_file", "signer", "write_file"]


def _digest(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """SHA-256 of every tensor (name, dtype, shape, bytes) and the canonical JSON of the
    metadata without its checksum (:func:`latentwatch.model_file.digest`)."""
    parts = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        parts[name] = (str(tensor.dtype), tuple(tensor.shape),
                       tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return model_file.digest(parts, meta)


json_params = model_file.json_params
params_from_json = model_file.params_from_json


def as_tensor(tensor_or_array: Any) -> torch.Tensor:
    """A float64 tensor of an array (calibration scores, the prior)."""
    return torch.from_numpy(np.ascontiguousarray(tensor_or_array, dtype=np.float64))


def _document(meta: dict[str, Any], tensors: dict[str, torch.Tensor],
              sign_key: Any = None) -> dict[str, str]:
    """The header metadata: the parts' JSON with the format and the checksum added, and
    with ``sign_key`` the signature of it all."""
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta}
    meta["sha256"] = _digest(tensors, meta)
    header = {_METADATA_KEY: json.dumps(meta)}
    if sign_key is not None:
        from latentwatch import signing

        meta = json.loads(header[_METADATA_KEY])  # sign what a reader will see
        header[signing.HEADER_KEY] = signing.sign(signing.contents_digest(tensors, meta),
                                                  sign_key)
    return header


def checksum(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """The ``sha256`` a model file of these parts carries (what ``read_metadata`` shows)."""
    return json.loads(_document(meta, tensors)[_METADATA_KEY])["sha256"]


def drift_tensors(reference: Any) -> dict[str, torch.Tensor]:
    """The drift reference's tensors: the calibration rows' scores and per-column parts."""
    tensors = {DRIFT + "scores": as_tensor(reference.scores),
               DRIFT + "parts": as_tensor(reference.parts)}
    for j, counts in enumerate(reference.counts or ()):
        if counts is not None:
            tensors[f"{DRIFT}counts.{j}"] = as_tensor(counts)
    return tensors


def drift_meta(reference: Any) -> dict[str, Any]:
    """The drift reference's JSON part: its score method, source and row count."""
    return {"method": reference.method, "source": reference.source,
            "rows": reference.n_rows}


def read_drift(path: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor],
               n_columns: int) -> Any:
    """The drift reference of a checked model file; None for a file without one (saved
    before latentwatch kept it: ``drift`` then asks for ``calibrate``)."""
    from latentwatch.drift import DriftReference

    info = meta.get("drift")
    if info is None:
        return None
    scores, parts = tensors.get(DRIFT + "scores"), tensors.get(DRIFT + "parts")
    n = info.get("rows") if isinstance(info, dict) else None
    if (scores is None or parts is None or not isinstance(info.get("method"), str)
            or tuple(scores.shape) != (n,) or tuple(parts.shape) != (n, n_columns)):
        raise ModelFormatError(f"{path}: the drift reference does not match its tensors; the "
                               "file was edited or damaged")
    counts = tuple(tensors[f"{DRIFT}counts.{j}"].numpy() if f"{DRIFT}counts.{j}" in tensors
                   else None for j in range(n_columns))
    if any(c is not None and (c.ndim != 1 or (c < 0).any()) for c in counts):
        raise ModelFormatError(f"{path}: the drift reference's category counts are not "
                               "counts; the file was edited or damaged")
    return DriftReference(info["method"], scores.numpy(), parts.numpy(), info.get("source"),
                          counts)


def write_file(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
               *, sign_key: Any = None) -> Path:
    """Write a model file atomically (a temporary file, then a rename; the file gets the
    user's umask): the tensors, and the parts' JSON document ``meta`` with the format and
    the checksum added; with ``sign_key`` (a private key file or key), signed.

    Returns
    -------
    pathlib.Path
    """
    from latentwatch.atomic import replace_atomically, temp_file

    header = _document(meta, tensors, sign_key)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_file(path.parent)
    try:
        save_file(tensors, tmp, metadata=header)
        replace_atomically(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def file_bytes(tensors: dict[str, torch.Tensor], meta: dict[str, Any], *,
               sign_key: Any = None) -> bytes:
    """The bytes :func:`write_file` would write."""
    return save(tensors, metadata=_document(meta, tensors, sign_key))


def read_file(path: str | Path, *, verify_key: Any = None
              ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The checked JSON document and tensors of a model file; with ``verify_key`` (a
    public key file or key) the file must carry a valid signature by its private key.

    Raises
    ------
    ModelFormatError
        If the file is missing, truncated, edited, not a latentwatch model, or of a
        format this version does not read.
    SignatureError
        With ``verify_key``: if the file is unsigned, signed by another key, or changed
        since it was signed.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFormatError(
            f"{path}: not a readable safetensors model file ({exc}); it may be truncated or "
            "not a latentwatch model") from exc
    return _checked(path, header, tensors, verify_key)


def read_bytes(data: bytes, name: str = "<model bytes>", *, verify_key: Any = None
               ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """:func:`read_file` of a model file's bytes (the safetensors layout: an 8-byte
    little-endian header length, the JSON header, the tensor data)."""
    path = Path(name)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ModelFormatError(f"{name}: expected the bytes of a model file, not "
                               f"{type(data).__name__}")
    data = bytes(data)
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    try:
        if not 0 < size <= len(data) - 8:
            raise ValueError(f"header length {size} does not fit {len(data)} bytes")
        header = json.loads(data[8:8 + size]).get("__metadata__") or {}
        tensors = load_tensors(data)
    except (SafetensorError, ValueError, RuntimeError, AttributeError, RecursionError
            ) as exc:
        raise ModelFormatError(
            f"{name}: not a readable safetensors model file ({' '.join(str(exc).split())}); "
            "it may be truncated or not a latentwatch model") from exc
    return _checked(path, header, tensors, verify_key)


def _checked(path: Path, header: dict[str, str], tensors: dict[str, torch.Tensor],
             verify_key: Any = None) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The checked metadata and tensors of a model file (see :func:`read_file`)."""
    parts = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        parts[name] = (str(tensor.dtype), tuple(tensor.shape),
                       tensor.view(-1).view(torch.uint8).numpy().tobytes()
                       if tensor.numel() else b"")
    meta = model_file.check_document(path, header, parts, verify_key)
    _check_tensors(path, tensors)
    return meta, tensors


_check_json = model_file.check_json


def _check_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Refuse tensors with NaN or infinite values (one vectorised test each)."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFormatError(f"{path}: tensor {name!r} holds NaN or infinite values; "
                                   "the file was edited or damaged (refit the model)")


check_contents = model_file.check_contents


def check_shapes(path: Path, module: torch.nn.Module, weights: dict[str, torch.Tensor]
                  ) -> None:
    """Refuse a network whose parameters differ from the file's tensors in name or shape."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        odd = sorted(set(expected.items()) ^ set(found.items()))[:1]
        raise ModelFormatError(f"{path}: the network described by the metadata does not match "
                               f"the file's tensors (e.g. {odd[0][0]!r}); it was edited or "
                               "damaged")


def signer(path: str | Path) -> str | None:
    """The key id of the key that signed a model file, or None if it is unsigned (read
    from its header, not verified: verify with :func:`read_file`'s ``verify_key``)."""
    from latentwatch import signing

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            entry = (f.metadata() or {}).get(signing.HEADER_KEY)
        return None if entry is None else str(json.loads(entry).get("key_id"))
    except (SafetensorError, OSError, ValueError, AttributeError):
        return None


def sign_file(path: str | Path, sign_key: Any, out: str | Path | None = None) -> Path:
    """Sign an existing model file (checked first) in place, or into ``out``."""
    meta, tensors = read_file(path)
    body = {k: v for k, v in meta.items()
            if k not in ("format", "format_version", "sha256")}
    return write_file(out if out is not None else path, tensors, body, sign_key=sign_key)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The checked JSON metadata of a model file (class, params, codec, threshold...).

    Raises
    ------
    ModelFormatError
        As :func:`read_file`.
    """
    return read_file(path)[0]
