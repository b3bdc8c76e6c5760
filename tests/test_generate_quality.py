"""Generated data a user can trust: the generative recipe, the realistic defaults of
``sample``, validity on several tables, conditional sampling, faithful ``denoise`` and
attribute vectors (issue 17)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import latentwatch
from benchmarks.generation.generative_quality import invalid_cells, kinds, privacy
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.data.heads import TableHeads
from latentwatch.demos.datasets import make_transactions
from latentwatch.generate import kept_cells

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


@pytest.fixture(scope="module")
def transactions():
    frame, _ = make_transactions(1500, anomaly_fraction=0.0, seed=3)
    return frame.drop(columns=["transaction_id", "customer_id"])


@pytest.fixture(scope="module")
def generator(transactions):
    return _fit(VAEDetector(purpose="generate", max_epochs=12, random_state=0), transactions)


# -- the recipe and the defaults ---------------------------------------------------------
def test_the_generative_recipe_is_scoped_to_generation(transactions, generator):
    # discrete and zero-heavy columns by their quantiles, continuous ones standardised
    table = _random_table(0, 300, 0.0)
    recipe = _fit(VAEDetector(purpose="generate", max_epochs=2, random_state=0), table)
    with_quantiles = {b.name for b in recipe.codec_.blocks if b.quantiles is not None}
    assert with_quantiles == {"refund"}  # (count: inferred as a categorical integer)
    plain = _fit(VAEDetector(max_epochs=2, random_state=0), table)
    assert all(b.quantiles is None for b in plain.codec_.blocks)
    assert generator.module_.config.beta < 1.0
    detector = _fit(VAEDetector(max_epochs=2, random_state=0), transactions)
    assert detector.module_.config.beta == 1.0
    assert generator.latent_dim_ > detector.latent_dim_
    # explicit parameters win over the recipe
    explicit = _fit(VAEDetector(purpose="generate", beta=1.0, latent_dim=3, max_epochs=2,
                                random_state=0), transactions)
    assert (explicit.module_.config.beta, explicit.latent_dim_, explicit.n_epochs_) == (1.0, 3, 2)
    with pytest.raises(ValueError, match="purpose"):
        VAEDetector(purpose="art").fit(transactions)


def test_sample_defaults_are_the_measured_best(generator, transactions):
    rows = generator.sample(50, random_state=4)
    pd.testing.assert_frame_equal(
        rows, generator.sample(50, random_state=4, source="aggregate_posterior",
                               decode="sample"))
    ae = _fit(AutoEncoderDetector(max_epochs=2, random_state=0), transactions)
    pd.testing.assert_frame_equal(ae.sample(20, random_state=1),
                                  ae.sample(20, random_state=1, source="aggregate_posterior",
                                            decode="mean"))


def test_a_generative_model_survives_save_and_load(generator, tmp_path):
    loaded = latentwatch.load(generator.save(tmp_path / "gen.lwm"))
    assert loaded.get_params()["purpose"] == "generate"
    assert loaded.codec_ == generator.codec_
    pd.testing.assert_frame_equal(loaded.sample(40, random_state=2),
                                  generator.sample(40, random_state=2))
    pd.testing.assert_frame_equal(
        loaded.sample(10, random_state=2, conditions={"country": "FR"}),
        generator.sample(10, random_state=2, conditions={"country": "FR"}))


# -- validity ----------------------------------------------------------------------------
def _random_table(seed: int, n: int, gap_share: float) -> pd.DataFrame:
    """A table with a skewed float, a zero-heavy float, a count, a category, a boolean and
    a timestamp, related through one factor; gaps in the float."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=n)
    frame = pd.DataFrame({
        "amount": np.round(np.exp(2 + factor + 0.3 * rng.normal(size=n)), 2),
        "refund": np.where(rng.random(n) < 0.7, 0.0, np.round(rng.exponential(5, n), 1)),
        "count": rng.poisson(np.exp(0.5 + 0.3 * factor)),
        "kind": np.where(factor > 0.5, "big", rng.choice(["a", "b", "c"], n)),
        "flag": factor + rng.normal(size=n) > 0,
        "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 30 * 24, n),
                                                           unit="h"),
    })
    frame.loc[rng.random(n) < gap_share, "amount"] = np.nan
    return frame


@settings(derandomize=True, max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), gaps=st.sampled_from([0.0, 0.15]),
       purpose=st.sampled_from(["generate", "detect"]))
def test_generated_rows_have_no_invalid_value(seed, gaps, purpose):
    table = _random_table(seed, 240, gaps)
    model = _fit(VAEDetector(purpose=purpose, max_epochs=3, random_state=seed), table)
    sdtypes = kinds(table)
    for rows in (model.sample(300, random_state=seed),
                 model.sample(100, random_state=seed, decode="mean", source="prior"),
                 model.sample(50, random_state=seed, conditions={"kind": "big"})):
        assert invalid_cells(table, rows, sdtypes) == 0
        assert list(rows.columns) == list(table.columns)
        assert pd.api.types.is_integer_dtype(rows["count"].dtype)
        assert pd.api.types.is_datetime64_any_dtype(rows["at"].dtype)
        model.anomaly_score(rows)  # what sample writes, score reads


def test_gaps_come_at_the_training_rate(generator, transactions):
    rows = generator.sample(3000, random_state=0)
    for column in transactions.columns:
        assert rows[column].isna().mean() == pytest.approx(
            transactions[column].isna().mean(), abs=0.03), column
    assert invalid_cells(transactions, rows, kinds(transactions)) == 0


def test_the_validity_measure_counts_what_breaks_the_schema(transactions):
    bad = transactions.iloc[:10].reset_index(drop=True).copy()
    bad.loc[0, "amount"] = -1.0                                   # below the range
    bad.loc[1, "customer_age"] = 30.5                             # not whole
    bad.loc[2, "country"] = "XX"                                  # never seen
    bad.loc[3, "timestamp"] = pd.Timestamp("2031-01-01")          # outside the period
    bad.loc[4, "merchant_category"] = np.nan                      # a gap never seen
    assert invalid_cells(transactions, bad, kinds(transactions)) == 5
    numbers = transactions[["amount", "customer_age", "country"]]
    ratio, n_copies = privacy(numbers.iloc[:50], numbers.iloc[1000:1050], numbers.iloc[:800],
                              ["amount", "customer_age"])
    assert n_copies == 50 and ratio == 0.0
    ratio, n_copies = privacy(numbers.iloc[900:950], numbers.iloc[1000:1050],
                              numbers.iloc[:800], ["amount", "customer_age"])
    assert n_copies == 0 and 0.5 < ratio < 2.0


# -- conditional sampling -----------------------------------------------------------------
def test_conditional_rows_hold_the_conditions(generator, transactions):
    rows = generator.sample(200, random_state=1,
                            conditions={"country": "GB", "customer_age": (30, 50)})
    assert len(rows) == 200 and (rows["country"] == "GB").all()
    assert rows["customer_age"].between(30, 50).all()
    # the other columns follow the conditional: the currency is the country's (in every
    # real row; in 18% of all rows), which a short fit mostly learns
    assert (rows["currency"] == "GBP").mean() > 0.6 > 3 * (transactions["currency"] == "GBP"
                                                          ).mean()
    online = generator.sample(50, random_state=1, conditions={"is_online": "true"})
    assert online["is_online"].all()
    pd.testing.assert_frame_equal(
        rows, generator.sample(200, random_state=1,
                               conditions={"country": "GB", "customer_age": (30, 50)}))


@pytest.mark.parametrize("conditions, message", [
    ({"colour": "red"}, "condition on 'colour': the model generates no such column"),
    ({"country": "XX"}, "condition on 'country': 'XX' was never seen in training"),
    ({"amount": (1e9, 2e9)}, "is outside the training range"),
    ({"amount": "lots"}, "is not a number or a (low, high) range"),
    ({"timestamp": "2024-03-05"}, "a datetime column cannot be a condition"),
])
def test_bad_conditions_are_refused_in_one_line(generator, conditions, message):
    with pytest.raises(ValueError, match=r"^condition on") as info:
        generator.sample(5, random_state=0, conditions=conditions)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_conditions_out_of_reach_stop_at_the_budget(generator):
    with pytest.raises(ValueError, match=r"held on \d+ of 3,000 rows drawn .*max_draws=3,000"):
        generator.sample(2000, random_state=0, max_draws=3000,
                         conditions={"country": "JP", "currency": "EUR"})


def test_conditions_on_an_array_model():
    X = np.random.default_rng(0).normal(size=(300, 3))
    model = _fit(VAEDetector(max_epochs=3, random_state=0), X)
    rows = model.sample(40, random_state=0, conditions={"x1": (0.0, 0.5)})
    assert isinstance(rows, np.ndarray) and rows.shape == (40, 3)
    assert ((rows[:, 1] >= 0) & (rows[:, 1] <= 0.5)).all()


# -- faithful edits ------------------------------------------------------------------------
def test_relative_likelihood_against_its_definition(generator, transactions):
    heads = TableHeads(generator.codec_)
    rows = generator._rows(transactions.iloc[:20])
    x = torch.from_numpy(rows)
    torch.manual_seed(0)
    mean = torch.randn(20, generator.codec_.shape.n_outputs, dtype=torch.float64)
    logvar = torch.randn_like(mean) * 0.3
    logits = torch.randn(20, generator.codec_.n_logits, dtype=torch.float64)
    relative = heads.relative_log_likelihood(x, mean, logvar, logits).numpy()
    codec = generator.codec_
    targets = rows[:, codec.input_width:codec.input_width + codec.n_blocks]
    observed = rows[:, codec.input_width + codec.n_blocks:] > 0
    for k, j in enumerate(codec.numeric):
        expected = -0.5 * (targets[:, j] - mean[:, k].numpy()) ** 2 / np.exp(logvar[:, k].numpy())
        np.testing.assert_allclose(relative[observed[:, j], j], expected[observed[:, j]])
    for j, start, width in heads._categories:
        log_p = torch.log_softmax(heads._decodable(j, logits[:, start:start + width]), -1).numpy()
        picked = log_p[np.arange(20), targets[:, j].astype(int)] - log_p.max(axis=1)
        np.testing.assert_allclose(relative[observed[:, j], j], picked[observed[:, j]])
    for k, j in enumerate(codec.boolean):
        p = 1 / (1 + np.exp(-logits[:, codec.boolean_logits[k]].numpy()))
        p_x = np.where(targets[:, j] == 1, p, 1 - p)
        np.testing.assert_allclose(relative[:, j], np.log(p_x) - np.log(np.maximum(p, 1 - p)))
    assert (relative[~observed] == 0).all()
    np.testing.assert_array_equal(kept_cells([-1.9, -2.0, -2.1], 2.0), [True, True, False])


def test_denoise_keeps_typical_cells_and_repairs_corrupted_ones(generator, transactions):
    clean = transactions.iloc[:300].reset_index(drop=True)
    kept = generator.denoise(clean)
    for column in ("country", "currency", "is_online", "customer_age"):
        same = (kept[column].astype(object).fillna(-1) == clean[column].astype(object).fillna(
            -1)).mean()
        assert same > 0.9, (column, same)
    noisy = clean.copy()
    noisy.loc[:99, "currency"] = "JPY"  # most rows are not in Japan
    repaired = generator.denoise(noisy)
    wrong = (clean["currency"][:100] != "JPY").to_numpy()
    # the wrong value also moves the posterior the check is made at, so not every one is
    # caught (see benchmarks/generation/generative_quality.py for the measured share)
    assert (repaired["currency"][:100][wrong] == clean["currency"][:100][wrong]).mean() > 0.5
    pd.testing.assert_frame_equal(generator.denoise(noisy, tolerance=None),
                                  generator.reconstruct(noisy))
    with pytest.raises(ValueError, match="tolerance"):
        generator.denoise(clean, tolerance=-1)


def test_attribute_vectors_move_the_attribute(generator, transactions):
    online = transactions["is_online"].to_numpy()
    vector = generator.attribute_vector(transactions[online], transactions[~online])
    edited = generator.apply_attribute(transactions[~online], vector, 1.0)
    assert edited["is_online"].mean() >= 0.8
    back = generator.apply_attribute(transactions[online], vector, -1.0)
    assert (~back["is_online"]).mean() >= 0.8


def test_condition_values_match_training_labels_by_kind():
    from latentwatch.generate import _same_label

    assert _same_label(0, "false", boolean=True) and _same_label(1, True, boolean=True)
    assert _same_label("yes", "TRUE", boolean=True) and not _same_label("no", 1, boolean=True)
    assert not _same_label(1, "maybe", boolean=True)
    assert _same_label(3, "3") and _same_label("DE", " DE") and not _same_label("DE", "de")
