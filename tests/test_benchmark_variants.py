"""benchmarks/variants.py: variant parsing and one real run on a tiny dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks` lives at the root

from benchmarks.variants import run_variant


def test_unknown_variant_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown variant part 'wider'"):
        run_variant("defaults+wider", str(tmp_path), [0])


def test_parameter_variant_scores_planted_anomalies(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(150, 4))
    anomalies = rng.normal(loc=6.0, size=(15, 4))
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(150), np.ones(15)].astype(int)
    np.savez(tmp_path / "toy.npz", X=X, y=y)
    table = run_variant("beta2", str(tmp_path), [0])
    assert sorted(table["setting"]) == ["novelty", "unsupervised"]
    assert (table["reconstruction_probability"] > 0.95).all()
    assert (table["elbo"] > 0.95).all()
    assert (table["fit_s"] > 0).all()
