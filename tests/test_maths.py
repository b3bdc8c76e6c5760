"""The maths checked against brute force and scipy."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from latentwatch import maths

finite = st.floats(-50, 50, allow_nan=False)


@given(x=finite, mean=finite, logvar=st.floats(-8, 8))
def test_gaussian_nll_equals_scipy(x, mean, logvar):
    ours = maths.gaussian_nll(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(mean, dtype=torch.float64),
        torch.tensor(logvar, dtype=torch.float64),
    )
    expected = -stats.norm.logpdf(x, loc=mean, scale=math.exp(0.5 * logvar))
    assert float(ours) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_kl_closed_form_equals_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.3, -2.0]], dtype=torch.float64)
    eps = torch.randn(400_000, 3, generator=gen, dtype=torch.float64)
    z = maths.reparameterize(mu, logvar, eps)
    log_q = -maths.gaussian_nll(z, mu, logvar).sum(dim=1)
    log_p = -maths.gaussian_nll(z, torch.zeros(1), torch.zeros(1)).sum(dim=1)
    monte_carlo = float((log_q - log_p).mean())
    standard_error = float((log_q - log_p).std()) / math.sqrt(len(z))
    closed = float(maths.kl_to_standard_normal(mu, logvar)[0])
    assert abs(closed - monte_carlo) < 4 * standard_error
    assert float(maths.kl_to_standard_normal(torch.zeros(1, 3), torch.zeros(1, 3))[0]) == 0.0


def test_reconstruction_probability_equals_brute_force_loop():
    rng = np.random.default_rng(1)
    nll = torch.from_numpy(rng.normal(30, 20, size=(16, 5, 4)))  # (L, rows, features)
    ours = maths.reconstruction_probability_score(nll.sum(dim=-1)).numpy()
    for i in range(5):
        probability = 0.0
        for sample in range(16):
            probability += math.exp(-float(nll[sample, i].sum()) + 100) / 16  # shifted for range
        assert ours[i] == pytest.approx(-(math.log(probability) - 100), rel=1e-12)


def test_reconstruction_probability_is_stable_far_in_the_tail():
    nll = torch.full((8, 2), 1e5, dtype=torch.float64)
    score = maths.reconstruction_probability_score(nll)
    assert torch.isfinite(score).all()
    assert score[0].item() == pytest.approx(1e5)


@settings(deadline=None, max_examples=50)
@given(
    n_samples=st.integers(1, 12),
    n_features=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    spread=st.floats(0.1, 50),
)
def test_contributions_sum_to_reconstruction_probability(n_samples, n_features, seed, spread):
    rng = np.random.default_rng(seed)
    nll = torch.from_numpy(rng.normal(0, spread, size=(n_samples, 3, n_features)))
    parts = maths.reconstruction_probability_contributions(nll)
    total = maths.reconstruction_probability_score(nll.sum(dim=-1))
    assert parts.shape == (3, n_features)
    torch.testing.assert_close(parts.sum(dim=1), total, rtol=1e-10, atol=1e-8)


def test_contributions_reduce_to_per_feature_nll_for_one_sample():
    nll = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64)
    torch.testing.assert_close(maths.reconstruction_probability_contributions(nll), nll[0])


def test_bounded_logvar_stays_in_bounds():
    raw = torch.tensor([-1e30, -5.0, 0.0, 5.0, 1e30])
    out = maths.bounded_logvar(raw, -6.0, 4.0)
    assert float(out.min()) >= -6.0 and float(out.max()) <= 4.0
    assert float(out[2]) == pytest.approx(-1.0)


def test_log_mean_exp_matches_naive():
    values = torch.tensor([[0.1, -2.0], [1.5, 0.3], [-0.7, 2.2]], dtype=torch.float64)
    expected = torch.log(torch.exp(values).mean(dim=0))
    torch.testing.assert_close(maths.log_mean_exp(values, dim=0), expected)


def test_capped_reconstruction_probability_equals_brute_force_loop():
    rng = np.random.default_rng(2)
    nll = torch.from_numpy(rng.normal(0.5, 2.0, size=(8, 3, 4)))  # (L, rows, features)
    floor = torch.tensor([0.0, 1.0, -1.0, 0.5], dtype=torch.float64)
    active = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 1], [0, 0, 0, 1]], dtype=torch.float64)
    ours = maths.reconstruction_probability_score(maths.floor_nll(nll, floor, active).sum(-1))
    for i in range(3):
        probability = 0.0
        for sample in range(8):
            product = 1.0
            for j in range(4):
                density = math.exp(-float(nll[sample, i, j]))
                if active[i, j]:
                    density = min(density, math.exp(-float(floor[j])))
                product *= density
            probability += product / 8
        assert float(ours[i]) == pytest.approx(-math.log(probability), rel=1e-12)


def test_floor_nll_leaves_entries_without_a_likelihood_term_alone():
    nll = torch.tensor([[-3.0, 0.0]], dtype=torch.float64)
    floor = torch.tensor([1.0, 1.0], dtype=torch.float64)
    out = maths.floor_nll(nll, floor, torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert out.tolist() == [[1.0, 0.0]]
    assert maths.floor_nll(nll, floor).tolist() == [[1.0, 1.0]]
