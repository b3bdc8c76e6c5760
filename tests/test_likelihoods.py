"""Per-type likelihoods against scipy and brute force, and the masking algebra of the heads."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from latentwatch import maths
from latentwatch.encoding import fit_layout
from latentwatch.likelihood import TableHeads
from latentwatch.schema import infer_schema


@settings(derandomize=True)
@given(logits=st.lists(st.floats(-30, 30), min_size=1, max_size=8), data=st.data())
def test_categorical_nll_equals_scipy_multinomial(logits, data):
    k = data.draw(st.integers(0, len(logits) - 1))
    ours = maths.categorical_nll(torch.tensor(logits, dtype=torch.float64), torch.tensor(k))
    p = np.exp(np.array(logits) - max(logits))
    p /= p.sum()
    one_hot = np.eye(len(logits))[k]
    expected = -stats.multinomial.logpmf(one_hot, n=1, p=p)
    assert float(ours) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_categorical_nll_is_stable_and_batched():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    nll = maths.categorical_nll(logits, torch.tensor([2, 1]))
    assert torch.isfinite(nll).all()
    assert float(nll[0]) == pytest.approx(2000.0)
    assert float(nll[1]) == pytest.approx(math.log(3))
    samples = logits.expand(4, 2, 3)  # (L, n, K) with targets (n,)
    torch.testing.assert_close(maths.categorical_nll(samples, torch.tensor([2, 1])),
                               nll.expand(4, 2))


@settings(derandomize=True)
@given(logit=st.floats(-40, 40), y=st.sampled_from([0.0, 1.0]))
def test_bernoulli_nll_equals_scipy(logit, y):
    ours = maths.bernoulli_nll(torch.tensor(logit, dtype=torch.float64),
                               torch.tensor(y, dtype=torch.float64))
    log_p = -math.log1p(math.exp(-logit)) if logit > 0 else logit - math.log1p(math.exp(logit))
    log_q = -math.log1p(math.exp(logit)) if logit < 0 else -logit - math.log1p(math.exp(-logit))
    expected = -(log_p if y else log_q)
    assert float(ours) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    p = 1.0 / (1.0 + math.exp(-logit))
    if 1e-6 < p < 1 - 1e-6:
        assert float(ours) == pytest.approx(-stats.bernoulli.logpmf(int(y), p), rel=1e-7)


def test_bernoulli_nll_is_finite_far_out():
    out = maths.bernoulli_nll(torch.tensor([1e4, -1e4]), torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(out, torch.tensor([1e4, 1e4]))


@settings(derandomize=True, deadline=None, max_examples=40)
@given(n_samples=st.integers(1, 8), n_features=st.integers(1, 5), seed=st.integers(0, 999))
def test_contributions_with_inactive_features_sum_to_the_score_and_skip_them(
    n_samples, n_features, seed
):
    rng = np.random.default_rng(seed)
    active = torch.from_numpy((rng.random((3, n_features)) < 0.6).astype(float))
    nll = torch.from_numpy(rng.normal(0, 5, size=(n_samples, 3, n_features))) * active
    parts = maths.reconstruction_probability_contributions(nll, active)
    total = maths.reconstruction_probability_score(nll.sum(dim=-1))
    torch.testing.assert_close(parts.sum(dim=1), total, rtol=1e-10, atol=1e-8)
    assert (parts[active == 0] == 0).all()


def test_spread_over_all_features_is_the_plain_division():
    total = torch.tensor([3.0, 6.0], dtype=torch.float64)
    torch.testing.assert_close(maths.spread_over(total, 3, None), total.unsqueeze(-1) / 3)
    assert torch.equal(maths.spread_over(total, 3, torch.ones(2, 3, dtype=torch.float64)),
                       (total.unsqueeze(-1) / 3).expand(2, 3))


# -- the heads of a table ---------------------------------------------------------------
@pytest.fixture(scope="module")
def heads_and_rows():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "flag": rng.random(n) < 0.3,
        "gappy": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
    })
    schema = infer_schema(frame, min_category_count=1)
    layout = fit_layout(frame, schema)
    encoded = layout.encode(frame)
    heads = TableHeads(layout)
    gen = torch.Generator().manual_seed(1)
    mean = torch.randn(4, n, layout.n_outputs, generator=gen, dtype=torch.float64)
    logvar = torch.randn(4, n, layout.n_outputs, generator=gen, dtype=torch.float64)
    logits = 3 * torch.randn(4, n, layout.n_logits, generator=gen, dtype=torch.float64)
    return layout, heads, torch.from_numpy(encoded.packed), (mean, logvar, logits)


def test_heads_nll_equals_brute_force(heads_and_rows):
    layout, heads, rows, (mean, logvar, logits) = heads_and_rows
    nll = heads.nll(rows, mean, logvar, logits)
    targets = rows[:, layout.input_width:layout.input_width + layout.n_blocks]
    observed = rows[:, layout.input_width + layout.n_blocks:]
    for sample, i in [(0, 0), (3, 17), (2, 41)]:
        for j, block in enumerate(layout.blocks):
            expected = 0.0
            if observed[i, j]:
                t = float(targets[i, j])
                if block.kind == "numeric":
                    k = list(layout.numeric).index(j)
                    sd = math.exp(0.5 * float(logvar[sample, i, k]))
                    expected -= stats.norm.logpdf(t, float(mean[sample, i, k]), sd)
                elif block.kind == "categorical":
                    c = list(layout.categorical).index(j)
                    start = layout.logit_start[c]
                    a = logits[sample, i, start:start + block.width].numpy()
                    expected -= a[int(t)] - np.log(np.exp(a).sum())
                else:
                    b = list(layout.boolean).index(j)
                    p = 1 / (1 + math.exp(-float(logits[sample, i, layout.boolean_logits[b]])))
                    expected -= math.log(p if t else 1 - p)
            if block.missing:
                k = list(layout.with_missing).index(j)
                p = 1 / (1 + math.exp(-float(logits[sample, i, layout.missing_logits[k]])))
                expected -= math.log(p if not observed[i, j] else 1 - p)
            assert float(nll[sample, i, j]) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(data=st.data())
def test_masking_an_entry_changes_no_other_term_given_the_latent(heads_and_rows, data):
    """The likelihood factorises given z: hiding entries only removes their own value
    terms (adding a missingness term where gaps are modelled); every other term is
    bit-identical."""
    layout, heads, rows, outputs = heads_and_rows
    i = data.draw(st.integers(0, rows.shape[0] - 1))
    hide = data.draw(st.lists(st.integers(0, layout.n_blocks - 1), min_size=1, unique=True))
    row = rows[i:i + 1].clone()
    observed0 = layout.input_width + layout.n_blocks
    row[0, observed0 + torch.tensor(hide)] = 0.0
    one = tuple(o[:, i:i + 1] for o in outputs)
    before = heads.nll(rows[i:i + 1], *one)
    after = heads.nll(row, *one)
    others = [j for j in range(layout.n_blocks) if j not in hide]
    assert torch.equal(after[..., others], before[..., others])
    for j in hide:
        if not layout.blocks[j].missing:
            assert (after[..., j] == 0).all()


def test_complete_rows_carry_every_term_and_active_is_all_ones(heads_and_rows):
    layout, heads, rows, _ = heads_and_rows
    observed = rows[:, layout.input_width + layout.n_blocks:]
    complete = observed.bool().all(dim=1)
    assert complete.any()
    assert (heads.active(rows)[complete] == 1).all()


def test_a_value_in_the_rare_bucket_pays_for_its_share_of_it():
    """Pooled values share the bucket evenly with one slot for new values, so the
    probabilities over every value still sum to 1 and a rare value is not cheap."""
    frame = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 10 + ["x", "y", "z"]})
    layout = fit_layout(frame, infer_schema(frame, min_category_count=5))
    assert layout.blocks[0].categories == ["a", "b"] and layout.blocks[0].rare_values == 3
    rows = torch.from_numpy(layout.encode(pd.DataFrame({"c": ["a", "x", "new"]})).packed)
    logits = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64).expand(3, 3)
    empty = torch.zeros(3, 0, dtype=torch.float64)
    nll = TableHeads(layout).nll(rows, empty, empty, logits)[:, 0]
    log_p = torch.log_softmax(logits[0], dim=0)
    torch.testing.assert_close(nll, torch.stack([-log_p[0], -log_p[2] + math.log(4),
                                                 -log_p[2] + math.log(4)]))
    every_value = torch.exp(-nll[0]) + log_p[1].exp() + 4 * torch.exp(-nll[1])
    assert float(every_value) == pytest.approx(1.0)
