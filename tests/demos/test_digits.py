"""Generated digits are digits: a classifier trained on real ones recognises them; and the
digits demo writes its pictures."""

import numpy as np
import pytest
from sklearn.svm import SVC

from latentwatch import VAEDetector
from latentwatch.demos import digits as demo_digits


@pytest.fixture(scope="module")
def digits():
    X, X_raw, y = demo_digits.dequantized_digits(seed=0)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = np.sort(order[:1300]), np.sort(order[1300:])
    model = VAEDetector(latent_dim=8, hidden_dims=[256, 128], max_epochs=40, patience=40,
                        random_state=0).fit(X[train])
    reader = SVC().fit(X_raw[train], y[train])
    return X, y, train, test, model, reader


def test_interpolation_end_points_are_read_as_their_classes(digits):
    X, y, _, test, model, reader = digits
    rng = np.random.default_rng(1)
    hits = []
    for _ in range(60):
        i, j = rng.choice(test, size=2, replace=False)
        strip = model.interpolate(X[i], X[j], steps=6)
        assert strip.shape == (6, 64)
        hits.extend(reader.predict(strip[[0, -1]]) == y[[i, j]])
    assert np.mean(hits) > 0.85, np.mean(hits)  # the benchmark measures 0.95 at 150 epochs


def test_sampled_digits_cover_the_classes(digits):
    _, _, _, _, model, reader = digits
    labels = reader.predict(model.sample(500, random_state=0, source="aggregate_posterior"))
    shares = np.bincount(labels, minlength=10) / len(labels)
    assert (shares > 0.03).all(), shares  # every digit appears, none dominates
    assert shares.max() < 0.25, shares


def test_typical_row_is_a_dense_pure_member_of_its_class():
    rng = np.random.default_rng(0)
    codes = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(5, 0.3, (30, 2)), [[0.0, 0.0]]]
    y = np.r_[np.zeros(50, int), np.ones(30, int), [1]]  # one class-1 stray among class 0
    row = demo_digits.typical_row(codes, y, 1)
    assert 50 <= row < 80


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs
def test_digits_demo_writes_its_pictures(tmp_path):
    result = demo_digits.run_digits_demo(tmp_path / "pictures", seed=0, max_epochs=3)
    names = sorted(p.name for p in (tmp_path / "pictures").iterdir())
    assert names == ["digits_anomalies.png", "digits_generated.png", "digits_interpolation.png",
                     "digits_latent_map.png"]
    for path in result["files"]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0.5 < result["auc_roc"] <= 1.0
    assert len(result["strip_labels"]) == 10
