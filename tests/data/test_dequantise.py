"""Dequantisation of near-discrete columns: which columns, how much noise, where, and that
it keeps the decoder's variance off the grid when the model trains on it."""

import numpy as np
import pandas as pd
import pytest
import torch

from latentwatch import VAEDetector
from latentwatch.data.codec import fit_codec
from latentwatch.data.dequantise import MAX_STEP, column_resolution, dequantise, resolutions


def test_the_resolution_is_the_median_gap_of_a_near_discrete_column():
    grid = np.repeat([0.0, 0.5, 1.0, 2.0], 10)
    assert column_resolution(grid) == 0.5
    assert column_resolution(np.linspace(0, 1, 40)) == 0.0, "a continuous column"
    assert column_resolution(np.ones(40)) == 0.0, "a constant column"
    assert column_resolution(np.repeat([0.0, 3.0], 20)) == 3.0


def test_only_a_fine_grid_is_dequantised():
    """Steps are in standardised units; a binary column (step 2 sd) is left alone."""
    frame = pd.DataFrame({"fine": np.arange(40.0) % 20, "binary": np.arange(40.0) % 2,
                          "real": np.linspace(0, 1, 40) ** 2})
    codec = fit_codec(frame)
    steps = resolutions(codec, codec.encode(frame).packed)
    assert steps[0] == pytest.approx(1 / codec.blocks[0].scale) and steps[0] < MAX_STEP
    assert steps[1] == 0.0 and steps[2] == 0.0
    assert resolutions(codec, codec.encode(frame).packed, max_step=3.0)[1] == pytest.approx(2.0)


def table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"count": rng.integers(0, 40, n).astype(float),
                          "real": rng.normal(size=n),
                          "shop": rng.choice(["a", "b"], n)})
    frame.loc[::10, "count"] = np.nan
    return frame


def test_noise_goes_to_observed_entries_of_near_discrete_columns_only():
    frame = table()
    codec = fit_codec(frame)
    rows = torch.from_numpy(codec.encode(frame).packed)
    steps = resolutions(codec, rows.numpy())
    count = codec.names.index("count")
    assert steps[list(codec.numeric).index(count)] == pytest.approx(1 / codec.blocks[count].scale)
    assert steps[list(codec.numeric).index(codec.names.index("real"))] == 0.0
    noisy = dequantise(codec, rows, steps, torch.Generator().manual_seed(0))
    moved = noisy - rows
    target = codec.input_width + count
    observed = rows[:, codec.input_width + codec.n_blocks + count] > 0
    # the input copy moves with the target, by at most half a step, only where observed
    torch.testing.assert_close(moved[:, codec.input_start[count]], moved[:, target])
    assert moved[observed, target].abs().max() <= steps[0] / 2
    assert (moved[~observed] == 0).all()
    assert moved[observed, target].abs().min() > 0
    others = [c for c in range(rows.shape[1]) if c not in (target, codec.input_start[count])]
    assert (moved[:, others] == 0).all()
    # centred and uniform: mean ~0, variance ~ r^2 / 12
    draws = moved[observed, target].numpy() / steps[0]
    assert abs(draws.mean()) < 0.05 and draws.var() == pytest.approx(1 / 12, rel=0.2)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_on_a_grid_keeps_the_decoder_variance_off_the_grid():
    """A column that copies an integer column can be predicted exactly from the code, so
    without dequantisation its variance falls far below the grid's; trained on dequantised
    rows the two copies carry independent noise and it stays near ``r^2 / 12`` or above."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 8, 600).astype(float)
    X = np.column_stack([base, base, rng.normal(size=600)])

    def copy_variance(dequantised: bool) -> float:
        model = VAEDetector(random_state=0, max_epochs=40,
                            training={"dequantise": dequantised}).fit(X)
        rows = torch.from_numpy(model.read_rows(X).packed).float()
        with torch.no_grad():
            mu, _ = model.module_.posterior(model.heads_.inputs(rows))
            _, logvar, _ = model.module_.decode(mu)
        step_sq = (1 / model.codec_.blocks[1].scale) ** 2
        return float(torch.exp(logvar[:, 1]).median()) / step_sq

    without, with_noise = copy_variance(False), copy_variance(True)
    assert with_noise > 1 / 12
    assert without < with_noise / 4
