"""Behaviour of the estimators: detection quality, determinism, score definitions, stability."""

import copy
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from latentwatch import AutoEncoderDetector, DataError, VAEDetector, maths
from latentwatch.engine.scoring import score_noise
from latentwatch.models.layers import default_hidden_dims, default_latent_dim
from latentwatch.models.vae import SCORE_METHODS

# scores are computed in float32 (engine.scoring.SCORING_DTYPE): sums and float64
# references agree up to its rounding
FLOAT32 = {"rtol": 1e-5, "atol": 1e-5}

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def _standardised(model, X):
    """``X`` in the model's standardised units, from the codec's per-column scales."""
    blocks = model.codec_.blocks
    mean = np.array([b.mean for b in blocks])
    scale = np.array([b.scale for b in blocks])
    return (np.asarray(X, dtype=np.float64) - mean) / scale


def _float64(module):
    return copy.deepcopy(module).double().eval()


@pytest.fixture(scope="module")
def fitted(planted):
    X_train, _, _ = planted
    return {
        "ae": _fit(AutoEncoderDetector(random_state=0), X_train),
        "vae": _fit(VAEDetector(random_state=0), X_train),
    }


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_planted_anomalies_are_found(fitted, planted, name):
    _, X_test, y_test = planted
    auc = roc_auc_score(y_test, fitted[name].anomaly_score(X_test))
    assert auc > 0.95, f"{name} AUC-ROC {auc:.3f}"


@pytest.mark.parametrize("score_method", SCORE_METHODS)
def test_every_vae_score_finds_anomalies(fitted, planted, score_method):
    _, X_test, y_test = planted
    model = fitted["vae"].set_params(score_method=score_method)
    try:
        assert roc_auc_score(y_test, model.anomaly_score(X_test)) > 0.9
    finally:
        model.set_params(score_method="reconstruction_probability")


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_scores_are_finite_and_bit_identical_across_calls(fitted, planted, name):
    _, X_test, _ = planted
    first = fitted[name].anomaly_score(X_test)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, fitted[name].anomaly_score(X_test))
    # a row's score does not depend on the other rows scored with it (beyond float64 rounding)
    np.testing.assert_allclose(first[7:8], fitted[name].anomaly_score(X_test[7:8]), rtol=1e-12)


def test_scoring_leaves_global_torch_state_alone(fitted, planted):
    _, X_test, _ = planted
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fitted["vae"].anomaly_score(X_test)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("score_method", SCORE_METHODS)
def test_vae_feature_scores_sum_to_the_score(fitted, planted, score_method):
    _, X_test, _ = planted
    model = fitted["vae"].set_params(score_method=score_method)
    try:
        parts = model.feature_scores(X_test)
        assert parts.shape == X_test.shape
        np.testing.assert_allclose(parts.sum(axis=1), model.anomaly_score(X_test), **FLOAT32)
    finally:
        model.set_params(score_method="reconstruction_probability")


def test_ae_feature_scores_are_point_errors_in_nats(fitted, planted):
    """Per standardised column ``0.5 * (log(2 pi) + e^2)``, ``e = x - x_hat``."""
    _, X_test, _ = planted
    model = fitted["ae"]
    xs = _standardised(model, X_test)
    net = _float64(model.module_)
    with torch.no_grad():
        out, _, _ = net.decode(net.latent_moments(torch.from_numpy(xs))[0])
    errors = out.numpy() - xs
    expected = 0.5 * (math.log(2 * math.pi) + errors**2)
    np.testing.assert_allclose(model.feature_scores(X_test), expected, **FLOAT32)
    np.testing.assert_allclose(model.anomaly_score(X_test), expected.sum(axis=1), **FLOAT32)


def test_reconstruction_probability_matches_brute_force(fitted, planted):
    """The detector's score equals an explicit loop over the same L latent samples."""
    _, X_test, _ = planted
    model = fitted["vae"].set_params(score_method="reconstruction_probability")
    net = _float64(model.module_)
    x = torch.from_numpy(_standardised(model, X_test[:4]))
    eps = score_noise(model.module_, model.seed_, "reconstruction_probability")
    assert eps.shape == (model.n_samples, model.latent_dim_)
    expected = []
    with torch.no_grad():
        mu, logvar = net.posterior(x)
        for i in range(4):
            log_p = []
            for sample in range(model.n_samples):
                z = mu[i] + torch.exp(0.5 * logvar[i]) * eps[sample]
                mean, out_logvar, _ = net.decode(z)
                log_p.append(-float(maths.gaussian_nll(x[i], mean, out_logvar).sum()))
            m = max(log_p)
            expected.append(-(m + np.log(np.mean(np.exp(np.array(log_p) - m)))))
    np.testing.assert_allclose(model.anomaly_score(X_test[:4]), expected, **FLOAT32)


def test_sklearn_conventions(fitted, planted):
    _, X_test, _ = planted
    model = fitted["vae"]
    np.testing.assert_array_equal(model.score_samples(X_test), -model.anomaly_score(X_test))
    decision = model.decision_function(X_test)
    np.testing.assert_array_equal(decision, model.score_samples(X_test) - model.offset_)
    np.testing.assert_array_equal(model.predict(X_test), np.where(decision < 0, -1, 1))
    assert model.transform(X_test).shape == (len(X_test), model.latent_dim_)
    assert list(model.get_feature_names_out()) == [
        f"vaedetector{i}" for i in range(model.latent_dim_)
    ]


def test_auto_threshold_flags_about_one_percent_of_normal_rows(planted):
    X_train, _, _ = planted
    model = AutoEncoderDetector(random_state=0).fit(X_train[:600])
    fresh_normal_rate = np.mean(model.predict(X_train[600:]) == -1)
    assert fresh_normal_rate < 0.06


def test_contamination_sets_the_training_outlier_share(planted):
    X_train, _, _ = planted
    model = _fit(VAEDetector(contamination=0.1, max_epochs=10, random_state=0), X_train)
    assert np.mean(model.predict(X_train) == -1) == pytest.approx(0.1, abs=0.01)


def test_fit_is_reproducible_with_random_state(planted):
    X_train, X_test, _ = planted
    a = _fit(VAEDetector(max_epochs=3, random_state=3), X_train).anomaly_score(X_test)
    b = _fit(VAEDetector(max_epochs=3, random_state=3), X_train).anomaly_score(X_test)
    c = _fit(VAEDetector(max_epochs=3, random_state=4), X_train).anomaly_score(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_global_random_state_alone(planted):
    X_train, _, _ = planted
    numpy_state = np.random.get_state()  # noqa: NPY002 - the global state is the subject
    torch_state = torch.random.get_rng_state()
    _fit(VAEDetector(max_epochs=1, random_state=0), X_train[:200])
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state, after, strict=True))
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_kl_term_acts_with_default_settings(planted):
    """With the default beta the posterior is pulled towards the prior; without it, not."""
    X_train, _, _ = planted

    def mean_kl(model):
        net = _float64(model.module_)
        x = torch.from_numpy(_standardised(model, X_train))
        with torch.no_grad():
            return float(maths.kl_to_standard_normal(*net.posterior(x)).mean())

    default = _fit(VAEDetector(max_epochs=20, random_state=0), X_train)
    no_kl = _fit(VAEDetector(beta=0.0, max_epochs=20, random_state=0), X_train)
    assert 0.0 < mean_kl(default) < 0.5 * mean_kl(no_kl)


@pytest.mark.parametrize(
    "X",
    [
        np.c_[np.random.default_rng(0).normal(size=(300, 3)), np.full((300, 2), 7.0)],
        np.repeat(np.random.default_rng(1).normal(size=(5, 4)), 60, axis=0),
        np.random.default_rng(2).normal(size=(6, 3)),
        np.random.default_rng(3).normal(size=(2, 2)),
    ],
    ids=["constant-columns", "duplicated-rows", "six-rows", "two-rows"],
)
@pytest.mark.parametrize("cls", [AutoEncoderDetector, VAEDetector])
def test_loss_and_scores_stay_finite_on_degenerate_data(X, cls):
    model = _fit(cls(max_epochs=15, random_state=0), X)
    assert all(np.isfinite(model.history_["train_loss"]))
    assert all(np.isfinite(model.history_["val_loss"]))
    scores = model.anomaly_score(X)
    assert np.isfinite(scores).all()
    shifted = X.copy()
    shifted[0] += 10.0
    assert model.anomaly_score(shifted)[0] > np.max(scores)


def test_constant_column_deviation_is_blamed(planted):
    X_train, _, _ = planted
    X = np.c_[X_train, np.full(len(X_train), 3.0)]
    model = _fit(VAEDetector(max_epochs=10, random_state=0), X)
    row = X[:1].copy()
    row[0, -1] = 4.0
    assert np.argmax(model.feature_scores(row)[0]) == X.shape[1] - 1


def test_history_and_early_stopping(planted):
    X_train, _, _ = planted
    model = AutoEncoderDetector(max_epochs=300, patience=3, random_state=0).fit(X_train)
    assert model.n_epochs_ == len(model.history_["train_loss"]) == len(model.history_["val_loss"])
    assert model.n_epochs_ < 300 and not model.history_["still_improving"]
    assert 0 <= model.history_["best_epoch"] < model.n_epochs_
    assert model.history_["train_loss"][-1] < model.history_["train_loss"][0]


def test_training_parameter_sets_the_tuning_constants(planted):
    X_train, _, _ = planted
    model = _fit(AutoEncoderDetector(random_state=0, training={"auto_epoch_range": [2, 2]}),
                 X_train[:300])
    assert model.n_epochs_ == 2
    with pytest.raises(ValueError, match="TrainingConfig"):
        AutoEncoderDetector(training={"no_such_field": 1}).fit(X_train[:100])


def test_pandas_input_is_read_by_column_name(planted):
    X_train, _, _ = planted
    frame = pd.DataFrame(X_train, columns=[f"f{i}" for i in range(X_train.shape[1])])
    model = _fit(AutoEncoderDetector(max_epochs=2, random_state=0), frame)
    assert list(model.feature_names_in_) == list(frame.columns)
    assert model.n_features_in_ == frame.shape[1]
    scores = model.anomaly_score(frame)
    # columns are found by name: reordered or extra columns are fine, a missing one is not
    shuffled = frame[frame.columns[::-1]].assign(extra="x")
    np.testing.assert_array_equal(model.anomaly_score(shuffled), scores)
    with pytest.raises(DataError, match="'f0' is missing"):
        model.anomaly_score(frame.rename(columns={"f0": "other"}))


def test_gaps_are_masked_and_bad_shapes_refused(planted):
    X_train, _, _ = planted
    model = _fit(AutoEncoderDetector(max_epochs=2, random_state=0), X_train)
    gappy = X_train[:5].copy()
    gappy[2, 1] = np.nan
    # a gap in a column that had none in training is refused (issue 18): dropping its
    # term would make blanking a value a way to lower a score
    with pytest.raises(DataError, match="row 3, column 'x1': is missing, but was never"):
        model.anomaly_score(gappy)
    # where training had gaps, a gap is scored: its term is the modelled gap rate
    with_gaps = X_train.copy()
    with_gaps[::10, 1] = np.nan
    model = _fit(AutoEncoderDetector(max_epochs=2, random_state=0), with_gaps)
    scores, parts = model.anomaly_score(gappy), model.feature_scores(gappy)
    assert np.isfinite(scores).all()
    assert parts[2, 1] > 0.0 and (np.delete(parts[2], 1) > 0).all()
    np.testing.assert_allclose(parts.sum(axis=1), scores, **FLOAT32)
    with pytest.raises(ValueError, match="features"):
        model.anomaly_score(X_train[:5, :3])
    with pytest.raises(ValueError, match="infinity"):
        model.anomaly_score(np.where(gappy == gappy[0, 0], np.inf, gappy))


@pytest.mark.parametrize(
    ("n_features", "latent", "first"), [(5, 2, 32), (30, 5, 64), (2000, 32, 256)]
)
def test_default_architecture_scales_with_features(n_features, latent, first):
    assert default_latent_dim(n_features) == latent
    assert default_hidden_dims(n_features) == [first, first // 2]


def test_fitted_architecture_follows_the_input_width(fitted, planted):
    X_train, _, _ = planted
    for model in fitted.values():
        assert model.latent_dim_ == default_latent_dim(X_train.shape[1])
        assert model.hidden_dims_ == default_hidden_dims(X_train.shape[1])


def test_wide_input_trains():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2000)).astype(np.float32)
    model = _fit(VAEDetector(max_epochs=2, random_state=0), X)
    assert np.isfinite(model.anomaly_score(X[:10])).all()


def test_capped_score_caps_each_feature_at_its_held_out_median(fitted, planted):
    X_train, X_test, _ = planted
    model = fitted["vae"]
    medians = model.feature_nll_median_
    assert medians.shape == (X_train.shape[1],) and np.isfinite(medians).all()
    plain = model.anomaly_score(X_test)
    model.set_params(score_method="capped_reconstruction_probability")
    try:
        capped, parts = model.anomaly_score(X_test), model.feature_scores(X_test)
    finally:
        model.set_params(score_method="reconstruction_probability")
    assert (capped >= plain - 1e-12).all() and (capped > plain).any()
    np.testing.assert_allclose(parts.sum(axis=1), capped, **FLOAT32)
    # on training rows, each feature's expected -log p(x_j | z) is above its median about half
    # of the time (the medians come from the held-out validation rows)
    net = _float64(model.module_)
    xs = torch.from_numpy(_standardised(model, X_train[:400]))
    noise = score_noise(model.module_, model.seed_, "reconstruction_probability")
    with torch.no_grad():
        nll = net.sample_nll(model.heads_, _packed(model, X_train[:400]), noise)[0]
    assert nll.shape[1:] == xs.shape
    share_above = (nll.mean(dim=0).numpy() > medians).mean(axis=0)
    assert ((share_above > 0.3) & (share_above < 0.7)).all(), share_above


def _packed(model, X):
    return torch.from_numpy(model._rows(X))


def test_numbers_in_explanations_keep_three_significant_digits_below_one():
    from latentwatch.explain import format_number

    assert [format_number(v) for v in (0.0596, 0.3, 4120.0, 12.5, 1e-6)] == [
        "0.0596", "0.3", "4,120.00", "12.50", "1.0e-6"]
    assert format_number(2.0, integer=True) == "2"
