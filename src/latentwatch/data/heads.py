"""The decoder's output heads read along a codec: per-column negative log-likelihoods.

:class:`TableHeads` follows a :class:`~latentwatch.data.codec.TableCodec` (a numeric
matrix is a table of numeric columns, so there is one reader). For a row
``x`` with observed mask ``o`` and a decoder output given ``z``, the negative
log-likelihood of column ``j`` is, in nats,

``nll_j = o_j * (-log p(x_j | z)) + [j has gaps] * (-log p(o_j | z))``

with a Gaussian for numeric columns, a softmax for categorical columns and a Bernoulli
for booleans and for missingness. A missing entry therefore adds nothing through its
value: the row is scored on what was observed (and, where gaps were seen in training,
on how usual its gaps are).

The heads also read values back out of a decoder output, in model space, for the
codec's :meth:`~latentwatch.data.codec.TableCodec.decode`: :meth:`TableHeads.expected`
(the most probable value of every column) and :meth:`TableHeads.sample` (a draw, with
gaps at the modelled rate). Neither ever picks a rare bucket that pooled no training
value (there is no value to write for it), and the features of one datetime column are
missing together (one draw, from the first feature's missingness).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from latentwatch import maths
from latentwatch.data.protocol import Codec


class TableHeads:
    """Reader of packed rows and decoder outputs split along a codec's blocks."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.n_blocks = codec.n_blocks
        self._targets = codec.input_width
        self._observed = codec.input_width + codec.n_blocks
        self._numeric = torch.as_tensor(codec.numeric, dtype=torch.long)
        # the numeric blocks come first in a numeric matrix: a slice then, not a gather
        n_numeric = len(codec.numeric)
        self._numeric_first = bool(np.array_equal(codec.numeric, np.arange(n_numeric)))
        self._boolean = torch.as_tensor(codec.boolean, dtype=torch.long)
        self._boolean_logits = torch.as_tensor(codec.boolean_logits, dtype=torch.long)
        self._missing = torch.as_tensor(codec.with_missing, dtype=torch.long)
        self._missing_logits = torch.as_tensor(codec.missing_logits, dtype=torch.long)
        # the kinds' terms come numeric, categorical, boolean; this puts them in block order
        kinds = np.argsort(np.concatenate([codec.numeric, codec.categorical, codec.boolean]),
                           kind="stable")
        self._block_order = (None if np.array_equal(kinds, np.arange(codec.n_blocks))
                             else torch.as_tensor(kinds, dtype=torch.long))
        self._categories = [
            (int(j), int(start), codec.blocks[j].width)
            for j, start in zip(codec.categorical, codec.logit_start, strict=True)
        ]
        self._rare_share = {int(j): math.log(codec.blocks[j].rare_values + 1)
                            for j in codec.categorical if codec.blocks[j].rare_values}
        # decoding never picks a rare bucket that pooled no training value
        self._closed_bucket = {int(j) for j in codec.categorical
                               if not codec.blocks[j].rare_values}
        # the features of one datetime column are missing together: their gaps are drawn
        # once, from the first feature's missingness (position k in with_missing)
        first: dict[str, int] = {}
        self._gap_source = torch.as_tensor([
            first.setdefault(codec.blocks[j].source, k)
            for k, j in enumerate(codec.with_missing)], dtype=torch.long)

    def _decodable(self, j: int, logits: torch.Tensor) -> torch.Tensor:
        """Category logits of block ``j`` with a closed rare bucket masked out."""
        if j not in self._closed_bucket:
            return logits
        masked = logits.clone()
        masked[..., -1] = float("-inf")
        return masked

    def _bucket_share(self, j: int, target: torch.Tensor, width: int) -> torch.Tensor:
        """``log(rare_values + 1)`` where the target is the rare bucket, else 0 (in the
        targets' dtype: a bool mask times a float would be float32)."""
        return (target == width - 1).to(target.dtype) * self._rare_share[j]

    def inputs(self, rows: torch.Tensor) -> torch.Tensor:
        return rows[..., :self._targets]

    def marginal_logits(self, rows: np.ndarray) -> np.ndarray:
        """The logits ``(n_logits,)`` of the training rows' marginal frequencies.

        For each categorical column ``log((c_k + 1/2) / (n + w/2))`` over its ``w``
        categories, for each boolean and each modelled gap the log-odds
        ``log((s + 1/2) / (n - s + 1/2))`` of its share ``s / n``. A model whose logit
        biases start there (:meth:`initialise_logits` of the models) reproduces the
        training rates from its first epoch, so short training does not sample gaps,
        rare categories or booleans at the uninformed rate of 1/2.
        """
        targets = rows[:, self._targets:self._observed]
        observed = rows[:, self._observed:self._observed + self.n_blocks] > 0
        out = np.zeros(self.codec.n_logits)
        for j, start, width in self._categories:
            seen = targets[observed[:, j], j].astype(np.int64)
            counts = np.bincount(seen, minlength=width)[:width] + 0.5
            out[start:start + width] = np.log(counts / counts.sum())

        def log_odds(hits: np.ndarray, n: int) -> np.ndarray:
            return np.log((hits + 0.5) / (n - hits + 0.5))

        for k, j in enumerate(self.codec.boolean):
            seen = observed[:, j]
            out[self.codec.boolean_logits[k]] = log_odds(targets[seen, j].sum(), seen.sum())
        for k, j in enumerate(self.codec.with_missing):
            out[self.codec.missing_logits[k]] = log_odds((~observed[:, j]).sum(), len(rows))
        return out

    def _split(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (rows[..., self._targets:self._observed],
                rows[..., self._observed:self._observed + self.n_blocks])

    def active(self, rows: torch.Tensor) -> torch.Tensor:
        """1 where a column has a likelihood term: observed, or its missingness modelled."""
        active = self._split(rows)[1].clone()
        active[..., self._missing.to(rows.device)] = 1.0
        return active

    def nll(self, rows, mean, logvar, logits, df: float | None = None) -> torch.Tensor:
        """Per-column negative log-likelihood ``(..., n, n_blocks)`` (see the module); with
        ``df``, numeric columns are Student-t with ``df`` degrees of freedom instead of
        Gaussian (``maths.student_t_nll``)."""
        targets = self._numeric_targets(rows)
        numeric = (maths.gaussian_nll(targets, mean, logvar) if df is None
                   else maths.student_t_nll(targets, mean, logvar, df))
        return self._assemble(rows, numeric, logits)

    def _numeric_targets(self, rows: torch.Tensor) -> torch.Tensor:
        targets, _ = self._split(rows)
        if self._numeric_first:
            return targets[..., :len(self._numeric)]
        return targets[..., self._numeric.to(rows.device)]

    def point_errors(self, rows, out, logits) -> torch.Tensor:
        """The same with a unit variance for numeric columns: the AE's loss and score.

        ``0.5 * (log(2 pi) + (x - x_hat)^2)`` is the squared error up to scale and shift,
        in nats like the categorical and Bernoulli terms.
        """
        numeric = 0.5 * (maths.LOG_2PI + (self._numeric_targets(rows) - out).square())
        return self._assemble(rows, numeric, logits)

    def _assemble(self, rows, numeric, logits) -> torch.Tensor:
        """Value terms of every column, in block order and masked by ``observed``, plus the
        gap terms: the kinds are computed as whole tensors, then put in block order."""
        targets, observed = self._split(rows)
        device = rows.device
        parts = [numeric] if len(self._numeric) else []
        if self._categories:
            terms = []
            for j, start, width in self._categories:
                term = maths.categorical_nll(logits[..., start:start + width],
                                             targets[..., j].long())
                if j in self._rare_share:
                    term = term + self._bucket_share(j, targets[..., j], width)
                terms.append(term)
            batch = torch.broadcast_shapes(*(t.shape for t in terms))
            parts.append(torch.stack([t.expand(batch) for t in terms], dim=-1))
        if len(self._boolean):
            parts.append(maths.bernoulli_nll(logits[..., self._boolean_logits.to(device)],
                                             targets[..., self._boolean.to(device)]))
        batch = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
        stacked = parts[0] if len(parts) == 1 else torch.cat(
            [p.expand(*batch, p.shape[-1]) for p in parts], dim=-1)
        if self._block_order is not None:
            stacked = stacked[..., self._block_order.to(device)]
        value_nll = stacked * observed
        if not len(self._missing):
            return value_nll
        missing = self._missing.to(device)
        gap_nll = maths.bernoulli_nll(logits[..., self._missing_logits.to(device)],
                                      1.0 - observed[..., missing])
        return value_nll.index_add(-1, missing,
                                   gap_nll.expand(*value_nll.shape[:-1], len(missing)))

    def expected(self, out, logits) -> torch.Tensor:
        """Most probable value per column in model space ``(n, n_blocks)``: the Gaussian
        mean, the most probable category, the more probable boolean."""
        values = out.new_zeros((*out.shape[:-1], self.n_blocks))
        values[..., self._numeric.to(out.device)] = out
        for j, start, width in self._categories:
            values[..., j] = self._decodable(j, logits[..., start:start + width]).argmax(
                dim=-1).to(out.dtype)
        if len(self._boolean):
            flags = (logits[..., self._boolean_logits.to(out.device)] > 0).to(out.dtype)
            values[..., self._boolean.to(out.device)] = flags
        return values

    def relative_log_likelihood(self, rows, mean, logvar, logits) -> torch.Tensor:
        """``log p(x_j | z) - max_v log p(v | z)`` of each observed entry ``(n, n_blocks)``:
        how much less likely the observed value is than the most probable one (0 for
        missing entries).

        A numeric column gives ``-(x_j - mu_j)^2 / (2 sigma_j^2)`` (``sigma = 1`` without a
        decoder variance), so ``-t^2 / 2`` is ``t`` standard deviations from the mean; a
        category or boolean the log-ratio of its probability to the most probable one's.
        """
        targets, observed = self._split(rows)
        out = torch.zeros(targets.shape, dtype=mean.dtype if mean.numel() else logits.dtype,
                          device=rows.device)
        if len(self._numeric):
            index = self._numeric.to(rows.device)
            diff = self._numeric_targets(rows) - mean
            scaled = diff if logvar is None else diff * torch.exp(-0.5 * logvar)
            out[..., index] = -0.5 * scaled.square()
        for j, start, width in self._categories:
            log_p = torch.log_softmax(self._decodable(j, logits[..., start:start + width]),
                                      dim=-1)
            picked = log_p.gather(-1, targets[..., j].long().clamp(0, width - 1)[..., None])
            out[..., j] = picked[..., 0] - log_p.max(dim=-1).values
        if len(self._boolean):
            index = self._boolean.to(rows.device)
            logit = logits[..., self._boolean_logits.to(rows.device)]
            flags = targets[..., index]
            # log p(x) - log max(p, 1 - p) = -softplus(|l|) + ... = -relu(-(2x - 1) l)
            out[..., index] = -torch.relu(-(2.0 * flags - 1.0) * logit)
        return torch.where(observed > 0, out, torch.zeros_like(out))

    def observed_probability(self, rows, logits) -> torch.Tensor:
        """Probability of each observed category or boolean ``(n, n_blocks)`` (a value in
        the rare bucket gets its share of it); NaN for numeric and missing entries."""
        targets, observed = self._split(rows)
        prob = torch.full(targets.shape, float("nan"), dtype=logits.dtype, device=logits.device)
        for j, start, width in self._categories:
            nll = maths.categorical_nll(logits[..., start:start + width], targets[..., j].long())
            if j in self._rare_share:
                nll = nll + self._bucket_share(j, targets[..., j], width)
            prob[..., j] = torch.exp(-nll)
        if len(self._boolean):
            idx = self._boolean.to(rows.device)
            prob[..., idx] = torch.exp(-maths.bernoulli_nll(
                logits[..., self._boolean_logits.to(rows.device)], targets[..., idx]))
        return torch.where(observed > 0, prob, torch.full_like(prob, float("nan")))

    def sample(self, mean, logvar, logits, gen: torch.Generator, with_missing: bool = False,
               temperature: float = 1.0):
        """Draw values in model space and gaps from the decoder's distributions.

        Numbers are ``mean + temperature * sigma * eps`` (``temperature`` 1: the decoder's
        own Gaussian; below 1 less of its independent noise, which dilutes the
        correlations between columns); categories, booleans and gaps are drawn from their
        probabilities.

        Returns
        -------
        values : torch.Tensor of shape (n, n_blocks)
        missing : torch.Tensor of bool, shape (n, n_blocks)
            Drawn for columns with modelled gaps when ``with_missing``, else all False.
        """
        n = logits.shape[0] if logits.numel() else mean.shape[0]
        values = logits.new_zeros((n, self.n_blocks)) if logits.numel() else mean.new_zeros(
            (n, self.n_blocks))
        if len(self._numeric):
            numeric = mean if logvar is None else maths.reparameterize(
                mean, logvar, temperature * torch.randn(mean.shape, generator=gen,
                                                        dtype=mean.dtype))
            values[:, self._numeric] = numeric
        for j, start, width in self._categories:
            probs = torch.softmax(self._decodable(j, logits[:, start:start + width]), dim=-1)
            values[:, j] = torch.multinomial(probs, 1, generator=gen)[:, 0].to(values.dtype)
        if len(self._boolean):
            p = torch.sigmoid(logits[:, self._boolean_logits])
            values[:, self._boolean] = torch.bernoulli(p, generator=gen)
        missing = torch.zeros((n, self.n_blocks), dtype=torch.bool, device=values.device)
        if with_missing and len(self._missing):
            p = torch.sigmoid(logits[:, self._missing_logits])
            gaps = torch.bernoulli(p, generator=gen).bool()
            missing[:, self._missing] = gaps[:, self._gap_source]
        return values, missing

