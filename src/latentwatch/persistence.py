"""Saving and loading fitted detectors: one safetensors file, no pickle.

The file is a standard safetensors file. Its tensors are the network weights and the
standardisation statistics; its header metadata holds one JSON document (key
``"latentwatch"``) with the class, parameters, fitted state, versions and a SHA-256
of the tensors, so that a truncated, edited or foreign file is refused on load.

Format versions: 1 is a model of a numeric matrix; 2 adds, for a model of a table, its
schema and layout (``state.schema_``, ``state.layout_``: categories, scales, gaps) in
the JSON. A model of a numeric matrix is still written as version 1, so that older
latentwatch releases keep reading it; they refuse version 2 with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from latentwatch.encoding import TableLayout
from latentwatch.schema import TableSchema

FORMAT_NAME = "latentwatch-model"
FORMAT_VERSION = 2
_TABLE_FORMAT_VERSION = 2
_MATRIX_FORMAT_VERSION = 1
_SCHEMA_PARAM = "latentwatch.TableSchema"
_METADATA_KEY = "latentwatch"
_MODULE_PREFIX = "module."
_STATE_ATTRIBUTES = ("n_features_in_", "offset_", "seed_", "hidden_dims_", "latent_dim_",
                     "history_", "n_epochs_")
# Fitted state for generation (issue 6), optional so that older files still load; they are
# plain extra tensors, which older readers ignore.
_MIXTURE_TENSORS = ("weights", "means", "covariances")
_MIXTURE_PREFIX = "latent_mixture."
_INTEGER_COLUMNS = "integer_columns"
_RANGE_TENSORS = {"data_min": "data_min_", "data_max": "data_max_"}
# Fitted state added after the first files were written: absent from those, None on load.
_OPTIONAL_STATE_ATTRIBUTES = ("calibration_source_",)
_CALIBRATION_TENSOR = "calibration_scores"
# The capped score's per-feature medians (VAE, added later): optional like the above.
_NLL_MEDIAN_TENSOR = "feature_nll_median"


class ModelFormatError(ValueError):
    """A model file is missing, damaged, foreign, or from a newer format version."""


def _registry() -> dict[str, type]:
    from latentwatch.detectors import AutoEncoderDetector, VAEDetector

    return {cls.__name__: cls for cls in (AutoEncoderDetector, VAEDetector)}


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    sha = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        sha.update(name.encode())
        sha.update(str(tensor.dtype).encode())
        sha.update(str(tuple(tensor.shape)).encode())
        sha.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return sha.hexdigest()


def _generative_tensors(model: Any) -> dict[str, torch.Tensor]:
    out = {}
    if hasattr(model, "integer_columns_"):
        flags = np.ascontiguousarray(model.integer_columns_, dtype=np.uint8)
        out[_INTEGER_COLUMNS] = torch.from_numpy(flags)
    for key, name in _RANGE_TENSORS.items():
        if hasattr(model, name):
            out[key] = torch.from_numpy(np.ascontiguousarray(getattr(model, name),
                                                             dtype=np.float64))
    mixture = getattr(model, "latent_mixture_", None)
    if mixture is not None:
        for name in _MIXTURE_TENSORS:
            array = np.ascontiguousarray(getattr(mixture, name), dtype=np.float64)
            out[_MIXTURE_PREFIX + name] = torch.from_numpy(array)
    return out


def _set_generative_state(model: Any, tensors: dict[str, torch.Tensor]) -> None:
    from latentwatch.generative import LatentMixture

    if _INTEGER_COLUMNS in tensors:
        model.integer_columns_ = tensors[_INTEGER_COLUMNS].numpy().astype(bool)
    for key, name in _RANGE_TENSORS.items():
        if key in tensors:
            setattr(model, name, tensors[key].numpy())
    if all(_MIXTURE_PREFIX + name in tensors for name in _MIXTURE_TENSORS):
        model.latent_mixture_ = LatentMixture(
            *(tensors[_MIXTURE_PREFIX + name].numpy() for name in _MIXTURE_TENSORS)
        )


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    from latentwatch.thresholds import ThresholdStrategy, threshold_to_dict

    out = {}
    for key, value in params.items():
        if isinstance(value, ThresholdStrategy):
            value = threshold_to_dict(value)
        elif isinstance(value, TableSchema):
            value = {_SCHEMA_PARAM: value.to_dict()}
        elif isinstance(value, tuple | list | np.ndarray):
            value = [int(v) for v in value]
        elif isinstance(value, np.random.RandomState):
            value = None  # a generator object has no faithful JSON form; seed_ is kept instead
        elif isinstance(value, np.integer | np.floating):
            value = value.item()
        out[key] = value
    return out


def save_model(model: Any, path: str | Path) -> Path:
    """Write a fitted detector to ``path`` atomically (temporary file, then rename).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "module_")
    path = Path(path)
    tensors = {_MODULE_PREFIX + k: v.detach().cpu().contiguous()
               for k, v in model.module_.state_dict().items()}
    tensors["mean"] = torch.from_numpy(np.ascontiguousarray(model.mean_, dtype=np.float64))
    tensors["scale"] = torch.from_numpy(np.ascontiguousarray(model.scale_, dtype=np.float64))
    tensors.update(_generative_tensors(model))
    if hasattr(model, "feature_nll_median_"):
        tensors[_NLL_MEDIAN_TENSOR] = torch.from_numpy(
            np.ascontiguousarray(model.feature_nll_median_, dtype=np.float64))
    calibration = getattr(model, "calibration_scores_", None)
    if calibration is not None:
        tensors[_CALIBRATION_TENSOR] = torch.from_numpy(
            np.ascontiguousarray(calibration, dtype=np.float64))
    from latentwatch import __version__
    from latentwatch.thresholds import ThresholdStrategy, threshold_to_dict

    state = {name: getattr(model, name) for name in _STATE_ATTRIBUTES}
    for name in _OPTIONAL_STATE_ATTRIBUTES:
        state[name] = getattr(model, name, None)
    strategy = getattr(model, "threshold_", None)
    state["threshold_"] = None if strategy is None else threshold_to_dict(strategy)
    if hasattr(model, "feature_names_in_"):
        state["feature_names_in_"] = [str(c) for c in model.feature_names_in_]
    table = getattr(model, "layout_", None) is not None
    if table:
        state["schema_"] = model.schema_.to_dict()
        state["layout_"] = model.layout_.to_dict()
    meta = {
        "format": FORMAT_NAME,
        "format_version": _TABLE_FORMAT_VERSION if table else _MATRIX_FORMAT_VERSION,
        "latentwatch_version": __version__,
        "class": type(model).__name__,
        "params": _json_params(model.get_params(deep=False)),
        # parameters given as strategy objects (stored in their dict form): rebuilt on load
        "strategy_params": [k for k, v in model.get_params(deep=False).items()
                            if isinstance(v, ThresholdStrategy)],
        "state": state,
        "weights_sha256": _digest(tensors),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_METADATA_KEY: json.dumps(meta)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


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
            "not a latentwatch model"
        ) from exc
    if _METADATA_KEY not in header:
        raise ModelFormatError(f"{path}: a safetensors file, but not a latentwatch model "
                               f"(no '{_METADATA_KEY}' metadata)")
    try:
        meta = json.loads(header[_METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{path}: the model metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{path}: not a latentwatch model (format is "
                               f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    return meta, tensors


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file (class, params, state, versions), checked.

    Raises
    ------
    ModelFormatError
        As :func:`load`.
    """
    path = Path(path)
    meta, tensors = _read(path)
    _check(path, meta, tensors)
    return meta


def _check(path: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFormatError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: written with model format {version} (latentwatch "
            f"{meta.get('latentwatch_version')}), newer than the format {FORMAT_VERSION} this "
            "latentwatch reads; upgrade latentwatch to load it"
        )
    if _digest(tensors) != meta.get("weights_sha256"):
        raise ModelFormatError(f"{path}: the weights do not match their checksum; the file was "
                               "modified or damaged")


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
        If the file is missing, truncated, edited, not a latentwatch model, or was
        written by a newer format version.
    """
    from latentwatch.device import resolve_device
    from latentwatch.thresholds import threshold_from_dict

    path = Path(path)
    meta, tensors = _read(path)
    _check(path, meta, tensors)
    try:
        cls = _registry()[meta["class"]]
        params = dict(meta["params"])
        for name in meta.get("strategy_params", []):
            params[name] = threshold_from_dict(params[name])
        if isinstance(params.get("schema"), dict) and _SCHEMA_PARAM in params["schema"]:
            params["schema"] = TableSchema.from_dict(params["schema"][_SCHEMA_PARAM])
        model = cls(**params)
        state = meta["state"]
        for name in _STATE_ATTRIBUTES:
            setattr(model, name, state[name])
        for name in _OPTIONAL_STATE_ATTRIBUTES:
            setattr(model, name, state.get(name))
        strategy = state.get("threshold_")
        model.threshold_ = None if strategy is None else threshold_from_dict(strategy)
        calibration = tensors.get(_CALIBRATION_TENSOR)
        model.calibration_scores_ = None if calibration is None else calibration.numpy()
        if "feature_names_in_" in state:
            model.feature_names_in_ = np.asarray(state["feature_names_in_"], dtype=object)
        model.schema_, model.layout_ = None, None
        if "layout_" in state:
            model.schema_ = TableSchema.from_dict(state["schema_"])
            model.layout_ = TableLayout.from_dict(state["layout_"])
        model.mean_ = tensors["mean"].numpy()
        model.scale_ = tensors["scale"].numpy()
        _set_generative_state(model, tensors)
        if _NLL_MEDIAN_TENSOR in tensors:
            model.feature_nll_median_ = tensors[_NLL_MEDIAN_TENSOR].numpy()
        model.module_ = model._build_module(model.n_features_in_)
        weights = {k[len(_MODULE_PREFIX):]: v for k, v in tensors.items()
                   if k.startswith(_MODULE_PREFIX)}
        model.module_.load_state_dict(weights, strict=True)
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"{path}: inconsistent model contents ({type(exc).__name__}: "
                               f"{exc})") from exc
    model.device_ = str(resolve_device(device or model.device))
    model.module_.to(model.device_).eval()
    return model
