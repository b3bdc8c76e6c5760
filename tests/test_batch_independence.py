"""A row's score never depends on the rows scored with it, bit for bit: in chunks of any
size (``latentwatch score --chunk-rows``), alone, in any order, and from lists, Fortran-
ordered or strided arrays."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.cli import app
from latentwatch.demos.datasets import make_transactions

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("cls", [VAEDetector, AutoEncoderDetector])
def test_array_layouts_lists_and_subsets_score_bit_for_bit_alike(cls):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 7)) @ rng.normal(size=(7, 7))
    model = cls(max_epochs=2, random_state=0).fit(X[:200])
    whole = model.score_samples(X)
    for other in (np.asfortranarray(X), np.repeat(X, 3, axis=1)[:, ::3], X.tolist()):
        np.testing.assert_array_equal(model.score_samples(other), whole, strict=True)
    for start, stop in ((0, 1), (13, 14), (5, 77), (299, 300), (1, 300)):
        np.testing.assert_array_equal(model.score_samples(X[start:stop]), whole[start:stop])
    order = rng.permutation(len(X))
    np.testing.assert_array_equal(model.score_samples(X[order]), whole[order])


def test_score_chunks_give_the_numbers_of_one_pass(tmp_path):
    frame, _ = make_transactions(400, seed=1)
    model = VAEDetector(max_epochs=2, random_state=0).fit(frame)
    model.save(tmp_path / "m.lwm")
    frame.to_csv(tmp_path / "rows.csv", index=False)
    outputs = []
    for chunk in (100_000, 7, 64, 129):
        out = tmp_path / f"scores-{chunk}.csv"
        result = CliRunner().invoke(app, ["score", str(tmp_path / "m.lwm"),
                                          str(tmp_path / "rows.csv"), "-o", str(out), "-q",
                                          "--chunk-rows", str(chunk)])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_text())
    assert all(text == outputs[0] for text in outputs)
    scores = pd.read_csv(tmp_path / "scores-7.csv")["score"].to_numpy()
    np.testing.assert_array_equal(scores, -model.score_samples(frame))
