"""A model file read without torch: its header, its tensors' raw bytes, and every check
of :func:`latentwatch.persistence.read_file` that needs no network.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range; ``__metadata__``) and the tensors' bytes, little-endian.
The checksum and the signature of a model file are defined over each tensor's name, torch
dtype name, shape and bytes (:mod:`latentwatch.persistence`, :mod:`latentwatch.signing`),
so both are computed here with :mod:`hashlib` from the bytes as they lie in the file: the
same digests as torch's tensors give, without importing torch (what ``latentwatch info``
needs to answer in well under a second).

:func:`read_checked` checks the format, the JSON's bounds, the checksum, the signature
(with ``verify_key``), that every floating-point tensor is finite and, given a codec,
:func:`check_contents`. What it does not check is the network's layer shapes against the
model's code: :func:`latentwatch.load` does, on PyTorch's ``meta`` device.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentwatch.errors import ModelFormatError

FORMAT_NAME = "latentwatch-model"
FORMAT_VERSION = 3
METADATA_KEY = "latentwatch"
# Bounds on what a model file may ask for (see latentwatch.persistence).
MAX_JSON_DEPTH = 32
MAX_SCORE_SAMPLES = 1024
_SCHEMA_PARAM = "latentwatch.TableSchema"
# safetensors dtype -> (torch's name of it, numpy's little-endian dtype or None)
DTYPES = {"F64": ("torch.float64", "<f8"), "F32": ("torch.float32", "<f4"),
          "F16": ("torch.float16", "<f2"), "BF16": ("torch.bfloat16", None),
          "I64": ("torch.int64", "<i8"), "I32": ("torch.int32", "<i4"),
          "I16": ("torch.int16", "<i2"), "I8": ("torch.int8", "i1"),
          "U8": ("torch.uint8", "u1"), "BOOL": ("torch.bool", "?")}
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
             "I8": 1, "U8": 1, "BOOL": 1}

__all__ = ["RawTensor", "check_contents", "check_document", "digest", "json_params",
           "params_from_json", "read_checked", "read_raw"]


@dataclass(frozen=True)
class RawTensor:
    """One tensor of a model file as it lies there: safetensors dtype, shape, bytes."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes

    @property
    def torch_dtype(self) -> str:
        """torch's name of the dtype (``"torch.float32"``), as the digests hash it."""
        return DTYPES[self.dtype][0]

    def array(self) -> np.ndarray:
        """The values as a numpy array (float32 for bfloat16, whose bits it widens)."""
        if self.dtype == "BF16":
            bits = np.frombuffer(self.data, dtype="<u2").astype(np.uint32) << 16
            return bits.view(np.float32).reshape(self.shape)
        return np.frombuffer(self.data, dtype=DTYPES[self.dtype][1]).reshape(self.shape)


def digest(parts: dict[str, tuple[str, tuple[int, ...], bytes]], meta: dict[str, Any]
           ) -> str:
    """The checksum of a model file: SHA-256 of each tensor in name order (name, torch
    dtype name, shape as a Python tuple, little-endian bytes), then the canonical JSON of
    the document without its ``sha256``.

    Examples
    --------
    >>> len(digest({"w": ("torch.float32", (2,), bytes(8))}, {"a": 1}))
    64
    """
    sha = hashlib.sha256()
    for name in sorted(parts):
        dtype, shape, data = parts[name]
        sha.update(name.encode())
        sha.update(dtype.encode())
        sha.update(str(tuple(shape)).encode())
        sha.update(bytes(data))
    body = {k: v for k, v in meta.items() if k != "sha256"}
    sha.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return sha.hexdigest()


def _parts(tensors: dict[str, RawTensor]) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    return {name: (t.torch_dtype, t.shape, t.data) for name, t in tensors.items()}


def _unreadable(name: Any, why: str) -> ModelFormatError:
    return ModelFormatError(f"{name}: not a readable safetensors model file ({why}); it may "
                            "be truncated or not a latentwatch model")


def read_raw(path: str | Path) -> tuple[dict[str, str], dict[str, RawTensor]]:
    """The header metadata and the raw tensors of a safetensors file.

    Raises
    ------
    ModelFormatError
        If the file is missing or its layout is not that of a safetensors file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, str(exc)) from exc
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if not 0 < size <= len(data) - 8:
        raise _unreadable(path, f"header length {size} does not fit {len(data)} bytes")
    try:
        header = json.loads(data[8:8 + size])
    except (ValueError, RecursionError) as exc:
        raise _unreadable(path, "the header is not JSON") from exc
    if not isinstance(header, dict):
        raise _unreadable(path, "the header is not a JSON object")
    body = memoryview(data)[8 + size:]
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), \
                entry["data_offsets"]
            ok = (dtype in DTYPES and all(isinstance(d, int) and d >= 0 for d in shape)
                  and isinstance(begin, int) and isinstance(end, int)
                  and 0 <= begin <= end <= len(body)
                  and end - begin == math.prod(shape) * _ITEMSIZE[dtype])
        except (KeyError, TypeError, ValueError) as exc:
            raise _unreadable(path, f"tensor {name!r} is not described") from exc
        if not ok:
            raise _unreadable(path, f"tensor {name!r} does not fit the file")
        tensors[name] = RawTensor(dtype, shape, bytes(body[begin:end]))
    if not isinstance(metadata, dict):
        raise _unreadable(path, "the metadata is not a JSON object")
    return metadata, tensors


def check_document(path: Path, header: dict[str, str],
                   parts: dict[str, tuple[str, tuple[int, ...], bytes]],
                   verify_key: Any = None) -> dict[str, Any]:
    """The checked JSON document of a model file whose tensors are ``parts`` (name ->
    torch dtype name, shape, bytes): format, bounds, checksum and, with ``verify_key``,
    signature (see :func:`latentwatch.persistence.read_file`)."""
    if METADATA_KEY not in header:
        raise ModelFormatError(f"{path}: a safetensors file, but not a latentwatch model "
                               f"(no '{METADATA_KEY}' metadata)")
    try:
        meta = json.loads(header[METADATA_KEY])
    except (json.JSONDecodeError, RecursionError, TypeError) as exc:
        raise ModelFormatError(f"{path}: the model metadata is not valid JSON") from exc
    check_json(path, meta)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{path}: not a latentwatch model (format is "
                               f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFormatError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: written with model format {version} (latentwatch "
            f"{meta.get('latentwatch_version')}), newer than the format {FORMAT_VERSION} this "
            "latentwatch reads; upgrade latentwatch to load it")
    if version < FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: written by latentwatch {meta.get('latentwatch_version')} in model "
            f"format {version}, which this latentwatch (format {FORMAT_VERSION}) no longer "
            "reads; refit the model from its data, e.g. `latentwatch fit DATA --out "
            f"{path.name}`")
    if digest(parts, meta) != meta.get("sha256"):
        raise ModelFormatError(f"{path}: the file does not match its checksum; it was "
                               "modified or damaged")
    if verify_key is not None:
        from latentwatch import signing

        signing.verify(path, header.get(signing.HEADER_KEY),
                       signing.parts_digest(parts, meta), verify_key)
    return meta


def check_json(path: Path, meta: Any) -> None:
    """Refuse metadata nested deeper than ``MAX_JSON_DEPTH`` or holding NaN or infinite
    numbers outside the training history (walked without recursion)."""
    stack = [(meta, 1, False)]
    while stack:
        value, depth, history = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ModelFormatError(f"{path}: the model metadata is nested more than "
                                   f"{MAX_JSON_DEPTH} levels deep; it was not written by "
                                   "latentwatch")
        if isinstance(value, dict):
            stack.extend((v, depth + 1, history or k == "history") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, history) for v in value)
        elif isinstance(value, float) and not np.isfinite(value) and not history:
            raise ModelFormatError(f"{path}: the model metadata holds a non-finite number "
                                   f"({value}); it was edited or damaged")


def read_checked(path: str | Path, verify_key: Any = None
                 ) -> tuple[dict[str, Any], dict[str, RawTensor], dict[str, str]]:
    """The checked JSON document, raw tensors and header metadata of a model file, read
    without torch (see the module docstring for what is checked).

    Raises
    ------
    ModelFormatError, SignatureError
        As :func:`latentwatch.persistence.read_file`.
    """
    path = Path(path)
    header, tensors = read_raw(path)
    meta = check_document(path, header, _parts(tensors), verify_key)
    for name, tensor in tensors.items():
        if tensor.dtype in ("F64", "F32", "F16", "BF16") and not np.isfinite(
                tensor.array()).all():
            raise ModelFormatError(f"{path}: tensor {name!r} holds NaN or infinite values; "
                                   "the file was edited or damaged (refit the model)")
    return meta, tensors, header


_TUPLE = "latentwatch.tuple"


def _json_value(value: Any) -> Any:
    """A parameter value in JSON; tuples are marked so that ``get_params`` round-trips."""
    from latentwatch.data.schema import TableSchema
    from latentwatch.thresholds import ThresholdStrategy, threshold_to_dict

    if isinstance(value, ThresholdStrategy):
        return {"latentwatch.threshold": threshold_to_dict(value)}
    if isinstance(value, TableSchema):
        return {_SCHEMA_PARAM: value.to_dict()}
    if isinstance(value, tuple):
        return {_TUPLE: [_json_value(v) for v in value]}
    if isinstance(value, list | np.ndarray):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None  # no faithful JSON form; seed_ is kept instead
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    return value


def _value_from_json(value: Any) -> Any:
    from latentwatch.data.schema import TableSchema
    from latentwatch.thresholds import threshold_from_dict

    if isinstance(value, list):
        return [_value_from_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "latentwatch.threshold" in value:
        return threshold_from_dict(value["latentwatch.threshold"])
    if _SCHEMA_PARAM in value:
        return TableSchema.from_dict(value[_SCHEMA_PARAM])
    if _TUPLE in value:
        return tuple(_value_from_json(v) for v in value[_TUPLE])
    return {k: _value_from_json(v) for k, v in value.items()}


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in params.items()}


def params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    return {key: _value_from_json(value) for key, value in params.items()}


def check_contents(path: Path, meta: dict[str, Any], codec: Any, tensors: Any = None
                   ) -> None:
    """Refuse values that would make the model misbehave or allocate without bound."""
    for where_, params in (("params", meta["params"]), ("model config",
                                                        meta["model"]["config"])):
        n_samples = params.get("n_samples") if isinstance(params, dict) else None
        if n_samples is not None and not (
                isinstance(n_samples, int) and 1 <= n_samples <= MAX_SCORE_SAMPLES):
            raise ModelFormatError(f"{path}: {where_} n_samples {n_samples!r} is outside 1 to "
                                   f"{MAX_SCORE_SAMPLES}; the file was edited")
    for block in codec.blocks:
        if block.kind == "numeric" and not (isinstance(block.scale, float | int)
                                            and 0 < block.scale < np.inf):
            raise ModelFormatError(f"{path}: column {block.name!r} has scale {block.scale!r} "
                                   "(not a positive number); the file was edited")
        knots = block.quantiles
        if knots is not None and not (
                isinstance(knots, list) and len(knots) >= 2
                and all(isinstance(v, float | int) and np.isfinite(v) for v in knots)
                and bool(np.all(np.diff(np.asarray(knots, dtype=np.float64)) >= 0))):
            raise ModelFormatError(f"{path}: column {block.name!r} has quantiles that are not "
                                   "an increasing list of numbers; the file was edited")
