"""The importance-weighted score and the mixture prior of the VAE against brute force, and
what they buy on data with several normal modes."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp
from sklearn.metrics import roc_auc_score

from latentwatch import VAEDetector, load, maths
from latentwatch.data.codec import fit_codec
from latentwatch.data.heads import TableHeads
from latentwatch.models import VAE, VAEConfig
from latentwatch.models.mixture_prior import MixturePrior
from latentwatch.models.vae import IW


def _rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.lognormal(size=n),
                          "shop": rng.choice(["x", "y", "z"], size=n)})
    frame.loc[::9, "a"] = np.nan
    codec = fit_codec(frame)
    return codec, TableHeads(codec), torch.from_numpy(codec.encode(frame).packed)


def _module(codec, **config):
    torch.manual_seed(0)
    config = VAEConfig(hidden_dims=[16, 8], latent_dim=3, **config)
    module = VAE(config, codec.shape).double().eval()
    if module.prior is not None:
        with torch.no_grad():  # move the prior away from its start so the test means something
            module.prior.means.mul_(1.5).add_(0.3)
            module.prior.raw_logvars.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
            module.prior.logits.copy_(torch.linspace(-1, 1, config.prior_components))
    return module


def _prior_log_density(module, z):
    """``log p(z)`` by scipy, component by component."""
    if module.prior is None:
        return stats.norm.logpdf(z).sum()
    prior = module.prior
    means, sd = prior.means.detach().numpy(), np.exp(0.5 * prior.logvars().detach().numpy())
    log_w = torch.log_softmax(prior.logits, 0).detach().numpy()
    return logsumexp([log_w[c] + stats.norm.logpdf(z, means[c], sd[c]).sum()
                      for c in range(len(log_w))])


def _brute_force_iw(module, heads, row, noise):
    mu, logvar = module.posterior(heads.inputs(row))
    sd = torch.exp(0.5 * logvar)[0].detach().numpy()
    values = []
    for eps in noise:
        z = mu + torch.exp(0.5 * logvar) * eps
        mean, out_logvar, logits = module.decode(z)
        log_px = -heads.nll(row, mean, out_logvar, logits)[0].sum().item()
        zn = z[0].detach().numpy()
        log_q = stats.norm.logpdf(zn, mu[0].detach().numpy(), sd).sum()
        values.append(log_px + _prior_log_density(module, zn) - log_q)
    return -(logsumexp(values) - math.log(len(values)))


@pytest.mark.parametrize("components", [0, 3])
@torch.no_grad()
def test_the_importance_weighted_score_equals_brute_force(components):
    codec, heads, rows = _rows()
    module = _module(codec, n_samples=6, prior_components=components)
    noise = torch.randn(6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    scores, parts = module.scores(heads, rows, IW, noise)
    for i in (0, 9, 31):
        assert float(scores[i]) == pytest.approx(_brute_force_iw(module, heads, rows[i:i + 1],
                                                                 noise), rel=1e-10)
    torch.testing.assert_close(parts.sum(dim=1), scores, rtol=1e-12, atol=1e-10)


@torch.no_grad()
def test_with_one_sample_the_score_is_that_samples_negative_elbo_term():
    codec, heads, rows = _rows()
    module = _module(codec, n_samples=1)
    noise = torch.randn(1, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    scores, _ = module.scores(heads, rows, IW, noise)
    mu, logvar = module.posterior(heads.inputs(rows))
    z = mu + torch.exp(0.5 * logvar) * noise[0]
    mean, out_logvar, logits = module.decode(z)
    nll = heads.nll(rows, mean, out_logvar, logits).sum(dim=1)
    log_q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(dim=1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(dim=1)
    torch.testing.assert_close(scores, nll + log_q - log_p, rtol=1e-12, atol=1e-10)


def test_the_latent_part_and_disagreement_sum_to_minus_log_mean_exp():
    gen = torch.Generator().manual_seed(0)
    nll = torch.rand(7, 5, 4, generator=gen, dtype=torch.float64) * 3
    cost = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    per_feature, latent = maths.importance_weighted_contributions(nll, cost)
    a = (-nll.sum(-1) - cost).numpy()
    expected = -(logsumexp(a, axis=0) - math.log(7))
    np.testing.assert_allclose((per_feature.sum(-1) + latent).numpy(), expected, rtol=1e-12)
    w = np.exp(a - logsumexp(a, axis=0))
    np.testing.assert_allclose(per_feature.numpy(), np.einsum("ln,lnj->nj", w, nll.numpy()),
                               rtol=1e-12)


@torch.no_grad()
def test_the_mixture_prior_density_is_the_mixture_of_its_components():
    prior = MixturePrior(4, 2).double()
    prior.logits.copy_(torch.tensor([0.0, 1.0, -1.0, 0.5]))
    z = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = prior.log_density(z)
    assert got.shape == (3, 5)
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=prior.logits),
        torch.distributions.Independent(torch.distributions.Normal(
            prior.means, torch.exp(0.5 * prior.logvars())), 1))
    torch.testing.assert_close(got, mixture.log_prob(z), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(prior.logvars(), torch.zeros(4, 2, dtype=torch.float64),
                               atol=1e-6, rtol=0)


def test_the_mixture_prior_is_trained_with_the_rest():
    codec, heads, rows = _rows()
    module = _module(codec, prior_components=3)
    module.train()
    loss = module.loss(heads, rows, torch.Generator().manual_seed(0), epoch=0)
    assert loss.shape == (len(rows),) and torch.isfinite(loss).all()
    loss.mean().backward()
    for parameter in module.prior.parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def _modes(seed, n, d=8, n_modes=4):
    """Normal rows around ``n_modes`` far-apart centres; anomalies halfway between two."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(n_modes, d)) * 3
    normal = centres[rng.integers(n_modes, size=n)] + 0.5 * rng.normal(size=(n, d))
    a, b = rng.integers(n_modes, size=40), rng.integers(n_modes, size=40)
    b = np.where(a == b, (b + 1) % n_modes, b)
    return normal, (centres[a] + centres[b]) / 2 + 0.5 * rng.normal(size=(40, d))


def test_a_mixture_prior_finds_anomalies_between_modes_that_a_normal_prior_misses(tmp_path):
    normal, _ = _modes(0, 2000)
    test_normal, anomalies = _modes(1, 300)
    X = np.concatenate([test_normal, anomalies])
    y = np.r_[np.zeros(len(test_normal)), np.ones(len(anomalies))]
    auc = {}
    for components in (0, 4):
        model = VAEDetector(prior_components=components, score_method=IW, max_epochs=30,
                            random_state=0).fit(normal)
        auc[components] = roc_auc_score(y, model.anomaly_score(X))
    assert auc[4] > 0.9 and auc[4] > auc[0] + 0.15, auc
    again = load(model.save(tmp_path / "mog.lwm"))
    assert again.prior_components == 4
    np.testing.assert_array_equal(again.anomaly_score(X), model.anomaly_score(X))
    np.testing.assert_array_equal(again.feature_scores(X), model.feature_scores(X))
