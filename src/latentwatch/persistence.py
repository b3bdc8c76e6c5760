"""The model file format: one safetensors file, no pickle.

Its tensors are the network's ``state_dict`` (``module.*``), the calibration scores of
every score method (``calibration.<method>``) and the aggregate posterior's mixture
(``prior.*``). Its header metadata holds one JSON document (key ``"latentwatch"``) that
each component writes itself: the estimator's class and parameters, the codec's
``to_dict`` (schema, scales, categories, gaps), the model's name and config, the
threshold's state and the fit's seed and history. A SHA-256 over the tensors AND the rest
of the JSON document makes any edit, truncation or foreign file a
:class:`~latentwatch.errors.ModelFormatError`.

Before anything is built from a file, its contents are checked against sane bounds
(:func:`_check_contents`): every tensor finite, the JSON at most ``MAX_JSON_DEPTH``
levels deep with finite numbers (the training history aside), scales positive, at most
``MAX_SCORE_SAMPLES`` latent samples per row, and a network whose layers (built first on
PyTorch's ``meta`` device, which allocates nothing) have exactly the shapes of the
file's tensors. A file that fails is a :class:`~latentwatch.errors.ModelFormatError`. The
checksum detects edits and damage; it is not a signature (whoever can write the file can
recompute it), which is why the bounds are checked as well.

Format 3 is the layout of latentwatch 0.2 (one data path). Files of formats 1 and 2
(latentwatch 0.1) are refused with a message saying how to refit: their matrix models
scored on a different path, so loading them "as is" could not give identical scores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_tensors
from safetensors.torch import save, save_file

from latentwatch.errors import ModelFormatError

FORMAT_NAME = "latentwatch-model"
FORMAT_VERSION = 3
_METADATA_KEY = "latentwatch"
_MODULE = "module."
_CALIBRATION = "calibration."
_PRIOR = "prior."
_PRIOR_FIELDS = ("weights", "means", "covariances")
_SCHEMA_PARAM = "latentwatch.TableSchema"
# Bounds on what a model file may ask for (see the module docstring).
MAX_JSON_DEPTH = 32
MAX_SCORE_SAMPLES = 1024

__all__ = ["FORMAT_VERSION", "ModelFormatError", "load", "load_bytes", "model_bytes",
           "read_metadata", "save_model"]


def _digest(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """SHA-256 of every tensor (name, dtype, shape, bytes) and the canonical JSON of the
    metadata without its checksum."""
    sha = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        sha.update(name.encode())
        sha.update(str(tensor.dtype).encode())
        sha.update(str(tuple(tensor.shape)).encode())
        sha.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    body = {k: v for k, v in meta.items() if k != "sha256"}
    sha.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return sha.hexdigest()


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


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in params.items()}


def _params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    return {key: _value_from_json(value) for key, value in params.items()}


def _array(tensor_or_array: Any) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(tensor_or_array, dtype=np.float64))


def _contents(model: Any) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and the safetensors header metadata of a fitted detector."""
    from sklearn.utils.validation import check_is_fitted

    from latentwatch import __version__

    check_is_fitted(model, "module_")
    tensors = {_MODULE + k: v.detach().cpu().contiguous()
               for k, v in model.module_.state_dict().items()}
    for method, scores in model.thresholds_.arrays().items():
        tensors[_CALIBRATION + method] = _array(scores)
    for name in _PRIOR_FIELDS:
        tensors[_PRIOR + name] = _array(getattr(model.prior_, name))
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "latentwatch_version": __version__,
        "class": type(model).__name__,
        "params": _json_params(model.get_params(deep=False)),
        "codec": model.codec_.to_dict(),
        "model": {"name": model.module_.name,
                  "config": _json_params(dataclasses.asdict(
                      getattr(model.module_, "config", None) or model._model_config()))},
        "threshold": model.thresholds_.to_dict(),
        "fit": {"seed": int(model.seed_), "history": model.history_,
                "input_kind": model.input_kind_,
                "feature_names": None if not hasattr(model, "feature_names_in_")
                else [str(c) for c in model.feature_names_in_],
                "n_features": int(model.n_features_in_)},
    }
    meta["sha256"] = _digest(tensors, meta)
    return tensors, {_METADATA_KEY: json.dumps(meta)}


def save_model(model: Any, path: str | Path) -> Path:
    """Write a fitted detector to ``path`` atomically (temporary file, then rename; the
    file gets the user's umask).

    Returns
    -------
    pathlib.Path
    """
    from latentwatch.atomic import replace_atomically, temp_file

    tensors, header = _contents(model)
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


def model_bytes(model: Any) -> bytes:
    """A fitted detector as the bytes of its model file (what :func:`save_model` writes),
    without touching the disk: what the distributed adapters ship to their workers.

    Returns
    -------
    bytes
        A safetensors file; :func:`load_bytes` reads it back.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import VAEDetector
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    >>> copy = load_bytes(model_bytes(model))
    >>> bool((copy.anomaly_score(X) == model.anomaly_score(X)).all())
    True
    """
    tensors, header = _contents(model)
    return save(tensors, metadata=header)


def _read(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
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
    return _checked(path, header, tensors)


def _read_bytes(data: bytes, name: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """:func:`_read` of a model file's bytes (the safetensors layout: an 8-byte
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
    return _checked(path, header, tensors)


def _checked(path: Path, header: dict[str, str], tensors: dict[str, torch.Tensor]
             ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The checked metadata and tensors of a model file (see :func:`_read`)."""
    if _METADATA_KEY not in header:
        raise ModelFormatError(f"{path}: a safetensors file, but not a latentwatch model "
                               f"(no '{_METADATA_KEY}' metadata)")
    try:
        meta = json.loads(header[_METADATA_KEY])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ModelFormatError(f"{path}: the model metadata is not valid JSON") from exc
    _check_json(path, meta)
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
    if _digest(tensors, meta) != meta.get("sha256"):
        raise ModelFormatError(f"{path}: the file does not match its checksum; it was "
                               "modified or damaged")
    _check_tensors(path, tensors)
    return meta, tensors


def _check_json(path: Path, meta: Any) -> None:
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


def _check_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Refuse tensors with NaN or infinite values (one vectorised test each)."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFormatError(f"{path}: tensor {name!r} holds NaN or infinite values; "
                                   "the file was edited or damaged (refit the model)")


def _check_contents(path: Path, meta: dict[str, Any], codec: Any,
                    tensors: dict[str, torch.Tensor]) -> None:
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


def _check_shapes(path: Path, module: torch.nn.Module, weights: dict[str, torch.Tensor]
                  ) -> None:
    """Refuse a network whose parameters differ from the file's tensors in name or shape."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        odd = sorted(set(expected.items()) ^ set(found.items()))[:1]
        raise ModelFormatError(f"{path}: the network described by the metadata does not match "
                               f"the file's tensors (e.g. {odd[0][0]!r}); it was edited or "
                               "damaged")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The checked JSON metadata of a model file (class, params, codec, threshold...).

    Raises
    ------
    ModelFormatError
        As :func:`load`.
    """
    return _read(Path(path))[0]


def load(path: str | Path, device: str | None = None):
    """Load a detector saved with ``save``.

    Parameters
    ----------
    path : str or Path
        The model file.
    device : str or None, default=None
        Where to put the network; ``None`` uses the model's own ``device`` parameter.

    Returns
    -------
    AutoEncoderDetector or VAEDetector
        The fitted detector; it scores bit-identically to the one that was saved
        (on the same device).

    Raises
    ------
    ModelFormatError
        If the file is missing, truncated, edited, not a latentwatch model, or of a
        format this version does not read.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from latentwatch import VAEDetector, load
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    >>> path = model.save(os.path.join(tempfile.mkdtemp(), "m.lwm"))
    >>> bool((load(path).anomaly_score(X) == model.anomaly_score(X)).all())
    True
    """
    path = Path(path)
    return _build(path, *_read(path), device)


def load_bytes(data: bytes, device: str | None = None, name: str = "<model bytes>"):
    """Load a detector from the bytes of its model file (:func:`model_bytes`, or a file's
    contents), with every check of :func:`load` and without touching the disk.

    Parameters
    ----------
    data : bytes
    device : str or None, default=None
        As in :func:`load`.
    name : str, default="<model bytes>"
        What messages call the model.

    Returns
    -------
    AutoEncoderDetector or VAEDetector

    Raises
    ------
    ModelFormatError
        As :func:`load`.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
    >>> type(load_bytes(model_bytes(model))).__name__
    'AutoEncoderDetector'
    """
    return _build(Path(name), *_read_bytes(data, name), device)


def _build(path: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor],
           device: str | None):
    """The detector a checked model file describes."""
    from latentwatch import models
    from latentwatch.data import codec_from_dict
    from latentwatch.detector import DETECTORS
    from latentwatch.engine.device import resolve_device
    from latentwatch.models.priors import LatentMixture
    from latentwatch.thresholds import ThresholdState

    try:
        classes = {cls.__name__: cls for cls in DETECTORS.values()}
        model = classes[meta["class"]](**_params_from_json(meta["params"]))
        fit = meta["fit"]
        model.seed_ = int(fit["seed"])
        model.history_ = fit["history"]
        model.input_kind_ = fit["input_kind"]
        model.n_features_in_ = int(fit["n_features"])
        if fit.get("feature_names") is not None:
            model.feature_names_in_ = np.asarray(fit["feature_names"], dtype=object)
        model.codec_ = codec_from_dict(meta["codec"])
        _check_contents(path, meta, model.codec_, tensors)
        name = meta["model"]["name"]
        config_class = models.MODELS[name][1]
        config = config_class(**_params_from_json(meta["model"]["config"]))
        weights = {k[len(_MODULE):]: v for k, v in tensors.items() if k.startswith(_MODULE)}
        with torch.device("meta"):  # shapes first, without allocating anything
            _check_shapes(path, models.build(name, config, model.codec_.shape), weights)
        model.module_ = models.build(name, config, model.codec_.shape)
        model.module_.load_state_dict(weights, strict=True)
        calibration = {k[len(_CALIBRATION):]: v.numpy() for k, v in tensors.items()
                       if k.startswith(_CALIBRATION)}
        model.thresholds_ = ThresholdState.from_dict(meta["threshold"], calibration)
        model.prior_ = LatentMixture(*(tensors[_PRIOR + f].numpy() for f in _PRIOR_FIELDS))
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError,
            OverflowError, RecursionError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        detail = str(exc).strip().splitlines()
        raise ModelFormatError(f"{path}: inconsistent model contents ({type(exc).__name__}: "
                               f"{' '.join(line.strip() for line in detail[:2])}); it was "
                               "not written by this latentwatch, or was edited") from exc
    model.device_ = str(resolve_device(device or model.device))
    model.module_.to(model.device_).eval()
    return model
