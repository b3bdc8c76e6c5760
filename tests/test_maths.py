"""The maths of :mod:`latentwatch.maths` checked against brute force and scipy."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from latentwatch import maths

finite = st.floats(-50, 50, allow_nan=False)


@settings(derandomize=True)
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


@settings(derandomize=True, deadline=None, max_examples=50)
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


# -- categorical and Bernoulli terms, and sharing over the active features ---------------
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


@settings(derandomize=True)
@given(x=finite, mean=finite, logvar=st.floats(-8, 8), df=st.floats(1, 50))
def test_student_t_nll_equals_scipy(x, mean, logvar, df):
    ours = maths.student_t_nll(torch.tensor(x, dtype=torch.float64),
                               torch.tensor(mean, dtype=torch.float64),
                               torch.tensor(logvar, dtype=torch.float64), df)
    expected = -stats.t.logpdf(x, df, loc=mean, scale=math.exp(0.5 * logvar))
    assert float(ours) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_student_t_nll_tends_to_the_gaussian_and_grows_slowly_in_the_tail():
    x, mean, logvar = torch.tensor([0.3, 4.0]), torch.zeros(2), torch.zeros(2)
    torch.testing.assert_close(maths.student_t_nll(x, mean, logvar, 1e6),
                               maths.gaussian_nll(x, mean, logvar), rtol=1e-4, atol=1e-4)
    far = torch.tensor([100.0])
    assert maths.student_t_nll(far, torch.zeros(1), torch.zeros(1), 4.0) < 30
    assert maths.gaussian_nll(far, torch.zeros(1), torch.zeros(1)) > 4000
