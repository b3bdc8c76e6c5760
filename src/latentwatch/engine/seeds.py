"""Named seed streams: every random draw of a fit comes from ``seed_`` and a name.

``stream(seed, "shuffle")`` and ``stream(seed, "score-noise")`` are independent, so adding
a draw somewhere never shifts another, and a model file's ``seed_`` reproduces them all.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

STREAMS = (
    "splits",            # calibration and validation rows
    "init",              # network initialisation
    "shuffle",           # mini-batch order
    "training-noise",    # reparameterisation draws in training
    "validation-noise",  # the same for the validation loss
    "score-noise",       # the L latent draws shared by every scored row
    "score-state",       # held-out rows behind the capped score's medians
    "mixture-draws",     # posterior draws behind the aggregate-posterior summary
    "mixture-fit",       # EM initialisation of that summary
    "window-masks",      # a series' training windows repeated with their oldest steps masked
    "drift-reference",   # the held-out rows a model file keeps for the drift test
    "partial-fit",       # the seed of each partial_fit's training (with its update number)
    "dequantise",        # uniform noise of near-discrete columns in the training rows
)


def stream(seed: int, name: str) -> int:
    """A 31-bit seed for the stream ``name`` of ``seed``: ``SeedSequence([seed, crc32(name)])``."""
    if name not in STREAMS:
        raise ValueError(f"unknown seed stream {name!r}; expected one of {STREAMS}")
    state = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)
    return int(state[0] >> 1)


def rng(seed: int, name: str) -> np.random.Generator:
    """A numpy generator on stream ``name``."""
    return np.random.default_rng(stream(seed, name))


def torch_generator(seed: int, name: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on stream ``name`` (on ``device``)."""
    return torch.Generator(device=device).manual_seed(stream(seed, name))


def draw_seed(random_state) -> int:
    """The ``seed_`` of a fit from a scikit-learn ``random_state``."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
