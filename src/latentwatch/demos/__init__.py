"""The demos and the synthetic data generators."""
