"""The models of :mod:`latentwatch.models`: the registry, shapes, losses and every score
method against brute force, on a mixed table with gaps and on a numeric matrix."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from latentwatch.data.codec import fit_codec
from latentwatch.data.heads import TableHeads
from latentwatch.models import MODELS, VAE, AEConfig, AutoEncoder, VAEConfig, build
from latentwatch.models.layers import default_hidden_dims, default_latent_dim
from latentwatch.models.protocol import Model
from latentwatch.models.vae import CAPPED_RP, RP, SCORE_METHODS, median_of_active


def mixed_table(n=80, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "amount": rng.lognormal(2, 1, size=n),
        "shop": rng.choice(["a", "b", "c"], size=n),
        "online": rng.random(n) < 0.4,
        "age": np.where(rng.random(n) < 0.2, np.nan, rng.integers(18, 90, size=n)),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**5, n), "min"),
    })
    frame.loc[rng.random(n) < 0.2, "shop"] = None
    return frame


def numeric_matrix(n=60, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x0", "x1", "x2", "x3"])
    frame.iloc[::7, 1] = np.nan
    return frame


@pytest.fixture(autouse=True)
def no_grad():
    """Scores are computed without gradients (the loss test turns them back on)."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module", params=["mixed", "numeric"])
def data(request):
    frame = mixed_table() if request.param == "mixed" else numeric_matrix()
    codec = fit_codec(frame)
    return codec, TableHeads(codec), torch.from_numpy(codec.encode(frame).packed)


def built(name, codec, **config):
    torch.manual_seed(0)
    module = build(name, MODELS[name].config(hidden_dims=[16, 8], latent_dim=3, **config),
                   codec.shape)
    return module.double().eval()


def noise_for(module, method, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(module.n_score_samples(method), module.latent_dim, generator=gen,
                       dtype=torch.float64)


# -- the registry and the networks' shapes ----------------------------------------------
def test_the_registry_builds_every_model_with_its_defaults(data):
    codec, _, _ = data
    assert {"ae", "vae"} <= set(MODELS)
    for name, entry in MODELS.items():
        module = build(name, entry.config(), codec.shape)
        assert isinstance(module, entry.module) and module.name == name
        assert isinstance(module, Model)  # the declared protocol
        assert module.score_methods == entry.score_methods
        assert entry.default_score_method in entry.score_methods
        assert set(entry.likelihood_methods) <= set(entry.score_methods)
        assert module.latent_dim == default_latent_dim(codec.shape.n_inputs)
        assert module.hidden_dims == default_hidden_dims(codec.shape.n_inputs)
        assert module.score_methods[0] == ("reconstruction_error" if name == "ae" else RP)
    assert not AutoEncoder.variational and VAE.variational
    assert VAE.score_methods == SCORE_METHODS
    with pytest.raises(ValueError, match="unknown model 'gan'"):
        build("gan", AEConfig(), codec.shape)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_encode_and_decode_have_the_documented_shapes(data, name):
    codec, heads, rows = data
    module = built(name, codec)
    mean, var = module.latent_moments(heads.inputs(rows))
    assert mean.shape == var.shape == (len(rows), 3)
    assert (var == 0).all() if name == "ae" else (var > 0).all()
    out, logvar, logits = module.decode(torch.zeros(5, len(rows), 3, dtype=torch.float64))
    assert out.shape == (5, len(rows), codec.shape.n_outputs)
    assert logits.shape == (5, len(rows), codec.shape.n_logits)
    assert logvar is None if name == "ae" else logvar.shape == out.shape


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_loss_is_finite_per_row_and_trains(data, name):
    codec, heads, rows = data
    module = built(name, codec).float().train()
    with torch.enable_grad():
        loss = module.loss(heads, rows.float(), torch.Generator().manual_seed(0), epoch=0)
        assert loss.shape == (len(rows),) and torch.isfinite(loss).all()
        loss.mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_no_hidden_layer_gives_a_linear_model(data, name):
    codec, heads, rows = data
    module = build(name, MODELS[name].config(hidden_dims=[], latent_dim=2), codec.shape).double()
    assert module.hidden_dims == []
    scores, parts = module.scores(heads, rows, module.score_methods[0],
                                  noise_for(module, module.score_methods[0]))
    assert torch.isfinite(scores).all() and parts.shape == (len(rows), codec.n_blocks)


def test_default_layer_sizes_follow_the_input_width():
    assert [default_hidden_dims(d) for d in (5, 30, 100, 2000)] == [
        [32, 16], [64, 32], [256, 128], [256, 128]]
    assert [default_latent_dim(d) for d in (1, 5, 30, 2000)] == [2, 2, 5, 32]


# -- scores -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_all_scores_equals_each_score_method_bit_for_bit(data, name):
    codec, heads, rows = data
    module = built(name, codec)
    if module.variational:
        module.nll_caps.copy_(torch.linspace(-1.0, 1.0, codec.n_blocks, dtype=torch.float64))
    noise = noise_for(module, module.score_methods[0])
    every = module.all_scores(heads, rows, noise)
    assert list(every) == list(module.score_methods)
    for method in module.score_methods:
        scores, parts = module.scores(heads, rows, method, noise_for(module, method))
        assert torch.equal(every[method], scores), method
        torch.testing.assert_close(parts.sum(dim=1), scores, rtol=1e-12, atol=1e-10)
        assert parts.shape == (len(rows), codec.n_blocks)


def test_the_ae_score_is_the_sum_of_point_errors(data):
    codec, heads, rows = data
    module = built("ae", codec)
    scores, parts = module.scores(heads, rows, "reconstruction_error", noise_for(module, "x"))
    out, _, logits = module.decode(module.latent_moments(heads.inputs(rows))[0])
    torch.testing.assert_close(parts, heads.point_errors(rows, out, logits))
    targets = rows[:, codec.input_width:codec.input_width + codec.n_blocks].numpy()
    observed = rows[:, codec.input_width + codec.n_blocks:].numpy()
    for k, j in enumerate(codec.numeric):
        error = targets[:, j] - out[:, k].detach().numpy()
        expected = 0.5 * (math.log(2 * math.pi) + error**2) * observed[:, j]
        if codec.blocks[j].missing:
            gap = logits[:, codec.missing_logits[list(codec.with_missing).index(j)]]
            expected += torch.nn.functional.softplus(
                torch.where(torch.from_numpy(observed[:, j]) > 0, gap, -gap)).detach().numpy()
        np.testing.assert_allclose(parts[:, j].detach().numpy(), expected, rtol=1e-10)
    torch.testing.assert_close(scores, parts.sum(dim=1))


def brute_force_vae(module, heads, row, noise, caps=None):
    """RP, capped RP and the negative ELBO of one row, sample by sample."""
    mu, logvar = module.posterior(heads.inputs(row))
    log_p, log_capped, nll_sum = [], [], 0.0
    active = heads.active(row)[0].numpy()
    for eps in noise:
        z = mu + torch.exp(0.5 * logvar) * eps
        mean, out_logvar, logits = module.decode(z)
        nll = heads.nll(row, mean, out_logvar, logits)[0].detach().numpy()
        log_p.append(-nll.sum())
        nll_sum += nll.sum() / len(noise)
        if caps is not None:
            log_capped.append(-np.where(active > 0, np.maximum(nll, caps), nll).sum())
    m, v = mu[0].detach().numpy(), np.exp(logvar[0].detach().numpy())
    kl = 0.5 * np.sum(m**2 + v - 1 - np.log(v))
    log_mean = [logsumexp(values) - math.log(len(noise)) for values in (log_p, log_capped or [0])]
    return -log_mean[0], -log_mean[1], nll_sum + kl


def test_the_vae_scores_equal_brute_force(data):
    codec, heads, rows = data
    module = built("vae", codec, n_samples=5)
    caps = np.linspace(-0.5, 1.5, codec.n_blocks)
    module.nll_caps.copy_(torch.from_numpy(caps))
    noise = noise_for(module, RP, seed=3)
    assert noise.shape == (5, 3)
    every = module.all_scores(heads, rows, noise)
    for i in (0, 3, 17):
        rp, capped, elbo = brute_force_vae(module, heads, rows[i:i + 1], noise, caps)
        assert float(every[RP][i]) == pytest.approx(rp, rel=1e-10)
        assert float(every[CAPPED_RP][i]) == pytest.approx(capped, rel=1e-10)
        assert float(every["elbo"][i]) == pytest.approx(elbo, rel=1e-10)
    out, _, logits = module.decode(module.posterior(heads.inputs(rows))[0])
    torch.testing.assert_close(every["reconstruction_error"],
                               heads.point_errors(rows, out, logits).sum(dim=1))


def test_the_vae_numeric_likelihood_is_the_decoders_gaussian():
    frame = numeric_matrix().dropna()
    codec = fit_codec(frame)
    heads = TableHeads(codec)
    rows = torch.from_numpy(codec.encode(frame).packed)
    module = built("vae", codec, n_samples=1)
    noise = torch.zeros(1, 3, dtype=torch.float64)
    nll, _ = module.sample_nll(heads, rows, noise)
    mean, logvar, _ = module.decode(module.posterior(heads.inputs(rows))[0])
    targets = rows[:, codec.input_width:codec.input_width + codec.n_blocks].numpy()
    expected = -stats.norm.logpdf(targets, mean.detach().numpy(),
                                  np.exp(0.5 * logvar.detach().numpy()))
    np.testing.assert_allclose(nll[0].detach().numpy(), expected, rtol=1e-10)
    assert (logvar >= -6).all() and (logvar <= 4).all()


def test_missing_entries_are_left_out_of_the_scores():
    """An entry missing where training had no gaps contributes exactly 0; a row with
    nothing observed scores only on its gaps."""
    frame = mixed_table()
    codec = fit_codec(frame)
    heads = TableHeads(codec)
    rows = frame.head(3).astype({"online": object})
    rows.loc[0, "amount"] = np.nan  # no gaps in training
    rows.loc[1, ["online", "when"]] = None
    rows.loc[2, codec.sources] = None
    packed = torch.from_numpy(codec.encode(rows).packed)
    names = codec.names
    for name in sorted(MODELS):
        module = built(name, codec)
        if module.variational:
            module.nll_caps.copy_(torch.ones(codec.n_blocks, dtype=torch.float64))
        for method in module.score_methods:
            scores, parts = module.scores(heads, packed, method, noise_for(module, method))
            assert torch.isfinite(parts).all() and torch.isfinite(scores).all()
            assert parts[0, names.index("amount")] == 0.0, (name, method)
            for column in ("online", "when.hour", "when.weekday"):
                assert parts[1, names.index(column)] == 0.0, (name, method, column)
            gaps = [names.index("shop"), names.index("age")]
            assert (parts[2, gaps] != 0).all() and torch.count_nonzero(parts[2]) == 2


# -- training objective and score state -------------------------------------------------
def test_the_kl_weight_warms_up_linearly():
    codec = fit_codec(numeric_matrix())
    module = built("vae", codec, beta=2.0, kl_warmup_epochs=4)
    assert [module.kl_weight(e) for e in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert built("vae", codec, beta=0.5).kl_weight(0) == 0.5


def test_the_capped_scores_caps_are_medians_over_active_entries():
    values = np.array([[1.0, 5.0, 0.0], [3.0, -1.0, 0.0], [2.0, 7.0, 0.0]])
    active = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0]], dtype=float)
    np.testing.assert_array_equal(median_of_active(values, active), [2.0, 6.0, -np.inf])
    codec = fit_codec(numeric_matrix())
    module = built("vae", codec)
    assert torch.isinf(module.nll_caps).all(), "no caps before they are fitted"
    module.set_score_state(np.ones((4, 4)) * np.arange(4), np.ones((4, 4)))
    assert module.nll_caps.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert "nll_caps" in module.state_dict()


def test_configs_are_frozen_dataclasses_with_documented_defaults():
    assert VAEConfig() == VAEConfig(hidden_dims=None, latent_dim=None, n_samples=8, beta=1.0,
                                    kl_warmup_epochs=0)
    assert AEConfig() == AEConfig(hidden_dims=None, latent_dim=None)
    with pytest.raises(AttributeError):
        VAEConfig().beta = 2.0  # type: ignore[misc]


def test_the_decoder_options_shape_the_numeric_likelihood():
    """A raised log-variance floor bounds every variance; a per-column variance is the same
    for every row; a Student-t decoder scores with ``maths.student_t_nll``."""
    frame = numeric_matrix().dropna()
    codec = fit_codec(frame)
    heads = TableHeads(codec)
    rows = torch.from_numpy(codec.encode(frame).packed)
    z = built("vae", codec).posterior(heads.inputs(rows))[0]
    floored = built("vae", codec, decoder_logvar_floor=-1.0)
    assert (floored.decode(z)[1] >= -1.0).all()
    column = built("vae", codec, decoder_variance="column")
    logvar = column.decode(z)[1]
    assert column.output_logvar is None
    assert (logvar == logvar[:1]).all() and logvar.shape == (len(rows), 4)
    with pytest.raises(ValueError, match="decoder_variance must be 'row' or 'column'"):
        built("vae", codec, decoder_variance="rows")
    student = built("vae", codec, n_samples=1, decoder_df=3.0)
    noise = torch.zeros(1, 3, dtype=torch.float64)
    nll, _ = student.sample_nll(heads, rows, noise)
    mean, logvar, _ = student.decode(student.posterior(heads.inputs(rows))[0])
    targets = rows[:, codec.input_width:codec.input_width + codec.n_blocks].numpy()
    expected = -stats.t.logpdf(targets, 3.0, mean.detach().numpy(),
                               np.exp(0.5 * logvar.detach().numpy()))
    np.testing.assert_allclose(nll[0].detach().numpy(), expected, rtol=1e-10)
