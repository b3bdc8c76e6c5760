"""latentwatch: anomaly detection with autoencoders and variational autoencoders.

The public names are imported lazily, so that ``import latentwatch`` (and the command
line's ``--help`` and ``--version``) do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "AutoEncoderDetector": "latentwatch.detector",
    "VAEDetector": "latentwatch.detector",
    "DataError": "latentwatch.errors",
    "ModelFormatError": "latentwatch.errors",
    "SignatureError": "latentwatch.errors",
    "TableSchema": "latentwatch.data.schema",
    "infer_schema": "latentwatch.data.schema",
    "load": "latentwatch.detector",
    "load_bytes": "latentwatch.detector",
    "detector_class": "latentwatch.detector",
    "score_table": "latentwatch.service",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latentwatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
