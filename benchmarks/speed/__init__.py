"""Scoring speed: rows per second, float32 against float64, latent samples per row."""
