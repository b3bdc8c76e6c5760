"""Drift: the drift test against per-column KS and MMD, and partial_fit against a refit."""
