"""A new model is one file and one registry entry: a toy model registered here, in a test
module, goes through fit, score, save, load and the command line like the built-in ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from typer.testing import CliRunner

from latentwatch import models
from latentwatch.cli import app
from latentwatch.detector import detector_class, load
from latentwatch.models.layers import resolve_dims


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


@dataclass(frozen=True)
class ToyConfig:
    # widths of the hidden layers; None: from the data
    hidden_dims: tuple[int, ...] | None = None
    # latent size; None: the default rule
    latent_dim: int | None = None
    # weight of the latent code's L2 penalty in the loss
    shrink: float = 0.0


class Toy(nn.Module):
    """A linear autoencoder with a latent penalty, scored by its point errors (two ways)."""

    name = "toy"
    variational = False
    score_methods = ("point_error", "max_error")
    has_score_state = False

    def __init__(self, config: ToyConfig, shape) -> None:
        super().__init__()
        self.config = config
        self.hidden_dims, self.latent_dim = resolve_dims(config.hidden_dims, config.latent_dim,
                                                         shape.n_inputs)
        self.n_outputs = shape.n_outputs
        self.encoder = nn.Linear(shape.n_inputs, self.latent_dim)
        self.decoder = nn.Linear(self.latent_dim, shape.n_outputs + shape.n_logits)

    def initialise_logits(self, bias: torch.Tensor) -> None:
        with torch.no_grad():
            self.decoder.bias[self.n_outputs:] = bias.to(self.decoder.bias)

    def n_score_samples(self, method: str) -> int:
        return 1

    def latent_moments(self, x):
        z = self.encoder(x)
        return z, torch.zeros_like(z)

    def decode(self, z):
        out = self.decoder(z)
        return out[..., :self.n_outputs], None, out[..., self.n_outputs:]

    def _errors(self, heads, x):
        z = self.encoder(heads.inputs(x))
        out, _, logits = self.decode(z)
        return heads.point_errors(x, out, logits), z

    def loss(self, heads, x, gen, epoch):
        errors, z = self._errors(heads, x)
        return errors.mean(dim=1) + self.config.shrink * (z ** 2).sum(dim=1)

    def scores(self, heads, x, method, noise):
        parts = self._errors(heads, x)[0]
        if method == "max_error":
            top = parts == parts.max(dim=1, keepdim=True).values
            parts = torch.where(top, parts, torch.zeros_like(parts))
        return parts.sum(dim=1), parts

    def all_scores(self, heads, x, noise):
        return {m: self.scores(heads, x, m, noise)[0] for m in self.score_methods}

    def score_state_batch(self, heads, x, noise):
        return ()

    def set_score_state(self, *arrays):
        pass


@pytest.fixture(scope="module")
def toy():
    entry = models.register(models.ModelEntry(
        "toy", Toy, ToyConfig, score_methods=Toy.score_methods,
        default_score_method="point_error", description="a linear test model"))
    yield entry
    models.unregister("toy")


def _data(seed: int = 0, n: int = 600):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    X = z @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(n, 5))
    y = np.zeros(n, dtype=int)
    y[-30:] = 1
    X[-30:] += rng.choice([-4.0, 4.0], size=(30, 5))
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(5)]), y


def test_a_registered_model_gets_an_estimator_with_its_config_as_parameters(toy):
    cls = detector_class("toy")
    assert cls.__name__ == "ToyDetector" and detector_class("toy") is cls
    params = cls().get_params()
    assert params["shrink"] == 0.0 and params["score_method"] == "point_error"
    assert {"max_epochs", "contamination", "random_state"} <= set(params)
    with pytest.raises(ValueError, match="score_method"):
        cls(score_method="nope").fit(_data()[0])


def test_fit_score_save_and_load_a_registered_model(toy, tmp_path):
    X, y = _data()
    model = detector_class("toy")(shrink=0.01, max_epochs=20, random_state=0).fit(X)
    assert model.module_.config == ToyConfig(shrink=0.01)
    scores = model.anomaly_score(X)
    assert roc_auc_score(y, scores) > 0.95
    assert np.allclose(model.feature_scores(X).sum(axis=1), scores)
    assert model.set_params(score_method="max_error").offset_ is not None
    path = model.save(tmp_path / "toy.lwm")
    again = load(path)
    assert type(again) is detector_class("toy")
    assert np.array_equal(again.anomaly_score(X), model.anomaly_score(X))
    assert np.array_equal(again.predict(X), model.predict(X))


def test_the_log_likelihood_threshold_is_refused_for_a_model_without_one(toy):
    with pytest.raises(ValueError, match="likelihood"):
        detector_class("toy")(threshold="log_likelihood:-10").fit(_data()[0])


def test_the_command_line_fits_and_scores_a_registered_model(toy, tmp_path):
    X, y = _data()
    data = tmp_path / "toy.csv"
    X.to_csv(data, index=False)
    model = tmp_path / "toy.lwm"
    ok(invoke("fit", data, "--model", "toy", "--epochs", "20", "-o", model, "-q"))
    assert type(load(model)).__name__ == "ToyDetector"
    out = tmp_path / "scores.csv"
    ok(invoke("score", model, data, "-o", out))
    scored = pd.read_csv(out)
    assert len(scored) == len(X) and roc_auc_score(y, scored["score"]) > 0.95
    ok(invoke("info", model))
    ok(invoke("report", model, data, "-o", tmp_path / "toy.html"))


def test_an_unknown_model_is_refused_in_one_line(tmp_path):
    X, _ = _data()
    data = tmp_path / "d.csv"
    X.to_csv(data, index=False)
    result = invoke("fit", data, "--model", "gan")
    assert result.exit_code == 1 and "--model 'gan'" in result.stderr
