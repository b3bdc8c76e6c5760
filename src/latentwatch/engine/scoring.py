"""Running a trained model over encoded rows in bounded memory, in float64.

Scores run on a float64 copy of the network, with latent draws shared by every row. The
same rows in the same batches give bit-identical results on every call; a row's score
does not depend on the other rows beyond float64 rounding: scored whole, in chunks (the
CLI) or alone, results agree to about 1e-14 relative (the matrix kernels choose their
blocking by the batch's shape, which moves the last bits). Knows no pandas.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from latentwatch.engine import seeds

# Largest number of float64 elements one batch may hold in its widest (samples, rows,
# layer width) tensor: 32 MB.
SCORING_ELEMENTS = 2**22

def scoring_copy(module: nn.Module) -> nn.Module:
    """A float64 copy of ``module`` in eval mode."""
    return copy.deepcopy(module).double().eval()


def score_noise(module: nn.Module, seed: int, method: str) -> torch.Tensor:
    """``(L, latent_dim)`` standard-normal draws shared by every row and call.

    Sharing the draws keeps a row's score independent of the batch it is in and of the
    other rows; seeding them from ``seed`` makes scores bit-identical across calls.
    """
    gen = seeds.torch_generator(seed, "score-noise")
    return torch.randn(module.n_score_samples(method), module.latent_dim, generator=gen,
                       dtype=torch.float64)


def batch_rows(module: nn.Module, n_columns: int, samples_per_row: int) -> int:
    """Rows per batch so that the widest tensor stays within ``SCORING_ELEMENTS``."""
    widest = max([n_columns, *(p.shape[0] for p in module.parameters() if p.ndim == 2)])
    return max(1, SCORING_ELEMENTS // (samples_per_row * widest))


def map_batches(net: nn.Module, rows: np.ndarray, samples_per_row: int,
                fn: Callable[[torch.Tensor], Any], device: torch.device | str) -> list:
    """``fn(batch)`` over float64 batches of ``rows`` on ``device``; one result per batch.

    """
    step = batch_rows(net, rows.shape[1], samples_per_row)
    results = []
    with torch.no_grad():
        for i in range(0, rows.shape[0], step):
            batch = torch.from_numpy(np.ascontiguousarray(rows[i:i + step]))
            results.append(fn(batch.to(device, torch.float64)))
    return results


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def score(module: nn.Module, heads, rows: np.ndarray, method: str, seed: int,
          device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(n,)`` and per-column parts ``(n, n_blocks)`` of packed rows."""
    net = scoring_copy(module)
    noise = score_noise(module, seed, method).to(device)
    parts = map_batches(net, rows, noise.shape[0], lambda xb: [
        _numpy(t) for t in net.scores(heads, xb, method, noise)], device)
    if not parts:
        return np.empty(0), np.empty((0, heads.n_blocks))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def all_scores(module: nn.Module, heads, rows: np.ndarray, seed: int,
               device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """Row scores of every score method of ``module``, ``{method: (n,)}``."""
    net = scoring_copy(module)
    method = module.score_methods[0]
    noise = score_noise(module, seed, method).to(device)
    parts = map_batches(net, rows, noise.shape[0], lambda xb: {
        m: _numpy(t) for m, t in net.all_scores(heads, xb, noise).items()}, device)
    return {m: np.concatenate([p[m] for p in parts]) if parts else np.empty(0)
            for m in module.score_methods}


def fit_score_state(module: nn.Module, heads, rows: np.ndarray, seed: int,
                    device: torch.device | str = "cpu", max_rows: int = 4096) -> None:
    """Let the model learn what its scores need from held-out rows (at most ``max_rows``,
    a seeded choice), e.g. the VAE's per-column caps."""
    if not hasattr(module, "set_score_state") or len(rows) == 0:
        return
    if len(rows) > max_rows:
        pick = seeds.rng(seed, "score-state").choice(len(rows), max_rows, replace=False)
        rows = rows[np.sort(pick)]
    net = scoring_copy(module)
    method = module.score_methods[0]
    noise = score_noise(module, seed, method).to(device)
    parts = map_batches(net, rows, noise.shape[0],
                        lambda xb: net.score_state_batch(heads, xb, noise), device)
    module.set_score_state(*(np.concatenate([p[k] for p in parts]) for k in range(2)))


def posterior(module: nn.Module, heads, rows: np.ndarray,
              device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and variances ``(n, latent_dim)`` of packed rows (variances 0 for
    an AE)."""
    net = scoring_copy(module)
    parts = map_batches(net, rows, 1, lambda xb: [_numpy(t) for t in net.encode(
        heads.inputs(xb))], device)
    if not parts:
        k = module.latent_dim
        return np.empty((0, k)), np.empty((0, k))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def decode_latent(module: nn.Module, heads, z: np.ndarray, sample: bool,
                  gen: torch.Generator | None = None, with_missing: bool = False,
                  device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Model-space values ``(n, n_blocks)`` and gaps at latent points ``z``.

    ``sample=False``: the most probable value of every column (decoder mean, most probable
    category); ``sample=True``: a draw from the decoder's distribution with ``gen`` (the
    AE has no variance: its numbers are its output), and gaps too when ``with_missing``.
    """
    net = scoring_copy(module).cpu()
    z = np.asarray(z, dtype=np.float64)
    with torch.no_grad():
        out, logvar, logits = net.decode(torch.from_numpy(np.ascontiguousarray(z)))
        if sample:
            values, missing = heads.sample(out, logvar, logits, gen, with_missing)
        else:
            values = heads.expected(out, logits)
            missing = torch.zeros(values.shape, dtype=torch.bool)
    return _numpy(values), missing.numpy()


def expectations(module: nn.Module, heads, rows: np.ndarray,
                 device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Most probable values in model space at the posterior mean ``(n, n_blocks)``, and
    the probability of each observed category or boolean (NaN elsewhere)."""
    net = scoring_copy(module)

    def one(xb: torch.Tensor) -> list[np.ndarray]:
        out, _, logits = net.decode(net.encode(heads.inputs(xb))[0])
        return [_numpy(heads.expected(out, logits)), _numpy(heads.observed_probability(
            xb, logits))]

    parts = map_batches(net, rows, 1, one, device)
    if not parts:
        return np.empty((0, heads.n_blocks)), np.empty((0, heads.n_blocks))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
