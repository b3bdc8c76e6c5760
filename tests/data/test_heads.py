"""The per-column heads against brute force and scipy: likelihoods, masking, point errors,
and what they read back out of a decoder output (expected values and draws)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from latentwatch.data.codec import fit_codec
from latentwatch.data.heads import TableHeads
from latentwatch.data.schema import infer_schema


def decoder_outputs(codec, shape, seed=1):
    """Random Gaussian means and log-variances and logits of a decoder, ``shape + (width,)``."""
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(*shape, codec.shape.n_outputs, generator=gen, dtype=torch.float64)
    logvar = torch.randn(*shape, codec.shape.n_outputs, generator=gen, dtype=torch.float64)
    logits = 3 * torch.randn(*shape, codec.n_logits, generator=gen, dtype=torch.float64)
    return mean, logvar, logits


def split(codec, rows):
    targets = rows[..., codec.input_width:codec.input_width + codec.n_blocks]
    return targets, rows[..., codec.input_width + codec.n_blocks:]


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def brute_force_nll(codec, row_targets, row_observed, mean, logvar, logits, unit_variance):
    """``-log p(x_j | z)`` (and of its gap) of one row, column by column, with scipy."""
    out = []
    for j, block in enumerate(codec.blocks):
        expected = 0.0
        if row_observed[j]:
            t = float(row_targets[j])
            if block.kind == "numeric":
                k = list(codec.numeric).index(j)
                sd = 1.0 if unit_variance else math.exp(0.5 * float(logvar[k]))
                expected -= stats.norm.logpdf(t, float(mean[k]), sd)
            elif block.kind == "categorical":
                c = list(codec.categorical).index(j)
                start = codec.logit_start[c]
                a = logits[start:start + block.width].numpy()
                expected -= a[int(t)] - special.logsumexp(a)
                if t == block.width - 1 and block.rare_values:
                    expected += math.log(block.rare_values + 1)
            else:
                b = list(codec.boolean).index(j)
                p = sigmoid(float(logits[codec.boolean_logits[b]]))
                expected -= stats.bernoulli.logpmf(int(t), p)
        if block.missing:
            k = list(codec.with_missing).index(j)
            p = sigmoid(float(logits[codec.missing_logits[k]]))
            expected -= math.log(p if not row_observed[j] else 1 - p)
        out.append(expected)
    return out


# -- a mixed table --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed_heads():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "flag": rng.random(n) < 0.3,
        "gappy": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "kind": np.where(rng.random(n) < 0.15, None, rng.choice(["u", "v", "w", "q"], n,
                                                                p=[0.5, 0.4, 0.07, 0.03])),
    })
    codec = fit_codec(frame, infer_schema(frame, min_category_count=5))
    rows = torch.from_numpy(codec.encode(frame).packed)
    return codec, TableHeads(codec), rows, decoder_outputs(codec, (4, n))


def test_the_mixed_table_has_every_kind_of_term(mixed_heads):
    codec, _, _, _ = mixed_heads
    kinds = [(b.kind, b.missing, bool(b.rare_values)) for b in codec.blocks]
    assert kinds == [("numeric", False, False), ("categorical", False, False),
                     ("boolean", False, False), ("numeric", True, False),
                     ("categorical", True, True)]


def test_heads_nll_equals_brute_force(mixed_heads):
    codec, heads, rows, (mean, logvar, logits) = mixed_heads
    nll = heads.nll(rows, mean, logvar, logits)
    assert nll.shape == (4, rows.shape[0], codec.n_blocks)
    targets, observed = split(codec, rows)
    for sample, i in [(0, 0), (3, 17), (2, 41), (1, 5), (0, 59)]:
        expected = brute_force_nll(codec, targets[i], observed[i], mean[sample, i],
                                   logvar[sample, i], logits[sample, i], unit_variance=False)
        np.testing.assert_allclose(nll[sample, i].numpy(), expected, rtol=1e-9, atol=1e-9)


def test_point_errors_are_the_unit_variance_terms(mixed_heads):
    codec, heads, rows, (mean, _, logits) = mixed_heads
    errors = heads.point_errors(rows, mean[0], logits[0])
    targets, observed = split(codec, rows)
    for i in (0, 7, 33):
        expected = brute_force_nll(codec, targets[i], observed[i], mean[0, i], None,
                                   logits[0, i], unit_variance=True)
        np.testing.assert_allclose(errors[i].numpy(), expected, rtol=1e-9, atol=1e-9)


@settings(derandomize=True, deadline=None, max_examples=40)
@given(data=st.data())
def test_masking_an_entry_changes_no_other_term_given_the_latent(mixed_heads, data):
    """The likelihood factorises given z: hiding entries only removes their own value
    terms (adding a missingness term where gaps are modelled); every other term is
    bit-identical."""
    codec, heads, rows, outputs = mixed_heads
    i = data.draw(st.integers(0, rows.shape[0] - 1))
    hide = data.draw(st.lists(st.integers(0, codec.n_blocks - 1), min_size=1, unique=True))
    row = rows[i:i + 1].clone()
    row[0, codec.input_width + codec.n_blocks + torch.tensor(hide)] = 0.0
    one = tuple(o[:, i:i + 1] for o in outputs)
    before = heads.nll(rows[i:i + 1], *one)
    after = heads.nll(row, *one)
    others = [j for j in range(codec.n_blocks) if j not in hide]
    assert torch.equal(after[..., others], before[..., others])
    for j in hide:
        if not codec.blocks[j].missing:
            assert (after[..., j] == 0).all()


def test_active_marks_observed_entries_and_modelled_gaps(mixed_heads):
    codec, heads, rows, _ = mixed_heads
    _, observed = split(codec, rows)
    active = heads.active(rows)
    complete = observed.bool().all(dim=1)
    assert complete.any() and (active[complete] == 1).all()
    assert (active[:, list(codec.with_missing)] == 1).all()
    plain = [j for j in range(codec.n_blocks) if j not in codec.with_missing]
    assert torch.equal(active[:, plain], observed[:, plain])


def test_observed_probability_is_the_probability_of_the_observed_value(mixed_heads):
    codec, heads, rows, (_, _, logits) = mixed_heads
    prob = heads.observed_probability(rows, logits[0])
    _, observed = split(codec, rows)
    nll = heads.nll(rows, torch.zeros(rows.shape[0], 2, dtype=torch.float64),
                    torch.zeros(rows.shape[0], 2, dtype=torch.float64), logits[0])
    for j, block in enumerate(codec.blocks):
        seen = observed[:, j].bool()
        if block.kind == "numeric":
            assert prob[:, j].isnan().all()
            continue
        assert prob[~seen, j].isnan().all()
        value_nll = nll[seen, j]
        if block.missing:  # nll also holds the gap term: remove it
            k = list(codec.with_missing).index(j)
            value_nll = value_nll - torch.nn.functional.softplus(
                logits[0][seen, codec.missing_logits[k]])
        torch.testing.assert_close(prob[seen, j], torch.exp(-value_nll))


def test_a_value_in_the_rare_bucket_pays_for_its_share_of_it():
    """Pooled values share the bucket evenly with one slot for new values, so the
    probabilities over every value still sum to 1 and a rare value is not cheap."""
    frame = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 10 + ["x", "y", "z"]})
    codec = fit_codec(frame, infer_schema(frame, min_category_count=5))
    assert codec.blocks[0].categories == ["a", "b"] and codec.blocks[0].rare_values == 3
    rows = torch.from_numpy(codec.encode(pd.DataFrame({"c": ["a", "x", "new"]})).packed)
    logits = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64).expand(3, 3)
    empty = torch.zeros(3, 0, dtype=torch.float64)
    nll = TableHeads(codec).nll(rows, empty, empty, logits)[:, 0]
    log_p = torch.log_softmax(logits[0], dim=0)
    torch.testing.assert_close(nll, torch.stack([-log_p[0], -log_p[2] + math.log(4),
                                                 -log_p[2] + math.log(4)]))
    every_value = torch.exp(-nll[0]) + log_p[1].exp() + 4 * torch.exp(-nll[1])
    assert float(every_value) == pytest.approx(1.0)


# -- a numeric matrix is a table of numeric columns -----------------------------------------
@pytest.fixture(scope="module")
def numeric_heads():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 5)) * [1, 10, 0.1, 3, 100]
    X[[3, 8, 20], 2] = np.nan
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    codec = fit_codec(frame)
    return codec, TableHeads(codec), torch.from_numpy(codec.encode(frame).packed), X


def test_the_numeric_matrix_heads_are_gaussians_with_one_gap_logit(numeric_heads):
    codec, heads, rows, X = numeric_heads
    assert codec.shape.n_outputs == 5 and codec.n_logits == 1
    targets, observed = split(codec, rows)
    scale = np.array([b.scale for b in codec.blocks])
    centre = np.array([b.mean for b in codec.blocks])
    np.testing.assert_allclose(targets.numpy(), np.nan_to_num((X - centre) / scale),
                               rtol=1e-12)
    assert observed.numpy().tolist() == (~np.isnan(X)).astype(float).tolist()
    mean, logvar, logits = decoder_outputs(codec, (3, len(X)), seed=4)
    nll = heads.nll(rows, mean, logvar, logits)
    gap = torch.sigmoid(logits[..., 0])
    expected = -stats.norm.logpdf(targets.numpy(), mean.numpy(),
                                  np.exp(0.5 * logvar.numpy())) * observed.numpy()
    expected[..., 2] -= np.where(observed[:, 2].numpy() > 0, np.log1p(-gap.numpy()),
                                 np.log(gap.numpy()))
    np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-9, atol=1e-9)


def test_numeric_point_errors_are_half_squared_errors_in_nats(numeric_heads):
    codec, heads, rows, _ = numeric_heads
    targets, observed = split(codec, rows)
    out = torch.randn(rows.shape[0], 5, dtype=torch.float64,
                      generator=torch.Generator().manual_seed(0))
    no_gap_logit = torch.zeros(rows.shape[0], 1, dtype=torch.float64)
    errors = heads.point_errors(rows, out, no_gap_logit)
    expected = 0.5 * (math.log(2 * math.pi) + (targets - out) ** 2) * observed
    expected[:, 2] += math.log(2)  # a gap logit of 0: probability 1/2 either way
    torch.testing.assert_close(errors, expected, rtol=1e-12, atol=1e-12)
    values = heads.expected(out, no_gap_logit)
    assert torch.equal(values, out)


# -- reading values back out: expected values and draws ----------------------------------
@pytest.fixture(scope="module")
def closed_and_open():
    """``closed``: every label frequent, its bucket pooled nothing; ``open`` pooled 'z'."""
    frame = pd.DataFrame({"closed": ["a", "b", "c"] * 10,
                          "open": ["u"] * 15 + ["v"] * 14 + ["z"],
                          "flag": [True, False] * 15})
    codec = fit_codec(frame, infer_schema(frame, min_category_count=2))
    assert codec.blocks[0].rare_values == 0 and codec.blocks[1].rare_labels == ["z"]
    return codec, TableHeads(codec)


def test_expected_values_never_pick_a_bucket_that_pooled_nothing(closed_and_open):
    codec, heads = closed_and_open
    # closed: [a, b, c, bucket]; open: [u, v, bucket]; flag
    logits = torch.tensor([[0.0, 1.0, 0.5, 9.0, 0.0, 1.0, 9.0, 2.0],
                           [3.0, 1.0, 0.5, 2.0, 4.0, 1.0, 0.0, -2.0]], dtype=torch.float64)
    values = heads.expected(torch.zeros(2, 0, dtype=torch.float64), logits)
    assert values.tolist() == [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0]]
    assert list(codec.decode(values.numpy())["open"]) == ["z", "u"]


def test_draws_never_pick_a_bucket_that_pooled_nothing(closed_and_open):
    _, heads = closed_and_open
    logits = torch.tensor([[0.0, 0.0, 0.0, 20.0, 0.0, 0.0, 20.0, 0.0]],
                          dtype=torch.float64).expand(2000, 8)
    values, missing = heads.sample(torch.zeros(2000, 0, dtype=torch.float64), None, logits,
                                   torch.Generator().manual_seed(0))
    assert not missing.any()
    closed = values[:, 0].numpy()
    assert set(closed) == {0.0, 1.0, 2.0}
    np.testing.assert_allclose(np.bincount(closed.astype(int)) / 2000, [1 / 3] * 3, atol=0.04)
    assert (values[:, 1] == 2).float().mean() > 0.99, "an open bucket is drawn"
    assert 0.4 < float(values[:, 2].mean()) < 0.6


def test_draws_follow_the_decoder_and_are_reproducible(numeric_heads):
    _, heads, _, _ = numeric_heads
    mean = torch.tensor([[1.0, -2.0, 0.0, 3.0, 0.5]], dtype=torch.float64).expand(20000, 5)
    logvar = torch.log(torch.tensor([[0.25, 1.0, 4.0, 0.01, 1.0]],
                                    dtype=torch.float64)).expand(20000, 5)
    gap_logit = torch.full((20000, 1), math.log(0.2 / 0.8), dtype=torch.float64)
    values, missing = heads.sample(mean, logvar, gap_logit, torch.Generator().manual_seed(1),
                                   with_missing=True)
    np.testing.assert_allclose(values.mean(dim=0).numpy(), mean[0].numpy(), atol=0.04)
    np.testing.assert_allclose(values.std(dim=0).numpy(), [0.5, 1, 2, 0.1, 1], rtol=0.03)
    assert missing[:, 2].float().mean().item() == pytest.approx(0.2, abs=0.015)
    assert not missing[:, [0, 1, 3, 4]].any()
    again, again_missing = heads.sample(mean, logvar, gap_logit,
                                        torch.Generator().manual_seed(1), with_missing=True)
    assert torch.equal(values, again) and torch.equal(missing, again_missing)
    point, _ = heads.sample(mean, None, gap_logit, torch.Generator().manual_seed(1))
    assert torch.equal(point, mean), "without a variance (the AE) numbers are the output"


def test_the_features_of_a_datetime_column_are_missing_together():
    rng = np.random.default_rng(3)
    ts = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**5, 200),
                                                                 "min"))
    ts[rng.random(200) < 0.3] = pd.NaT
    frame = pd.DataFrame({"ts": ts, "x": np.where(rng.random(200) < 0.3, np.nan,
                                                  rng.normal(size=200))})
    codec = fit_codec(frame)
    assert codec.names == ["ts.hour", "ts.weekday", "x"]
    assert list(codec.with_missing) == [0, 1, 2]
    heads = TableHeads(codec)
    n = 4000
    logits = torch.zeros(n, codec.n_logits, dtype=torch.float64)
    logits[:, codec.missing_logits] = torch.tensor([0.0, 3.0, 0.0], dtype=torch.float64)
    _, missing = heads.sample(torch.zeros(n, 1, dtype=torch.float64),
                              torch.zeros(n, 1, dtype=torch.float64), logits,
                              torch.Generator().manual_seed(2), with_missing=True)
    assert torch.equal(missing[:, 0], missing[:, 1])
    assert missing[:, 0].float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert not torch.equal(missing[:, 0], missing[:, 2])
