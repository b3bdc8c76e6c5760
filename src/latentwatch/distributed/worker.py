"""The model on the workers: shipped as the bytes of its model file, loaded once per
process.

The model travels as the bytes of its file (safetensors + JSON,
``detector.to_bytes()``) in a :class:`ModelBytes`; the estimator is
never pickled. Each worker process loads the bytes once, with every check of
:func:`latentwatch.load`, and keeps the detector keyed by their SHA-256
(:func:`worker_model`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentwatch.errors import ModelFormatError

# Detectors a worker process keeps loaded (the most recently used).
WORKER_CACHE_SIZE = 4


@dataclass(frozen=True)
class ModelBytes:
    """A model file's bytes and their SHA-256: what is shipped to workers.

    Attributes
    ----------
    data : bytes
        The safetensors file (``detector.to_bytes()``).
    sha256 : str
        Hex digest of ``data``; the key of the worker cache.
    name : str
        What messages call the model.
    """

    data: bytes
    sha256: str
    name: str = "<model bytes>"

    @classmethod
    def of(cls, model: Any) -> ModelBytes:
        """The bytes of a model given as a path, bytes, :class:`ModelBytes` or fitted
        detector (serialized here, never pickled).

        Examples
        --------
        >>> import numpy as np
        >>> from latentwatch import AutoEncoderDetector
        >>> X = np.random.default_rng(0).normal(size=(100, 3))
        >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
        >>> len(ModelBytes.of(model).sha256)
        64
        """
        if isinstance(model, ModelBytes):
            return model
        if isinstance(model, bytes | bytearray | memoryview):
            data, name = bytes(model), "<model bytes>"
        elif isinstance(model, str | os.PathLike):
            name = str(model)
            try:
                data = Path(model).read_bytes()
            except OSError as exc:
                raise ModelFormatError(f"{name}: cannot read the model file "
                                       f"({exc.strerror or exc})") from exc
        else:
            data, name = model.to_bytes(), f"<{type(model).__name__}>"
        return cls(data, hashlib.sha256(data).hexdigest(), name)

    def load(self) -> Any:
        """The detector (checked as :func:`latentwatch.load` checks a file), on the CPU."""
        from latentwatch.detector import load_bytes

        return load_bytes(self.data, device="cpu", name=self.name)


_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def worker_model(model: ModelBytes) -> Any:
    """The detector of ``model``, loaded once per process and kept (the
    :data:`WORKER_CACHE_SIZE` most recently used), keyed by the SHA-256 of its bytes.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> carrier = ModelBytes.of(AutoEncoderDetector(max_epochs=2, random_state=0).fit(X))
    >>> worker_model(carrier) is worker_model(ModelBytes(carrier.data, carrier.sha256))
    True
    """
    with _CACHE_LOCK:
        detector = _CACHE.get(model.sha256)
        if detector is None:
            detector = model.load()
            _CACHE[model.sha256] = detector
            while len(_CACHE) > WORKER_CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(model.sha256)
        return detector
