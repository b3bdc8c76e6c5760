"""Pure torch models, one file each, and the registry that builds them by name.

A model is an ``nn.Module`` with ``name``, ``variational``, ``score_methods``,
``encode(x) -> (mean, variance)``, ``decode(z) -> (mean, logvar or None, logits)``,
``loss(heads, x, gen, epoch)``, ``scores(heads, x, method, noise)``,
``all_scores(heads, x, noise)`` and ``initialise_logits(bias)``. A new model is
``models/<name>.py`` plus one line here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from latentwatch.models.ae import AEConfig, AutoEncoder
from latentwatch.models.vae import VAE, VAEConfig

MODELS: dict[str, tuple[type, type]] = {
    "ae": (AutoEncoder, AEConfig),
    "vae": (VAE, VAEConfig),
}


def build(name: str, config: Any, shape: Any) -> nn.Module:
    """The model ``name`` for data of ``shape`` (a :class:`CodecShape`)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name][0](config, shape)


__all__ = ["MODELS", "VAE", "AEConfig", "AutoEncoder", "VAEConfig", "build"]
