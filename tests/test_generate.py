"""The generative methods of the fitted detectors (latentwatch.generate): sample,
interpolate, encode, attribute vectors, denoise; determinism, schema, persistence."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

import latentwatch
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.engine.scoring import decode_latent
from latentwatch.generate import step_sizes

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _scales(model) -> np.ndarray:
    return np.array([b.scale for b in model.codec_.blocks])


@pytest.fixture(scope="module")
def models(planted):
    X_train, _, _ = planted
    return {
        "vae": VAEDetector(max_epochs=30, random_state=0).fit(X_train),
        "ae": AutoEncoderDetector(max_epochs=30, random_state=0).fit(X_train),
    }


@pytest.fixture(scope="module")
def table():
    """A DataFrame with two float columns, an integer count and a 0/1 flag."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    return pd.DataFrame({
        "amount": 50 + 10 * x + rng.normal(size=400),
        "ratio": np.tanh(x) + 0.1 * rng.normal(size=400),
        "count": rng.poisson(3 + np.clip(x, -2, 2)).astype(np.int64),
        "flag": (x > 0).astype(np.int64),
    })


@pytest.fixture(scope="module")
def table_model(table):
    return VAEDetector(max_epochs=10, random_state=0).fit(table)


# -- sample ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["vae", "ae"])
def test_sample_is_deterministic_per_random_state(models, name):
    model = models[name]
    first = model.sample(20, random_state=1)
    assert first.shape == (20, model.n_features_in_)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, model.sample(20, random_state=1))
    assert not np.array_equal(first, model.sample(20, random_state=2))
    assert model.sample(0, random_state=1).shape == (0, model.n_features_in_)
    # a Generator continues its stream; a RandomState seeds one
    np.testing.assert_array_equal(model.sample(20, random_state=np.random.default_rng(1)),
                                  first)
    assert model.sample(3, random_state=np.random.RandomState(0)).shape == (3, 12)
    with pytest.raises(ValueError, match="random_state"):
        model.sample(3, random_state="seed")


def test_sample_leaves_global_random_state_alone(models):
    numpy_state = np.random.get_state()  # noqa: NPY002 - the global state is the subject
    torch_state = torch.random.get_rng_state()
    for source in ("prior", "aggregate_posterior"):
        models["vae"].sample(5, random_state=None, source=source, decode="sample")
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state, after, strict=True))
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_decoder_samples_have_the_decoder_noise(models):
    """decode='sample' draws mean + N(0, sigma^2) with the decoder's sigma, then the codec
    clips to the training range."""
    model = models["vae"]
    z = np.random.default_rng(4).standard_normal((3000, model.latent_dim_))
    mean, _ = decode_latent(model.module_, model.heads_, z, False)
    drawn, missing = decode_latent(model.module_, model.heads_, z, True,
                                   torch.Generator().manual_seed(4))
    assert not missing.any()
    net = copy.deepcopy(model.module_).double()
    with torch.no_grad():
        sigma = np.exp(0.5 * net.decode(torch.from_numpy(z))[1].numpy())
    standardized = (drawn - mean) / sigma
    assert abs(standardized.mean()) < 0.02
    assert standardized.std() == pytest.approx(1.0, abs=0.02)
    # the codec turns them into rows in the original units, inside the training range
    blocks = model.codec_.blocks
    units = drawn * _scales(model) + np.array([b.mean for b in blocks])
    low, high = np.array([b.low for b in blocks]), np.array([b.high for b in blocks])
    assert ((units < low) | (units > high)).any()
    np.testing.assert_allclose(model.codec_.decode(drawn).to_numpy(),
                               np.clip(units, low, high), rtol=1e-12)
    rows = model.decode_rows(z, sample=True, random_state=4)
    assert ((rows >= low) & (rows <= high)).all()
    assert not np.array_equal(rows, model.decode_rows(z))


def test_samples_look_like_the_training_data(models, planted):
    X_train, _, _ = planted
    model = models["vae"]
    for source in ("prior", "aggregate_posterior"):
        generated = model.sample(2000, random_state=0, source=source, decode="sample")
        np.testing.assert_allclose(generated.mean(axis=0), X_train.mean(axis=0), atol=0.15)
        np.testing.assert_allclose(generated.std(axis=0), X_train.std(axis=0), rtol=0.3)
        # generated rows are mostly normal to the model itself, like training rows
        assert np.mean(model.predict(generated) == 1) > 0.85


def test_aggregate_posterior_of_given_rows(models, planted):
    X_train, _, _ = planted
    ae = models["ae"]
    # an AE's posterior is a point: sampling the aggregate posterior of X resamples the
    # decoded codes of X's rows
    drawn = ae.sample(30, random_state=0, X=X_train[:5])
    denoised = ae.reconstruct(X_train[:5])
    assert all(np.any(np.all(np.isclose(row, denoised), axis=1)) for row in drawn)
    # the VAE, asked for more rows like a few given ones, stays near them
    vae = models["vae"]
    near = vae.sample(500, random_state=0, X=X_train[:3])  # X implies the aggregate posterior
    np.testing.assert_array_equal(
        near, vae.sample(500, random_state=0, source="aggregate_posterior", X=X_train[:3]))
    anchors = vae.encode(X_train[:3])

    def distance_to_anchors(rows):
        return np.linalg.norm(vae.encode(rows)[:, None] - anchors, axis=2).min(axis=1).mean()

    assert distance_to_anchors(near) < 0.5 * distance_to_anchors(X_train[3:])


def test_the_aggregate_posterior_summary_follows_the_codes(models, planted):
    X_train, _, _ = planted
    for model in models.values():
        codes = model.encode(X_train)
        prior = model.prior_
        assert prior.means.shape[1] == model.latent_dim_
        np.testing.assert_allclose(prior.weights.sum(), 1.0)
        draws = prior.sample(4000, np.random.default_rng(0))
        np.testing.assert_allclose(draws.mean(axis=0), codes.mean(axis=0),
                                   atol=0.1 * codes.std(axis=0).max())


def test_autoencoder_has_no_prior_and_no_decoder_noise(models):
    ae = models["ae"]
    with pytest.raises(ValueError, match="no prior"):
        ae.sample(3, random_state=0, source="prior")
    with pytest.raises(ValueError, match="decode='sample'"):
        ae.sample(3, random_state=0, decode="sample")


def test_sample_arguments_are_checked(models):
    vae = models["vae"]
    for kwargs, match in [({"n": -1}, "non-negative"), ({"n": 2.5}, "non-negative"),
                          ({"n": 2, "source": "data"}, "source"),
                          ({"n": 2, "decode": "mode"}, "decode"),
                          ({"n": 2, "source": "prior", "X": np.zeros((2, 12))}, "X is only")]:
        with pytest.raises(ValueError, match=match):
            vae.sample(random_state=0, **kwargs)
    with pytest.raises(NotFittedError):
        VAEDetector().sample(3)


# -- schema ------------------------------------------------------------------------------
def test_rows_come_back_in_the_training_schema(table, table_model):
    assert [b.integer for b in table_model.codec_.blocks] == [False, False, True, True]
    for rows in (table_model.sample(50, random_state=0),
                 table_model.sample(50, random_state=0, source="aggregate_posterior",
                                    decode="sample"),
                 table_model.denoise(table.iloc[:10]),
                 table_model.interpolate(table.iloc[[0]], table.iloc[[1]], steps=4),
                 table_model.apply_attribute(table.iloc[:5], np.ones(table_model.latent_dim_))):
        assert isinstance(rows, pd.DataFrame)
        assert list(rows.columns) == list(table.columns)
        assert pd.api.types.is_integer_dtype(rows["count"].dtype)
        assert pd.api.types.is_integer_dtype(rows["flag"].dtype)
        assert rows["amount"].dtype == np.float64
        assert (rows.min() >= table.min()).all() and (rows.max() <= table.max()).all()
        assert set(rows["flag"]) <= {0, 1}


def test_arrays_in_arrays_out_with_integer_columns_rounded(table):
    X = table.to_numpy(dtype=np.float64)
    model = AutoEncoderDetector(max_epochs=5, random_state=0).fit(X)
    rows = model.sample(20, random_state=0)
    assert isinstance(rows, np.ndarray) and rows.dtype == np.float64
    np.testing.assert_array_equal(rows[:, 2:], np.round(rows[:, 2:]))
    assert not np.array_equal(rows[:, :2], np.round(rows[:, :2]))


def test_generative_state_survives_save_and_load(table_model, table, tmp_path):
    loaded = latentwatch.load(table_model.save(tmp_path / "m.lwm"))
    assert loaded.codec_ == table_model.codec_
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(loaded.latent_mixture_, name),
                                      getattr(table_model.latent_mixture_, name))
    for source in ("prior", "aggregate_posterior"):
        pd.testing.assert_frame_equal(
            loaded.sample(30, random_state=2, source=source, decode="sample"),
            table_model.sample(30, random_state=2, source=source, decode="sample"))
    pd.testing.assert_frame_equal(loaded.interpolate(table.iloc[[0]], table.iloc[[3]]),
                                  table_model.interpolate(table.iloc[[0]], table.iloc[[3]]))


# -- interpolate, encode, attributes, denoise --------------------------------------------
@pytest.mark.parametrize("path", ["linear", "spherical"])
def test_interpolation_runs_between_the_two_decoded_rows(models, planted, path):
    X_train, _, _ = planted
    model = models["vae"]
    rows, z = model.interpolate(X_train[0], X_train[1], steps=6, path=path, return_latent=True)
    assert rows.shape == (6, X_train.shape[1]) and z.shape == (6, model.latent_dim_)
    np.testing.assert_allclose(z[[0, -1]], model.encode(X_train[:2]), atol=1e-12)
    # float32 decoding on batches of other sizes: equal up to its rounding
    np.testing.assert_allclose(rows[[0, -1]], model.reconstruct(X_train[:2]), rtol=1e-5,
                               atol=1e-5)
    # a (1, d) array is the same row as a (d,) one
    np.testing.assert_array_equal(
        model.interpolate(X_train[:1], X_train[1:2], steps=6, path=path), rows)
    with pytest.raises(ValueError, match="one row"):
        model.interpolate(X_train[:2], X_train[2], steps=3)
    with pytest.raises(ValueError, match="steps"):
        model.interpolate(X_train[0], X_train[1], steps=1)
    with pytest.raises(ValueError, match="path"):
        model.interpolate(X_train[0], X_train[1], path="straight")


def test_interpolation_end_points_as_series_or_one_row_frames(table, table_model):
    expected = table_model.interpolate(table.iloc[[0]], table.iloc[[5]], steps=3)
    pd.testing.assert_frame_equal(table_model.interpolate(table.iloc[0], table.iloc[5],
                                                          steps=3), expected)


@pytest.mark.parametrize("name", ["vae", "ae"])
def test_interpolations_are_continuous(models, planted, name):
    """Consecutive decoded points move by small, even steps: no jumps."""
    _, X_test, y_test = planted
    normal = X_test[y_test == 0]
    model = models[name]
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(20):
        i, j = rng.choice(len(normal), size=2, replace=False)
        steps = step_sizes(model.interpolate(normal[i], normal[j], steps=16) / _scales(model))
        ratios.append(steps.max() / steps.mean())
    assert np.median(ratios) < 1.6, np.median(ratios)
    assert np.max(ratios) < 4.0, np.max(ratios)


@pytest.mark.parametrize("name", ["vae", "ae"])
def test_encode_gives_means_and_variances(models, planted, name):
    X_train, _, _ = planted
    model = models[name]
    mean, var = model.encode(X_train[:50], return_variance=True)
    np.testing.assert_array_equal(mean, model.transform(X_train[:50]))
    np.testing.assert_array_equal(mean, model.encode(X_train[:50]))
    assert var.shape == mean.shape
    if name == "vae":
        assert (var > 0).all() and (var < 1.5).all()
    else:
        np.testing.assert_array_equal(var, 0.0)


def test_attribute_vector_moves_rows_towards_the_attribute(models, planted):
    """The "high feature 0" direction, added to other rows, raises their feature 0."""
    X_train, _, _ = planted
    model = models["vae"]
    high = X_train[:, 0] > np.quantile(X_train[:, 0], 0.8)
    low = X_train[:, 0] < np.quantile(X_train[:, 0], 0.2)
    vector = model.attribute_vector(X_train[high], X_train[low])
    assert vector.shape == (model.latent_dim_,)
    middle = X_train[~high & ~low][:200]
    base = model.reconstruct(middle)
    np.testing.assert_allclose(model.apply_attribute(middle, vector, 0.0), base)
    up = model.apply_attribute(middle, vector, 1.0)[:, 0]
    down = model.apply_attribute(middle, vector, -1.0)[:, 0]
    assert np.mean(up > base[:, 0]) > 0.9
    assert np.mean(down < base[:, 0]) > 0.9
    assert np.mean(up - base[:, 0]) > 0.5 * (X_train[high, 0].mean() - X_train[low, 0].mean())
    with pytest.raises(ValueError, match="latent_dim_"):
        model.apply_attribute(middle, np.ones(model.latent_dim_ + 1))
    with pytest.raises(ValueError, match="0 sample"):
        model.attribute_vector(X_train[:0], X_train[:3])


def test_denoise_pulls_noisy_rows_back_to_the_manifold(models, planted):
    X_train, _, _ = planted
    model = models["vae"]
    clean = X_train[:300]
    noisy = clean + np.random.default_rng(0).normal(0, 0.5, size=clean.shape)
    denoised = model.denoise(noisy, tolerance=None)
    np.testing.assert_array_equal(denoised, model.reconstruct(noisy))
    # the rows lie near a 3-D manifold in 12-D: most of the noise is off it
    assert np.mean((denoised - clean) ** 2) < 0.65 * np.mean((noisy - clean) ** 2)
