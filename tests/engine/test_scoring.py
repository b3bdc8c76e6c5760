"""Bounded-memory float32 scoring: a row's numbers do not depend, to the last bit, on the
batch it is in, the other rows or their order; every entry point agrees with the model."""

import numpy as np
import pandas as pd
import pytest
import torch

from latentwatch.data.codec import fit_codec
from latentwatch.data.heads import TableHeads
from latentwatch.engine import scoring
from latentwatch.models import MODELS, build
from latentwatch.models.vae import RP, median_of_active

# float32 scores against a float64 computation of the same network
FLOAT32 = {"rtol": 1e-5, "atol": 1e-6}


def table(n=150, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "amount": rng.lognormal(2, 1, size=n),
        "shop": rng.choice(["a", "b", "c", "d"], size=n),
        "online": rng.random(n) < 0.4,
        "age": np.where(rng.random(n) < 0.2, np.nan, rng.integers(18, 90, size=n)),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**5, n), "min"),
    })
    frame.loc[rng.random(n) < 0.2, "shop"] = None
    return frame


def matrix(n=150, seed=1):
    """A narrow numeric matrix with a gap: an input width (5) where a plain matrix product
    gives a row different last bits at different positions in the batch."""
    X = np.random.default_rng(seed).normal(size=(n, 4))
    X[::9, 2] = np.nan
    return pd.DataFrame(X, columns=["a", "b", "c", "d"])


@pytest.fixture(scope="module", params=["table-ae", "table-vae", "matrix-ae", "matrix-vae"])
def setup(request):
    data, name = request.param.split("-")
    frame = table() if data == "table" else matrix()
    codec = fit_codec(frame)
    torch.manual_seed(0)
    module = build(name, MODELS[name].config(hidden_dims=[32, 16], latent_dim=3), codec.shape)
    module.eval()
    return module, TableHeads(codec), codec.encode(frame).packed


def every_score(module, heads, rows, seed=5):
    out = dict(scoring.all_scores(module, heads, rows, seed))
    for method in module.score_methods:
        scores, parts = scoring.score(module, heads, rows, method, seed)
        out[f"{method}/score"], out[f"{method}/parts"] = scores, parts
    mean, var = scoring.posterior(module, heads, rows)
    values, prob = scoring.expectations(module, heads, rows)
    out.update(mean=mean, var=var, values=values, prob=prob)
    return out


def assert_bitwise_equal(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key, strict=True)


@pytest.fixture(params=["float64", "float32"])
def dtype(request, monkeypatch):
    """Scores computed in each type (``engine.scoring.SCORING_DTYPE``)."""
    monkeypatch.setattr(scoring, "SCORING_DTYPE", getattr(torch, request.param))
    return request.param


def test_scores_do_not_depend_on_the_batch_size_bit_for_bit(setup, dtype, monkeypatch):
    module, heads, rows = setup
    whole = every_score(module, heads, rows)
    assert scoring.batch_rows(module, rows.shape[1], 16) >= len(rows), "one batch by default"
    for elements in (1, 64 * 16 * 32, 100 * 16 * 32):
        monkeypatch.setattr(scoring, "SCORING_ELEMENTS", elements)
        assert scoring.batch_rows(module, rows.shape[1], 16) < len(rows)
        assert_bitwise_equal(every_score(module, heads, rows), whole)


def test_scores_do_not_depend_on_the_row_order_or_the_other_rows_bit_for_bit(setup, dtype):
    module, heads, rows = setup
    whole = every_score(module, heads, rows)
    order = np.random.default_rng(0).permutation(len(rows))
    shuffled = every_score(module, heads, rows[order])
    assert_bitwise_equal(shuffled, {k: v[order] for k, v in whole.items()})
    for start, stop in ((0, 1), (7, 8), (149, 150), (3, 10), (5, 70), (1, 150)):
        part = every_score(module, heads, rows[start:stop])
        assert_bitwise_equal(part, {k: v[start:stop] for k, v in whole.items()})
    layouts = (np.asfortranarray(rows), np.repeat(rows, 2, axis=1)[:, ::2])
    for layout in layouts:
        assert_bitwise_equal(every_score(module, heads, layout), whole)


def test_without_row_padding_a_row_alone_is_within_the_stated_float32_bound(setup,
                                                                            monkeypatch):
    """The guarantee where the kernels are other (another BLAS, a GPU): no padding, a row
    scored alone is within 1e-5 relative (measured: about 3e-7) of its score in a batch."""
    module, heads, rows = setup
    monkeypatch.setattr(scoring, "ROW_ALIGN", 1)
    assert torch.float32 == scoring.SCORING_DTYPE
    whole = every_score(module, heads, rows)
    for start in (0, 7, 149):
        alone = every_score(module, heads, rows[start:start + 1])
        for key, value in alone.items():
            np.testing.assert_allclose(value, whole[key][start:start + 1], rtol=1e-5,
                                       atol=1e-5, err_msg=key)


def test_the_scoring_copy_is_reused_until_the_weights_change_and_pads_with_zeros(setup):
    module, heads, rows = setup
    net = scoring.scoring_copy(module)
    assert scoring.scoring_copy(module) is net
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    aligned = [m for m in net.modules() if isinstance(m, scoring.AlignedLinear)]
    assert len(aligned) == len(linears) and not any(
        isinstance(m, torch.nn.Linear) for m in net.modules())
    x = torch.randn(9, linears[0].in_features, dtype=scoring.SCORING_DTYPE)
    plain = torch.nn.functional.linear(x, linears[0].weight.to(x.dtype),
                                       linears[0].bias.to(x.dtype))
    torch.testing.assert_close(aligned[0](x), plain, rtol=1e-6, atol=1e-6)
    assert all(m.weight.shape[1] % scoring.ALIGN == 0 for m in aligned)
    before = scoring.score(module, heads, rows, module.score_methods[0], 5)[0]
    with torch.no_grad():
        linears[-1].bias.add_(1.0)
    try:
        assert scoring.scoring_copy(module) is not net
        after = scoring.score(module, heads, rows, module.score_methods[0], 5)[0]
        assert not np.array_equal(before, after)
    finally:
        with torch.no_grad():
            linears[-1].bias.sub_(1.0)


def test_all_scores_equal_each_method_and_the_parts_sum_to_them(setup):
    module, heads, rows = setup
    out = every_score(module, heads, rows)
    for method in module.score_methods:
        np.testing.assert_array_equal(out[method], out[f"{method}/score"], strict=True)
        # summed in float32 by the model, here in float64: equal up to float32 rounding
        np.testing.assert_allclose(out[f"{method}/parts"].sum(axis=1), out[method],
                                   rtol=1e-6, atol=1e-5)
        assert out[f"{method}/parts"].shape == (len(rows), heads.n_blocks)
        assert out[method].dtype == np.float64 and np.isfinite(out[method]).all()


def test_scores_are_reproducible_and_the_noise_comes_from_the_seed(setup):
    module, heads, rows = setup
    first = scoring.all_scores(module, heads, rows, seed=5)
    assert_bitwise_equal(scoring.all_scores(module, heads, rows, seed=5), first)
    other = scoring.all_scores(module, heads, rows, seed=6)
    noise = scoring.score_noise(module, 5, module.score_methods[0])
    assert noise.shape == (module.n_score_samples(module.score_methods[0]), 3)
    assert torch.equal(noise, scoring.score_noise(module, 5, module.score_methods[0]))
    if module.variational:
        assert not np.array_equal(other[RP], first[RP])
        assert not torch.equal(noise, scoring.score_noise(module, 6, RP))
    np.testing.assert_array_equal(other["reconstruction_error"], first["reconstruction_error"])


def test_scoring_leaves_the_model_as_it_was(setup):
    module, heads, rows = setup
    before = {k: v.clone() for k, v in module.state_dict().items()}
    scoring.all_scores(module, heads, rows, seed=1)
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert next(module.parameters()).dtype == torch.float32


def test_posterior_and_expectations_follow_the_model(setup):
    module, heads, rows = setup
    mean, var = scoring.posterior(module, heads, rows)
    assert mean.shape == var.shape == (len(rows), 3)
    assert (var == 0).all() if not module.variational else (var > 0).all()
    net = module.double()
    try:
        with torch.no_grad():
            x = torch.from_numpy(rows)
            expected_mean, expected_var = net.latent_moments(heads.inputs(x))
            out, _, logits = net.decode(expected_mean)
            values = heads.expected(out, logits)
            prob = heads.observed_probability(x, logits)
    finally:
        module.float()
    np.testing.assert_allclose(mean, expected_mean.numpy(), **FLOAT32)
    np.testing.assert_allclose(var, expected_var.numpy(), **FLOAT32)
    got_values, got_prob = scoring.expectations(module, heads, rows)
    np.testing.assert_allclose(got_values, values.numpy(), **FLOAT32)
    np.testing.assert_allclose(got_prob, prob.numpy(), **FLOAT32)


def test_decoding_latent_points(setup):
    module, heads, _ = setup
    z = np.random.default_rng(1).normal(size=(40, 3))
    values, missing = scoring.decode_latent(module, heads, z, sample=False)
    assert values.shape == missing.shape == (40, heads.n_blocks) and not missing.any()
    head, _ = scoring.decode_latent(module, heads, z[:3], sample=False)
    np.testing.assert_allclose(head, values[:3], **FLOAT32)
    drawn, gaps = scoring.decode_latent(module, heads, z, sample=True,
                                        gen=torch.Generator().manual_seed(0), with_missing=True)
    again, again_gaps = scoring.decode_latent(module, heads, z, sample=True,
                                              gen=torch.Generator().manual_seed(0),
                                              with_missing=True)
    np.testing.assert_array_equal(drawn, again)
    np.testing.assert_array_equal(gaps, again_gaps)
    modelled = np.zeros(heads.n_blocks, dtype=bool)
    modelled[heads.codec.with_missing] = True
    assert not gaps[:, ~modelled].any()
    empty, _ = scoring.decode_latent(module, heads, z[:0], sample=False)
    assert empty.shape == (0, heads.n_blocks)


def test_no_rows_give_empty_results(setup):
    module, heads, rows = setup
    scores, parts = scoring.score(module, heads, rows[:0], module.score_methods[0], 0)
    assert scores.shape == (0,) and parts.shape == (0, heads.n_blocks)
    assert all(v.shape == (0,) for v in scoring.all_scores(module, heads, rows[:0], 0).values())
    mean, var = scoring.posterior(module, heads, rows[:0])
    assert mean.shape == var.shape == (0, 3)


def test_the_capped_scores_state_is_the_median_of_held_out_likelihoods():
    frame = table()
    codec = fit_codec(frame)
    heads = TableHeads(codec)
    rows = codec.encode(frame).packed
    torch.manual_seed(0)
    module = build("vae", MODELS["vae"].config(hidden_dims=[16], latent_dim=2), codec.shape)
    scoring.fit_score_state(module, heads, rows, seed=3)
    net = scoring.scoring_copy(module)
    noise = scoring.score_noise(module, 3, RP)
    with torch.no_grad():
        expected, active = net.score_state_batch(
            heads, torch.from_numpy(rows).to(scoring.SCORING_DTYPE),
            noise.to(scoring.SCORING_DTYPE))
    np.testing.assert_allclose(module.nll_caps.numpy(), median_of_active(expected, active),
                               rtol=1e-6)
    caps = module.nll_caps.clone()
    scoring.fit_score_state(module, heads, rows, seed=3, max_rows=40)
    subsample = module.nll_caps.clone()
    scoring.fit_score_state(module, heads, rows, seed=3, max_rows=40)
    assert torch.equal(module.nll_caps, subsample) and not torch.equal(subsample, caps)
    ae = build("ae", MODELS["ae"].config(hidden_dims=[16], latent_dim=2), codec.shape)
    scoring.fit_score_state(ae, heads, rows, seed=3)  # nothing to learn: no error
