"""benchmarks/detection/variants.py: variant parsing, parameters instead of patches, a real run."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `benchmarks` lives at the root

from benchmarks.detection.variants import PARTS, run_variant, variant_params
from latentwatch.engine.training import TrainingConfig
from latentwatch.models.layers import default_hidden_dims


def test_unknown_variant_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown variant part 'wider'"):
        run_variant("defaults+wider", str(tmp_path), [0])


def test_variants_are_parameters_not_patches() -> None:
    assert variant_params("defaults", 30) == {}
    params = variant_params("previous-defaults+half-width", 30)
    assert params == {"learning_rate": 3e-3, "patience": 10,
                      "training": {"auto_steps_per_epoch": 32, "auto_batch_range": (64, 2048)},
                      "hidden_dims": [32, 16]}  # half of the default [64, 32] for 30 inputs
    assert default_hidden_dims(30) == [64, 32]
    # width changes apply to the widths so far, training fields merge key by key
    assert variant_params("three-hidden-layers+half-width", 30)["hidden_dims"] == [32, 16, 16]
    assert variant_params("one-hidden-layer", 5)["hidden_dims"] == [32]
    merged = variant_params("bigger-batch+short-training", 10)["training"]
    assert merged == {"auto_steps_per_epoch": 16, "auto_batch_range": (128, 4096),
                      "auto_epoch_range": (5, 15), "auto_row_budget": 150_000}


def test_every_training_field_of_a_part_is_a_training_config_field() -> None:
    known = {f.name for f in fields(TrainingConfig)}
    for name, part in PARTS.items():
        assert set(part.training) <= known, name
        TrainingConfig(**part.training)  # and of the right shape


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 15-epoch cap
def test_training_variant_scores_planted_anomalies_and_patches_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(150, 4))
    anomalies = rng.normal(loc=6.0, size=(15, 4))
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(150), np.ones(15)].astype(int)
    np.savez(tmp_path / "toy.npz", X=X, y=y)
    before = TrainingConfig()
    table = run_variant("beta2+short-training+half-width", str(tmp_path), [0])
    assert TrainingConfig() == before  # the defaults are untouched
    assert sorted(table["setting"]) == ["novelty", "unsupervised"]
    assert (table["hidden_dims"] == "16-16").all()  # default [32, 16] for 4 inputs, halved
    assert (table["epochs"] <= 15).all()  # short-training: at most 15 epochs
    assert (table["reconstruction_probability"] > 0.95).all()
    assert (table["elbo"] > 0.95).all()
    assert (table["fit_s"] > 0).all()
