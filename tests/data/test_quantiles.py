"""The quantile transform (latentwatch.data.quantiles) and the codec that reads numeric
columns with it: exact round trips, point masses, bounds, persistence."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from latentwatch.data.codec import TableCodec, is_discrete_column
from latentwatch.data.quantiles import (
    cdf,
    fit_knots,
    from_normal_scores,
    inverse_cdf,
    to_normal_scores,
)

columns = st.one_of(
    arrays(np.float64, st.integers(2, 300), elements=st.floats(-1e6, 1e6, width=64)),
    arrays(np.float64, st.integers(2, 300), elements=st.integers(0, 4).map(float)),
    arrays(np.float64, st.integers(2, 300),
           elements=st.sampled_from([0.0, 0.0, 0.0, 1.5, 2.25, 100.0])),
)


@settings(derandomize=True, max_examples=40, deadline=None)
@given(columns, st.integers(2, 50))
def test_training_values_come_back_exactly(values, max_knots):
    knots = fit_knots(values, max_knots)
    scores = to_normal_scores(values, knots)
    assert np.isfinite(scores).all()
    back = from_normal_scores(scores, knots)
    np.testing.assert_allclose(back, values, rtol=1e-9, atol=1e-9 * np.abs(values).max())
    # a larger value never gets a smaller score
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(scores[order]) >= -1e-12)


def test_point_masses_are_kept_when_the_scores_are_gaussian():
    """A zero-heavy column: N(0, 1) scores decode to the training share of zeros, and a
    discrete column to its levels' shares."""
    rng = np.random.default_rng(0)
    zero_heavy = np.where(rng.random(5000) < 0.6, 0.0, rng.exponential(3.0, 5000))
    levels = rng.choice([1.0, 2.0, 5.0], size=5000, p=[0.5, 0.3, 0.2])
    u = rng.standard_normal(20000)
    for values in (zero_heavy, levels):
        drawn = from_normal_scores(u, fit_knots(values))
        for level in (0.0, 1.0, 2.0, 5.0):
            assert np.mean(drawn == level) == pytest.approx(np.mean(values == level), abs=0.015)
    drawn = from_normal_scores(u, fit_knots(zero_heavy))
    assert stats.ks_2samp(drawn, zero_heavy).statistic < 0.03


def test_the_distribution_function_against_its_definition():
    knots = np.array([0.0, 0.0, 0.0, 1.0, 3.0])  # p_k = 0.1 + 0.8 k / 4
    p = 0.1 + 0.8 * np.arange(5) / 4
    np.testing.assert_allclose(cdf(np.array([0.0, 1.0, 3.0]), knots),
                               [(p[0] + p[2]) / 2, p[3], p[4]])
    np.testing.assert_allclose(cdf(np.array([0.5, 2.0]), knots),
                               [p[2] + 0.5 * (p[3] - p[2]), p[3] + 0.5 * (p[4] - p[3])])
    np.testing.assert_allclose(inverse_cdf(np.array([0.0, p[1], 1.0]), knots), [0, 0, 3])
    # beyond the range: the ends, with finite scores; NaN stays NaN
    scores = to_normal_scores(np.array([-5.0, 9.0, np.nan]), knots)
    np.testing.assert_allclose(scores[:2], stats.norm.ppf([(p[0] + p[2]) / 2, p[4]]))
    assert np.isnan(scores[2])
    np.testing.assert_array_equal(from_normal_scores(np.array([-40.0, 40.0]), knots), [0, 3])


def test_a_quantile_codec_reads_and_writes_a_table_exactly():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "amount": np.round(rng.lognormal(3, 1, 400), 2),
        "count": rng.poisson(1.0, 400),
        "zeros": np.where(rng.random(400) < 0.7, 0.0, rng.normal(10, 2, 400)),
        "kind": rng.choice(["a", "b"], 400),
    })
    frame.loc[::17, "amount"] = np.nan
    codec = TableCodec(numeric_transform="quantile").fit(frame)
    numeric = [b for b in codec.blocks if b.kind == "numeric"]
    assert all(b.quantiles is not None and not b.log and (b.mean, b.scale) == (0.0, 1.0)
               for b in numeric)
    assert all(b.quantiles is None for b in TableCodec().fit(frame).blocks)
    encoded = codec.encode(frame)
    width, n = codec.input_width, codec.n_blocks
    values = encoded.packed[:, width:width + n]
    missing = encoded.packed[:, width + n:] == 0
    decoded = codec.decode(values, missing)
    pd.testing.assert_series_equal(decoded["amount"], frame["amount"], check_names=False)
    assert decoded["count"].tolist() == frame["count"].tolist()
    assert decoded["zeros"].tolist() == pytest.approx(frame["zeros"].tolist())
    assert TableCodec.from_dict(codec.to_dict()) == codec
    with pytest.raises(ValueError, match="numeric_transform"):
        TableCodec(numeric_transform="rank")
    mixed = TableCodec(numeric_transform="mixed").fit(frame)
    # count is a categorical integer by the inferred schema; amount is continuous
    assert [b.name for b in mixed.blocks if b.quantiles is not None] == ["zeros"]


def test_discrete_and_zero_heavy_columns():
    rng = np.random.default_rng(0)
    assert is_discrete_column(rng.poisson(3, 1000).astype(float))
    assert is_discrete_column(np.where(rng.random(1000) < 0.1, 0.0, rng.normal(size=1000)))
    assert not is_discrete_column(rng.normal(size=1000))
    assert not is_discrete_column(np.array([]))


def test_a_model_file_with_edited_quantiles_is_refused(tmp_path):
    import json
    import warnings

    from safetensors import safe_open
    from safetensors.torch import save_file

    from latentwatch import VAEDetector, load
    from latentwatch.errors import ModelFormatError
    from latentwatch.persistence import _digest

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.poisson(2, 200), "b": rng.normal(size=200)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = VAEDetector(purpose="generate", max_epochs=2, random_state=0).fit(frame).save(
            tmp_path / "m.lwm")
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["latentwatch"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no iter
    meta["codec"]["blocks"][0]["quantiles"][3] = -1e9  # no longer increasing
    meta["sha256"] = _digest(tensors, meta)
    save_file(tensors, str(tmp_path / "edited.lwm"), metadata={"latentwatch": json.dumps(meta)})
    with pytest.raises(ModelFormatError, match="quantiles that are not an increasing list"):
        load(tmp_path / "edited.lwm")
