"""Pure torch models, one file each, and the registry that builds them by name.

A model implements :class:`~latentwatch.models.protocol.Model`. A new model is
``models/<name>.py`` (its config dataclass and its module) plus one :class:`ModelEntry`
given to :func:`register`: the estimator class (:func:`latentwatch.detector.detector_class`),
the command line's ``--model`` choices, the threshold checks and the model files all
follow from the entry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from latentwatch.models.ae import AEConfig, AutoEncoder
from latentwatch.models.protocol import Model
from latentwatch.models.vae import VAE, VAEConfig


@dataclass(frozen=True)
class ModelEntry:
    """A registered model.

    Attributes
    ----------
    name : str
        What ``--model`` and the model files call it.
    module : type
        The ``nn.Module`` class, built as ``module(config, shape)``.
    config : type
        Its config dataclass; its fields become estimator parameters.
    score_methods : tuple of str
        The scores it gives.
    default_score_method : str
        The score the estimator uses unless told otherwise.
    likelihood_methods : tuple of str
        The scores that are ``-log p(x)`` estimates (a ``log_likelihood`` threshold reads
        only these; empty for a model without a likelihood).
    variational : bool
        Whether it has a latent prior to sample from.
    description : str
        One line for ``--help``.

    Examples
    --------
    >>> MODELS["vae"].default_score_method
    'importance_weighted'
    >>> MODELS["ae"].likelihood_methods
    ()
    """

    name: str
    module: type
    config: type
    score_methods: tuple[str, ...]
    default_score_method: str
    likelihood_methods: tuple[str, ...] = ()
    variational: bool = False
    description: str = ""

    def config_fields(self) -> dict[str, Any]:
        """The config's fields and their defaults, in order."""
        return {f.name: f.default for f in dataclasses.fields(self.config)}


MODELS: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    """Add ``entry`` to :data:`MODELS` (a name registered twice is refused)."""
    if entry.name in MODELS and MODELS[entry.name] != entry:
        raise ValueError(f"model {entry.name!r} is registered already")
    MODELS[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Take ``name`` out of :data:`MODELS` (tests that register a model of their own)."""
    MODELS.pop(name, None)


def entry(name: str) -> ModelEntry:
    """The entry of model ``name``; a one-line error lists the known ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name]


def build(name: str, config: Any, shape: Any) -> Model:
    """The model ``name`` for data of ``shape`` (a :class:`CodecShape`)."""
    return entry(name).module(config, shape)


register(ModelEntry("vae", VAE, VAEConfig, score_methods=VAE.score_methods,
                    default_score_method="importance_weighted",
                    likelihood_methods=("importance_weighted", "reconstruction_probability"),
                    variational=True, description="a variational autoencoder"))
register(ModelEntry("ae", AutoEncoder, AEConfig, score_methods=AutoEncoder.score_methods,
                    default_score_method="reconstruction_error",
                    description="an autoencoder"))

__all__ = ["MODELS", "VAE", "AEConfig", "AutoEncoder", "Model", "ModelEntry", "VAEConfig",
           "build", "entry", "register", "unregister"]
