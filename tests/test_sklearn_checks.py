"""scikit-learn's own estimator checks on both detectors (small, fast configurations)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from latentwatch import AutoEncoderDetector, VAEDetector

FAST = {"max_epochs": 3, "random_state": 0}

# Checks we skip, each with the reason (none yet).
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


@parametrize_with_checks(
    [AutoEncoderDetector(**FAST), VAEDetector(n_samples=4, **FAST)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
