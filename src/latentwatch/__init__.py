"""latentwatch: anomaly detection with autoencoders and variational autoencoders."""

from latentwatch.detectors import AutoEncoderDetector, VAEDetector
from latentwatch.persistence import ModelFormatError, load

__version__ = "0.1.0"

__all__ = ["AutoEncoderDetector", "ModelFormatError", "VAEDetector", "__version__", "load"]
