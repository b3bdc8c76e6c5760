"""Running models: training, bounded-memory scoring, row splits, seed streams, devices.

Knows no pandas and no estimator: it takes a model, its heads and packed float rows.
"""

from latentwatch.engine.training import TrainingConfig, memory_batches, train

__all__ = ["TrainingConfig", "memory_batches", "train"]
