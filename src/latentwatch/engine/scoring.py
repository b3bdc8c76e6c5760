"""Running a trained model over encoded rows in bounded memory, in float32.

Scores run on a float32 copy of the network (made once per state of the weights and
reused), with latent draws shared by every row. float32 scores 2.3x faster than float64
with the same AUC-ROC to 6 decimals on 8 ADBench sets and scores within about 1e-7
relative (``benchmarks/speed/float32_auc.py``); :data:`SCORING_DTYPE` sets it.

A row's score does not depend on the rows scored with it, bit for bit, on the CPU: whole,
in chunks of any size, alone, at any position, from a C- or Fortran-ordered or strided
array. Matrix kernels (MKL's) sum a dot product in an order that depends on the row's
position in the batch when the inner dimension is odd (float64) or not a multiple of 4
(float32); the scoring copy pads the inner dimension of every linear layer with zeros to a
multiple of :data:`ALIGN`, which adds exact zeros and leaves each row's sums in one fixed
order. The kernels also change with the number of rows below a size: every batch is
padded to a multiple of :data:`ROW_ALIGN` rows (32; 16 is not enough in float32, measured),
so one row costs 32 (with L = 8 latent samples, 256 decoder rows). Where the kernels are
other (another BLAS, a GPU) the guarantee is the float32 rounding: without any padding a
row's score alone and in a batch differ by at most about 3e-7 relative (measured;
``tests/engine/test_scoring.py`` holds 1e-5). Knows no pandas.
"""

from __future__ import annotations

import copy
import functools
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentwatch.engine import seeds

# Largest number of elements one batch may hold in its widest (samples, rows, layer width)
# tensor: 16 MB in float32.
SCORING_ELEMENTS = 2**22
# The type scores are computed in: float32 (benchmarks/speed/float32_auc.py); float64 is
# 2.3x slower with the same ranking; the guarantees above hold for both.
SCORING_DTYPE = torch.float32
# Inner dimension of every linear layer of the scoring copy: a multiple of this.
ALIGN = 8
# Rows of every batch scored: a multiple of this (see the module docstring).
ROW_ALIGN = 32
_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WIDTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class AlignedLinear(nn.Module):
    """``nn.Linear`` with its inner dimension padded with zeros to a multiple of
    :data:`ALIGN`: ``y = [x, 0] [W, 0]^T + b = x W^T + b``, each output summed in an order
    that does not depend on the row's position in the batch."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        extra = -linear.in_features % ALIGN
        self.extra = extra
        self.weight = nn.Parameter(F.pad(linear.weight.detach(), (0, extra)),
                                   requires_grad=False)
        self.bias = (None if linear.bias is None
                     else nn.Parameter(linear.bias.detach().clone(), requires_grad=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.pad(x, (0, self.extra)) if self.extra else x, self.weight, self.bias)


def aligned(module: nn.Module) -> nn.Module:
    """``module`` with every ``nn.Linear`` replaced by an :class:`AlignedLinear`, in place."""
    for name, child in module.named_children():
        if isinstance(child, nn.Linear):
            setattr(module, name, AlignedLinear(child))
        else:
            aligned(child)
    return module


def _state(module: nn.Module) -> tuple:
    """What identifies the weights of ``module``: every tensor's storage, version
    (bumped by every in-place change), type and device."""
    return tuple((t.data_ptr(), t._version, t.dtype, t.device)
                 for t in (*module.parameters(), *module.buffers()))


def scoring_copy(module: nn.Module) -> nn.Module:
    """A ``SCORING_DTYPE`` (float32), aligned (see the module docstring) copy of ``module``
    in eval mode; the same copy is returned until the weights of ``module`` change."""
    state = (SCORING_DTYPE, *_state(module))
    cached = _COPIES.get(module)
    if cached is not None and cached[0] == state:
        return cached[1]
    net = aligned(copy.deepcopy(module).to(SCORING_DTYPE).eval())
    net.requires_grad_(False)
    _COPIES[module] = (state, net)
    _WIDTHS[net] = _widest_layer(net)
    return net


def score_noise(module: nn.Module, seed: int, method: str) -> torch.Tensor:
    """``(L, latent_dim)`` standard-normal draws shared by every row and call.

    Sharing the draws keeps a row's score independent of the batch it is in and of the
    other rows; seeding them from ``seed`` makes scores bit-identical across calls.
    """
    return _noise(int(seed), module.n_score_samples(method), module.latent_dim).clone()


@functools.lru_cache(maxsize=64)
def _noise(seed: int, samples: int, latent_dim: int) -> torch.Tensor:
    """The draws of :func:`score_noise`, made once per ``(seed, L, k)``."""
    gen = seeds.torch_generator(seed, "score-noise")
    return torch.randn(samples, latent_dim, generator=gen, dtype=torch.float64)


def batch_rows(module: nn.Module, n_columns: int, samples_per_row: int) -> int:
    """Rows per batch so that the widest tensor stays within ``SCORING_ELEMENTS``."""
    widest = max(n_columns, _widest_layer(module))
    return max(1, SCORING_ELEMENTS // (samples_per_row * widest))


def _widest_layer(module: nn.Module) -> int:
    """The most outputs of any linear layer of ``module`` (of a scoring copy: read once)."""
    cached = _WIDTHS.get(module)
    if cached is None:
        cached = max([0, *(p.shape[0] for p in module.parameters() if p.ndim == 2)])
    return cached


def map_batches(net: nn.Module, rows: np.ndarray, samples_per_row: int,
                fn: Callable[[torch.Tensor], Any], device: torch.device | str) -> list:
    """``fn(batch)`` over ``SCORING_DTYPE`` batches of ``rows`` on ``device``; one result
    per batch.

    Every batch holds a multiple of :data:`ROW_ALIGN` rows (the last one is padded with
    copies of its last row, and its results cut back), so that the matrix kernels see
    the same shapes whatever the number of rows; ``fn`` returns arrays with one entry per
    row (in lists, tuples or dicts).
    """
    step = batch_rows(net, rows.shape[1], samples_per_row)
    step = max(ROW_ALIGN, step - step % ROW_ALIGN)
    results = []
    with torch.inference_mode():
        for i in range(0, rows.shape[0], step):
            block = rows[i:i + step]
            n = block.shape[0]
            extra = -n % ROW_ALIGN
            if extra:
                block = np.concatenate([block, np.repeat(block[-1:], extra, axis=0)])
            batch = torch.from_numpy(np.ascontiguousarray(block, dtype=_numpy_dtype()))
            results.append(_cut(fn(batch.to(device, SCORING_DTYPE)), n))
    return results


def _numpy_dtype() -> np.dtype:
    """numpy's name for ``SCORING_DTYPE`` (rows are cast once, before torch sees them)."""
    return np.dtype(str(SCORING_DTYPE).removeprefix("torch."))


def _cut(result: Any, n: int) -> Any:
    """``result`` with every array cut to its first ``n`` rows."""
    if isinstance(result, dict):
        return {k: _cut(v, n) for k, v in result.items()}
    if isinstance(result, list | tuple):
        return type(result)(_cut(v, n) for v in result)
    return result[:n]


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def score(module: nn.Module, heads, rows: np.ndarray, method: str, seed: int,
          device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(n,)`` and per-column parts ``(n, n_blocks)`` of packed rows."""
    net = scoring_copy(module)
    noise = score_noise(module, seed, method).to(device, SCORING_DTYPE)
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
    noise = score_noise(module, seed, method).to(device, SCORING_DTYPE)
    parts = map_batches(net, rows, noise.shape[0], lambda xb: {
        m: _numpy(t) for m, t in net.all_scores(heads, xb, noise).items()}, device)
    return {m: np.concatenate([p[m] for p in parts]) if parts else np.empty(0)
            for m in module.score_methods}


def fit_score_state(module: nn.Module, heads, rows: np.ndarray, seed: int,
                    device: torch.device | str = "cpu", max_rows: int = 4096) -> None:
    """Let the model learn what its scores need from held-out rows (at most ``max_rows``,
    a seeded choice), e.g. the VAE's per-column caps."""
    if not module.has_score_state or len(rows) == 0:
        return
    if len(rows) > max_rows:
        pick = seeds.rng(seed, "score-state").choice(len(rows), max_rows, replace=False)
        rows = rows[np.sort(pick)]
    net = scoring_copy(module)
    method = module.score_methods[0]
    noise = score_noise(module, seed, method).to(device, SCORING_DTYPE)
    parts = map_batches(net, rows, noise.shape[0],
                        lambda xb: net.score_state_batch(heads, xb, noise), device)
    module.set_score_state(*(np.concatenate([p[k] for p in parts]) for k in range(2)))


def posterior(module: nn.Module, heads, rows: np.ndarray,
              device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and variances ``(n, latent_dim)`` of packed rows (variances 0 for
    an AE)."""
    net = scoring_copy(module)
    parts = map_batches(net, rows, 1, lambda xb: [_numpy(t) for t in net.latent_moments(
        heads.inputs(xb))], device)
    if not parts:
        k = module.latent_dim
        return np.empty((0, k)), np.empty((0, k))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def decode_latent(module: nn.Module, heads, z: np.ndarray, sample: bool,
                  gen: torch.Generator | None = None, with_missing: bool = False,
                  device: torch.device | str = "cpu", temperature: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Model-space values ``(n, n_blocks)`` and gaps at latent points ``z``.

    ``sample=False``: the most probable value of every column (decoder mean, most probable
    category); ``sample=True``: a draw from the decoder's distribution with ``gen`` (the
    AE has no variance: its numbers are its output), and gaps too when ``with_missing``;
    ``temperature`` scales the decoder's standard deviations.
    """
    net = scoring_copy(module)
    if next(net.parameters()).device.type != "cpu":
        net = copy.deepcopy(net).cpu()
    z = np.asarray(z, dtype=np.float64)
    with torch.inference_mode():
        out, logvar, logits = net.decode(torch.from_numpy(np.ascontiguousarray(z)).to(
            SCORING_DTYPE))
        if sample:
            values, missing = heads.sample(out, logvar, logits, gen, with_missing,
                                           temperature)
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
        out, _, logits = net.decode(net.latent_moments(heads.inputs(xb))[0])
        return [_numpy(heads.expected(out, logits)), _numpy(heads.observed_probability(
            xb, logits))]

    parts = map_batches(net, rows, 1, one, device)
    if not parts:
        return np.empty((0, heads.n_blocks)), np.empty((0, heads.n_blocks))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def cell_fit(module: nn.Module, heads, rows: np.ndarray,
             device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Most probable values in model space at the posterior mean ``(n, n_blocks)``, and the
    relative log-likelihood of every observed entry there (``heads.relative_log_likelihood``;
    0 for missing entries)."""
    net = scoring_copy(module)

    def one(xb: torch.Tensor) -> list[np.ndarray]:
        out, logvar, logits = net.decode(net.latent_moments(heads.inputs(xb))[0])
        return [_numpy(heads.expected(out, logits)),
                _numpy(heads.relative_log_likelihood(xb, out, logvar, logits))]

    parts = map_batches(net, rows, 1, one, device)
    if not parts:
        return np.empty((0, heads.n_blocks)), np.empty((0, heads.n_blocks))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
