"""latentwatch: anomaly detection with autoencoders and variational autoencoders."""

from latentwatch.detectors import AutoEncoderDetector, VAEDetector
from latentwatch.errors import DataError
from latentwatch.persistence import ModelFormatError, load
from latentwatch.schema import TableSchema, infer_schema

__version__ = "0.1.0"

__all__ = [
    "AutoEncoderDetector",
    "DataError",
    "ModelFormatError",
    "TableSchema",
    "VAEDetector",
    "__version__",
    "infer_schema",
    "load",
]
