"""Latent densities: the prior, the empirical aggregate posterior and its mixture summary."""

import numpy as np
import pytest

from latentwatch.models.priors import (
    MAX_MIXTURE_COMPONENTS,
    LatentMixture,
    fit_latent_mixture,
    sample_posterior_mixture,
    sample_prior,
)


def test_prior_draws_are_standard_normal_and_reproducible():
    z = sample_prior(50_000, 3, np.random.default_rng(0))
    assert z.shape == (50_000, 3)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=0.02)
    np.testing.assert_allclose(np.cov(z.T), np.eye(3), atol=0.02)
    np.testing.assert_array_equal(sample_prior(4, 3, np.random.default_rng(1)),
                                  sample_prior(4, 3, np.random.default_rng(1)))


def test_posterior_mixture_has_the_mixture_moments():
    rng = np.random.default_rng(0)
    mu = np.array([[-2.0, 0.0], [2.0, 1.0]])
    var = np.array([[0.25, 1.0], [0.25, 4.0]])
    z = sample_posterior_mixture(mu, var, 200_000, rng)
    np.testing.assert_allclose(z.mean(axis=0), mu.mean(axis=0), atol=0.02)
    # law of total variance: mean of variances + variance of means
    np.testing.assert_allclose(z.var(axis=0), var.mean(axis=0) + mu.var(axis=0), rtol=0.02)
    # zero variance (an autoencoder) resamples the codes themselves
    codes = sample_posterior_mixture(mu, np.zeros_like(mu), 50, rng)
    assert all(any(np.array_equal(row, m) for m in mu) for row in codes)


def test_latent_mixture_samples_have_its_moments():
    mixture = LatentMixture(np.array([0.25, 0.75]), np.array([[-4.0, 0.0], [4.0, 2.0]]),
                            np.array([np.eye(2), [[1.0, 0.8], [0.8, 1.0]]]))
    z = mixture.sample(100_000, np.random.default_rng(0))
    left = z[:, 0] < 0
    assert left.mean() == pytest.approx(0.25, abs=0.01)
    np.testing.assert_allclose(np.cov(z[~left].T), [[1.0, 0.8], [0.8, 1.0]], atol=0.03)
    np.testing.assert_allclose(z[~left].mean(axis=0), [4.0, 2.0], atol=0.02)


def test_fitted_mixture_finds_clusters_and_is_deterministic():
    rng = np.random.default_rng(0)
    codes = np.r_[rng.normal(-5, 0.5, size=(300, 2)), rng.normal(5, 0.5, size=(300, 2))]
    first = fit_latent_mixture(codes, seed=3)
    again = fit_latent_mixture(codes, seed=3)
    np.testing.assert_array_equal(first.means, again.means)
    assert first.n_components == MAX_MIXTURE_COMPONENTS  # one per 50 rows, at most 10
    z = first.sample(10_000, np.random.default_rng(1))
    # the gap between the clusters stays empty, unlike a single Gaussian's
    assert np.mean(np.abs(z[:, 0]) < 2.5) < 0.01
    np.testing.assert_allclose(np.mean(z[:, 0] > 0), 0.5, atol=0.03)


def test_fitted_mixture_on_tiny_or_degenerate_input():
    one = fit_latent_mixture(np.array([[1.0, 2.0]]), seed=0)
    assert one.n_components == 1
    np.testing.assert_array_equal(one.means, [[1.0, 2.0]])
    same = fit_latent_mixture(np.ones((40, 3)), seed=0)
    assert np.isfinite(same.sample(5, np.random.default_rng(0))).all()


def test_the_aggregate_posterior_of_no_rows_is_refused():
    with pytest.raises(ValueError, match="zero rows"):
        sample_posterior_mixture(np.empty((0, 2)), np.empty((0, 2)), 3,
                                 np.random.default_rng(0))


def test_mixture_components_are_capped_and_draws_subsampled():
    codes = np.random.default_rng(2).normal(size=(3000, 2))
    mixture = fit_latent_mixture(codes, seed=0)
    assert mixture.n_components == MAX_MIXTURE_COMPONENTS
    assert mixture.weights.sum() == pytest.approx(1.0)
    assert mixture.covariances.shape == (MAX_MIXTURE_COMPONENTS, 2, 2)
    assert fit_latent_mixture(codes[:120], seed=0).n_components == 2


def test_a_singular_covariance_still_samples():
    flat = LatentMixture(np.ones(1), np.zeros((1, 2)), np.zeros((1, 2, 2)))
    z = flat.sample(10, np.random.default_rng(0))
    assert np.isfinite(z).all() and np.abs(z).max() < 1e-3
