"""A model as the bytes of its file (detector.to_bytes / load_bytes): what the
distributed adapters ship to workers instead of a pickle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from latentwatch import AutoEncoderDetector
from latentwatch.detector import load_bytes
from latentwatch.errors import ModelFormatError


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).normal(size=(300, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoEncoderDetector(max_epochs=2, random_state=0).fit(X), X


def test_bytes_are_the_model_file_and_score_bit_for_bit(fitted, tmp_path):
    model, X = fitted
    data = model.to_bytes()
    assert data == model.save(tmp_path / "m.lwm").read_bytes()
    assert np.array_equal(load_bytes(data).anomaly_score(X), model.anomaly_score(X))
    assert b"pickle" not in data[:8 + int.from_bytes(data[:8], "little")]


@pytest.mark.parametrize("damage", [lambda b: b[:100], lambda b: b[:-10],
                                    lambda b: b"\x00" * 20, lambda b: b[:60] + b"Z" + b[61:],
                                    lambda b: b[:-1] + bytes([b[-1] ^ 1]), lambda b: "text"])
def test_damaged_bytes_are_refused_in_one_line(fitted, damage):
    model, _ = fitted
    with pytest.raises(ModelFormatError) as caught:
        load_bytes(damage(model.to_bytes()), name="shipped.lwm")
    message = str(caught.value)
    assert message.startswith("shipped.lwm: ") and "\n" not in message
