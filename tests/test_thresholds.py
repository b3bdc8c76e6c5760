"""Threshold strategies: conformal maths, false-alarm guarantees on real fits, persistence."""

import math

import numpy as np
import pytest
from planted import planted_anomalies
from sklearn.exceptions import NotFittedError

import latentwatch
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.models.vae import SCORE_METHODS
from latentwatch.thresholds import (
    AUTO_MIN_VALIDATION_ROWS,
    Contamination,
    FalseAlarmRate,
    LogLikelihood,
    MethodThreshold,
    ThresholdState,
    conformal_p_values,
    conformal_threshold,
    describe_threshold,
    fit_threshold,
    make_threshold,
    threshold_from_dict,
    threshold_to_dict,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# -- the conformal maths on synthetic scores -----------------------------------------------


def test_p_values_match_their_definition():
    rng = np.random.default_rng(0)
    calibration = rng.normal(size=37).round(1)  # rounding makes ties
    scores = np.r_[rng.normal(size=200).round(1), calibration[:5], -np.inf, np.inf]
    expected = [(1 + np.sum(calibration >= s)) / (len(calibration) + 1) for s in scores]
    np.testing.assert_array_equal(conformal_p_values(calibration, scores), expected)


@pytest.mark.parametrize("n", [19, 20, 57, 99, 100, 500])
@pytest.mark.parametrize("rate", [0.01, 0.05, 0.1, 0.25])
def test_threshold_flags_exactly_the_rows_with_small_p_values(n, rate):
    rng = np.random.default_rng(n)
    calibration = rng.gamma(2.0, size=n).round(2)
    if math.floor(rate * (n + 1) + 1e-9) < 1:
        with pytest.raises(ValueError, match="calibration rows"):
            conformal_threshold(calibration, rate)
        assert n < FalseAlarmRate(rate).min_calibration_rows()
        return
    assert n >= FalseAlarmRate(rate).min_calibration_rows()
    scores = np.r_[rng.gamma(2.0, size=2000).round(2), calibration]
    flagged = scores > conformal_threshold(calibration, rate)
    np.testing.assert_array_equal(flagged, conformal_p_values(calibration, scores) <= rate)


@pytest.mark.parametrize("distribution", ["normal", "lognormal", "discrete"])
@pytest.mark.parametrize(("n", "rate"), [(19, 0.05), (60, 0.1), (199, 0.01), (250, 0.05)])
def test_false_alarm_rate_guarantee_over_many_calibration_draws(distribution, n, rate):
    """Over 4000 independent calibration sets the share of fresh normal rows flagged
    is ``k / (n + 1) <= rate`` on average: at most the target, and not much less."""
    rng = np.random.default_rng(7)
    trials, fresh = 4000, 50

    def draw(size):
        if distribution == "normal":
            return rng.normal(size=size)
        if distribution == "lognormal":
            return rng.lognormal(sigma=2.0, size=size)
        return rng.poisson(3.0, size=size).astype(float)  # heavy ties

    observed = np.empty(trials)
    for trial in range(trials):
        t = conformal_threshold(draw(n), rate)
        observed[trial] = np.mean(draw(fresh) > t)
    k = math.floor(rate * (n + 1) + 1e-9)
    exact = k / (n + 1)
    standard_error = observed.std(ddof=1) / math.sqrt(trials)
    assert exact <= rate
    assert observed.mean() <= exact + 4 * standard_error
    if distribution != "discrete":  # continuous scores: the rate is exactly k / (n + 1)
        assert observed.mean() >= exact - 4 * standard_error


def test_the_p_values_of_normal_rows_are_super_uniform():
    rng = np.random.default_rng(3)
    p = np.concatenate([conformal_p_values(rng.normal(size=40), rng.normal(size=10))
                        for _ in range(3000)])
    for alpha in (0.05, 0.1, 0.25, 0.5):
        assert np.mean(p <= alpha) <= alpha + 4 * math.sqrt(alpha * (1 - alpha) / 3000)


# -- strategies as values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contamination:0.05", Contamination(0.05)),
        ("false_alarm_rate:0.01", FalseAlarmRate(0.01)),
        ("false-alarm-rate:0.2", FalseAlarmRate(0.2)),
        ("log_likelihood:-40", LogLikelihood(-40.0)),
    ],
)
def test_text_and_dict_forms_round_trip(text, expected):
    strategy = make_threshold(text)
    assert strategy == expected
    assert threshold_from_dict(threshold_to_dict(strategy)) == strategy
    assert make_threshold(threshold_to_dict(strategy)) == strategy
    assert strategy.describe()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("contamination", "KIND:VALUE"),
        ("quantile:0.1", "KIND:VALUE"),
        ("false_alarm_rate:abc", "not a number"),
        ("false_alarm_rate:1.5", r"rate must be in \(0, 1\)"),
        ("contamination:0.7", r"share must be in \(0, 0.5\]"),
        ("log_likelihood:nan", "finite"),
        ({"kind": "false_alarm_rate", "rate": 0.1, "alpha": 3}, "no field"),
        ({"rate": 0.1}, "unknown threshold kind"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(spec, message):
    with pytest.raises(ValueError, match=message):
        make_threshold(spec)


def test_strategies_survive_clone_and_pickle():
    import pickle

    from sklearn.base import clone

    model = VAEDetector(threshold=FalseAlarmRate(0.05, calibration_fraction=0.2))
    assert clone(model).threshold == model.threshold
    assert pickle.loads(pickle.dumps(model)).threshold == model.threshold


def test_calibration_fraction_is_validated():
    with pytest.raises(ValueError, match="calibration_fraction"):
        FalseAlarmRate(0.1, calibration_fraction=1.0)


# -- strategies on fitted detectors ----------------------------------------------------------

FAST = {"max_epochs": 4}


def _normal_rows(seed, n):
    X, _ = planted_anomalies(n_normal=n, n_anomalies=0, n_features=8, seed=seed)
    return X


@pytest.mark.parametrize(("cls", "n_seeds"), [(AutoEncoderDetector, 16), (VAEDetector, 8)])
def test_observed_false_alarm_rate_on_fresh_normal_data_over_seeds(cls, n_seeds):
    """Real fits, each with its own data, seed and calibration split of 120 rows:
    the mean share of 2000 fresh normal rows flagged is k / (n + 1) <= 0.1 within
    sampling error (the per-fit rate is Beta(k, n + 1 - k) distributed)."""
    rate, n_cal, n_fresh = 0.1, 120, 2000
    observed = []
    for seed in range(n_seeds):
        X = _normal_rows(100 + seed, 600 + n_fresh)
        model = cls(threshold=FalseAlarmRate(rate, calibration_fraction=0.2), random_state=seed,
                    **FAST).fit(X[:600])
        assert model.calibration_source_ == "calibration_split"
        assert len(model.calibration_scores_) == n_cal
        observed.append(np.mean(model.predict(X[600:]) == -1))
    k = math.floor(rate * (n_cal + 1))
    exact = k / (n_cal + 1)
    per_fit_variance = (exact * (1 - exact) / (n_cal + 2)) + exact * (1 - exact) / n_fresh
    margin = 3 * math.sqrt(per_fit_variance / n_seeds)
    mean = float(np.mean(observed))
    assert exact <= rate
    assert exact - margin <= mean <= exact + margin, (mean, exact, margin)


def test_predict_flags_exactly_the_rows_with_p_value_at_most_the_rate():
    X = _normal_rows(5, 1500)
    model = VAEDetector(threshold="false_alarm_rate:0.05", random_state=0, **FAST).fit(X[:1000])
    p = model.p_values(X[1000:])
    np.testing.assert_array_equal(model.predict(X[1000:]) == -1, p <= 0.05)
    assert p.min() >= 1 / (len(model.calibration_scores_) + 1)
    assert p.max() <= 1.0


def test_calibration_rows_are_kept_out_of_training_and_early_stopping():
    X = _normal_rows(6, 1000)
    model = AutoEncoderDetector(threshold=FalseAlarmRate(0.1, calibration_fraction=0.25),
                                max_epochs=2, random_state=0).fit(X)
    assert len(model.calibration_scores_) == 250
    # the codec saw only the 750 fitting rows: their means differ from all rows'
    means = np.array([block.mean for block in model.codec_.blocks])
    assert not np.allclose(means, X.mean(axis=0))


def test_calibrate_sets_the_threshold_and_p_values():
    X = _normal_rows(7, 1400)
    model = AutoEncoderDetector(threshold=FalseAlarmRate(0.1, calibration_fraction=0),
                                random_state=0, **FAST).fit(X[:800])
    with pytest.raises(NotFittedError, match="calibrate"):
        model.predict(X[:5])
    model.calibrate(X[800:1000])
    assert model.calibration_source_ == "calibrate"
    scores = model.anomaly_score(X[800:1000])
    assert model.offset_ == -conformal_threshold(scores, 0.1)
    assert np.mean(model.predict(X[800:1000]) == -1) <= 0.1
    offset = model.offset_
    with pytest.raises(ValueError, match="needs at least 9 calibration rows"):
        model.calibrate(X[:5])
    assert model.offset_ == offset and len(model.calibration_scores_) == 200


def test_default_model_can_switch_to_a_false_alarm_rate_after_fit():
    X = _normal_rows(8, 1400)
    model = AutoEncoderDetector(random_state=0, **FAST).fit(X[:800])
    assert model.threshold_ is None and model.calibration_source_ == "validation"
    before = model.offset_
    model.calibrate(X[800:1000])  # default strategy: only the p-values change
    assert model.offset_ == before
    model.set_params(threshold=FalseAlarmRate(0.05)).calibrate(X[800:1000])
    assert model.threshold_ == FalseAlarmRate(0.05)
    assert model.offset_ != before


def test_default_behaviour_is_unchanged():
    """threshold=None: contamination="auto" flags 1% of the validation rows."""
    X = _normal_rows(9, 800)
    model = AutoEncoderDetector(random_state=0, max_epochs=3).fit(X)
    assert model.offset_ == float(np.quantile(-model.calibration_scores_, 0.01))
    model = AutoEncoderDetector(random_state=0, max_epochs=3, contamination=0.1).fit(X)
    assert model.threshold_ == Contamination(0.1)
    assert np.mean(model.predict(X) == -1) == pytest.approx(0.1, abs=0.002)


def test_contamination_strategy_equals_the_contamination_parameter():
    X = _normal_rows(10, 600)
    by_param = VAEDetector(contamination=0.05, random_state=0, max_epochs=3).fit(X)
    by_strategy = VAEDetector(threshold=Contamination(0.05), random_state=0, max_epochs=3).fit(X)
    assert by_param.offset_ == by_strategy.offset_


def test_setting_both_contamination_and_threshold_is_an_error():
    with pytest.raises(ValueError, match="either contamination"):
        AutoEncoderDetector(contamination=0.1, threshold="false_alarm_rate:0.1").fit(
            _normal_rows(0, 100))


def test_too_small_a_calibration_split_is_refused_before_training():
    with pytest.raises(ValueError, match="needs at least 99 calibration rows"):
        AutoEncoderDetector(threshold=FalseAlarmRate(0.01), max_epochs=10**6).fit(
            _normal_rows(0, 500))


def test_log_likelihood_threshold():
    X = _normal_rows(11, 900)
    model = VAEDetector(threshold=LogLikelihood(-9.0), random_state=0, **FAST).fit(X[:600])
    log_p = model.score_samples(X[600:])
    np.testing.assert_array_equal(model.predict(X[600:]) == -1, log_p < -9.0)
    assert 0 < np.mean(log_p < -9.0) < 1
    model.set_params(score_method="elbo")
    with pytest.raises(ValueError, match="reconstruction_probability"):
        model.predict(X[:3])
    with pytest.raises(ValueError, match="VAEDetector"):
        AutoEncoderDetector(threshold="log_likelihood:-9").fit(X)
    with pytest.raises(ValueError, match="reconstruction_probability"):
        VAEDetector(threshold="log_likelihood:-9", score_method="elbo").fit(X)


def test_p_values_need_calibration_scores():
    X = _normal_rows(12, 40)  # too few rows for a validation split
    model = AutoEncoderDetector(random_state=0, max_epochs=2).fit(X)
    assert model.calibration_scores_ is None
    with pytest.raises(NotFittedError, match="calibrate"):
        model.p_values(X)
    model.calibrate(X)
    assert model.p_values(X).shape == (40,)


@pytest.mark.parametrize(
    "threshold",
    [None, "contamination:0.05", FalseAlarmRate(0.1), {"kind": "false_alarm_rate", "rate": 0.2},
     LogLikelihood(-9.0)],
    ids=["default", "text", "far-object", "far-dict", "log-likelihood"],
)
def test_strategy_round_trips_through_the_model_file(threshold, tmp_path):
    X = _normal_rows(13, 700)
    model = VAEDetector(threshold=threshold, random_state=0, max_epochs=3).fit(X[:500])
    loaded = latentwatch.load(model.save(tmp_path / "m.lwm"))
    assert loaded.get_params() == model.get_params()
    assert loaded.threshold_ == model.threshold_
    assert loaded.offset_ == model.offset_
    assert loaded.calibration_source_ == model.calibration_source_
    np.testing.assert_array_equal(loaded.calibration_scores_, model.calibration_scores_)
    np.testing.assert_array_equal(loaded.p_values(X[500:]), model.p_values(X[500:]))
    np.testing.assert_array_equal(loaded.predict(X[500:]), model.predict(X[500:]))


def test_uncalibrated_model_round_trips(tmp_path):
    X = _normal_rows(14, 300)
    model = AutoEncoderDetector(threshold=FalseAlarmRate(0.1, calibration_fraction=0),
                                random_state=0, max_epochs=2).fit(X)
    loaded = latentwatch.load(model.save(tmp_path / "m.lwm"))
    with pytest.raises(NotFittedError, match="calibrate"):
        loaded.predict(X)
    loaded.calibrate(X[:100])
    assert loaded.offset_ is not None


# -- a fitted threshold holds every score method -------------------------------------------


def test_threshold_state_is_fitted_for_every_method_and_round_trips():
    rng = np.random.default_rng(0)
    scores = {m: rng.gamma(2.0 + i, size=300) for i, m in enumerate(("a", "b"))}
    validation = {m: v[:100] for m, v in scores.items()}
    calibration = {m: v[100:] for m, v in scores.items()}
    state = fit_threshold(FalseAlarmRate(0.1), None, validation, calibration)
    assert state.source == "calibration_split" and set(state.methods) == {"a", "b"}
    for m in ("a", "b"):
        assert state.for_method(m).offset == -conformal_threshold(calibration[m], 0.1)
        np.testing.assert_array_equal(state.for_method(m).calibration_scores,
                                      np.sort(calibration[m]))
    again = ThresholdState.from_dict(state.to_dict(), state.arrays())
    assert again.strategy == state.strategy and again.source == state.source
    for m in ("a", "b"):
        assert again.for_method(m).offset == state.for_method(m).offset
        np.testing.assert_array_equal(again.for_method(m).calibration_scores,
                                      state.for_method(m).calibration_scores)
    with pytest.raises(ValueError, match="refit"):
        state.for_method("c")
    with pytest.raises(ValueError, match="offset"):
        ThresholdState.from_dict({"strategy": None, "source": None,
                                  "offsets": {"a": float("nan")}}, {})
    assert isinstance(state.for_method("a"), MethodThreshold)


def test_contamination_keeps_its_share_for_every_score_method():
    X = _normal_rows(15, 600)
    model = VAEDetector(contamination=0.1, random_state=0, max_epochs=3).fit(X)
    offsets = set()
    for method in SCORE_METHODS:
        model.set_params(score_method=method)
        offsets.add(model.offset_)
        assert np.mean(model.predict(X) == -1) == pytest.approx(0.1, abs=0.002), method
    assert len(offsets) == len(SCORE_METHODS)


def test_auto_threshold_keeps_its_meaning_for_every_score_method():
    X = _normal_rows(16, 800)  # 80 validation rows: the small-table rule applies
    model = VAEDetector(random_state=0, max_epochs=3).fit(X)
    for method in SCORE_METHODS:
        model.set_params(score_method=method)
        assert model.offset_ <= float(np.quantile(-model.calibration_scores_, 0.01)), method
        assert np.mean(model.predict(X) == -1) <= 0.0101, method


def test_auto_threshold_on_few_validation_rows_is_also_the_quantile_of_the_fit_rows():
    rng = np.random.default_rng(0)
    fit_rows, few = rng.normal(size=2000), rng.normal(size=30)
    state = fit_threshold(None, {"m": fit_rows}, {"m": few}, None)
    expected = min(np.quantile(-few, 0.01), np.quantile(-fit_rows, 0.01))
    assert state.methods["m"].offset == pytest.approx(expected)
    assert np.mean(fit_rows > -state.methods["m"].offset) <= 0.01
    many = rng.normal(size=AUTO_MIN_VALIDATION_ROWS)
    state = fit_threshold(None, {"m": fit_rows}, {"m": many}, None)
    assert state.methods["m"].offset == float(np.quantile(-many, 0.01))


def test_describe_threshold_says_what_it_means():
    X = _normal_rows(17, 300)
    assert "1%" in describe_threshold(AutoEncoderDetector(max_epochs=1, random_state=0).fit(X))
    model = AutoEncoderDetector(threshold="false_alarm_rate:0.1", max_epochs=1,
                                random_state=0).fit(X)
    assert describe_threshold(model) == FalseAlarmRate(0.1).describe()
