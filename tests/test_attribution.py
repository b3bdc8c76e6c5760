"""Explanations that name the edited cell: counterfactual attributions, checked by brute
force on a linear autoencoder, on a realistic credit table with one extreme cell (AE and
VAE, library and command line), on a series, and the numbers printed readably."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from latentwatch import AutoEncoderDetector, VAEDetector, attribution
from latentwatch.demos.credit import make_credit
from latentwatch.explain import about, format_nats, format_number


def test_counterfactual_attribution_matches_a_brute_force_linear_autoencoder():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 300))
    frame = pd.DataFrame({"a": a, "b": a + 0.3 * b, "c": b, "d": rng.normal(size=300)})
    model = AutoEncoderDetector(hidden_dims=[], latent_dim=2, max_epochs=5,
                                random_state=0).fit(frame)
    rows = model.read_rows(frame.iloc[:7].assign(b=[0, 50, 0, 0, -3, 0, 1e6])).good
    judged = attribution.counterfactual_attribution(model, rows, iterations=1)

    encoder, decoder = model.module_.encoder[0], model.module_.decoder[0]
    w_e, b_e = (t.detach().double().numpy() for t in (encoder.weight, encoder.bias))
    w_d, b_d = (t.detach().double().numpy() for t in (decoder.weight, decoder.bias))

    def reconstruct(x):
        return (x @ w_e.T + b_e) @ w_d.T + b_d

    def score(x):
        return 0.5 * (math.log(2 * math.pi) + (x - reconstruct(x)) ** 2).sum(axis=-1)

    x = rows[:, :4]
    for j in range(4):
        masked = x.copy()
        masked[:, j] = 0.0
        first = reconstruct(masked)[:, j]
        masked[:, j] = first
        expected = reconstruct(masked)[:, j]  # one more imputation pass
        repaired = x.copy()
        repaired[:, j] = expected
        # scores are computed in float32: a difference of two scores near 1e10 keeps ~1e-5
        np.testing.assert_allclose(judged.expected[:, j], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(judged.attribution[:, j], score(x) - score(repaired),
                                   rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(judged.scores, score(x), rtol=1e-6)
    assert judged.attribution[1].argmax() == 1 and judged.attribution[6].argmax() == 1


def test_chunks_of_row_and_cell_pairs_give_the_same_attributions_bit_for_bit(monkeypatch):
    frame = make_credit(600, seed=2)
    model = VAEDetector(max_epochs=2, random_state=0).fit(frame)
    rows = model.read_rows(frame.iloc[:9].astype({"Debt": float}).assign(Debt=1e9)).good
    whole = attribution.counterfactual_attribution(model, rows)
    monkeypatch.setattr(attribution, "CHUNK_VALUES", 5 * model.codec_.packed_width)
    pieces = attribution.counterfactual_attribution(model, rows)
    for name in ("scores", "attribution", "expected", "probability"):
        np.testing.assert_array_equal(getattr(pieces, name), getattr(whole, name))
    assert (whole.attribution.argmax(axis=1) == model.codec_.names.index("Debt")).all()


def test_masked_cells_are_written_as_the_codec_writes_gaps_and_cells_round_trip():
    frame = make_credit(600, seed=1)
    model = AutoEncoderDetector(max_epochs=1, random_state=0).fit(frame)
    codec = model.codec_
    rows = model.read_rows(frame.iloc[:20]).good
    targets = rows[:, codec.input_width:codec.input_width + codec.n_blocks]
    observed = rows[:, codec.input_width + codec.n_blocks:] > 0.5
    assert not observed.all()  # gaps in Income, Assets, Debt
    for j, block in enumerate(codec.blocks):
        seen = observed[:, j]
        np.testing.assert_array_equal(
            attribution.write_cells(codec, rows[seen], j, targets[seen, j]), rows[seen])
        if block.missing:
            gap = codec.encode(frame.iloc[:20].assign(**{block.source: np.nan})).packed
            masked = attribution.mask_inputs(codec, rows, j)
            np.testing.assert_array_equal(masked[:, :codec.input_width],
                                          gap[:, :codec.input_width])
            np.testing.assert_array_equal(masked[:, codec.input_width:],
                                          rows[:, codec.input_width:])


@pytest.fixture(scope="module")
def credit():
    frame = make_credit(2500, seed=0)
    train, test = frame.iloc[:2000], frame.iloc[2000:2003].astype({"Seniority": float})
    edited = test.assign(Seniority=[1e6, 1e308, 1e3])
    models = {cls.__name__: cls(max_epochs=25, random_state=0).fit(train)
              for cls in (AutoEncoderDetector, VAEDetector)}
    return models, train, edited


@pytest.mark.parametrize("name", ["AutoEncoderDetector", "VAEDetector"])
def test_an_extreme_seniority_is_named_first_with_a_readable_value(credit, name):
    models, train, edited = credit
    model = models[name]
    explained = model.explain(edited, top_k=3)
    assert [e.contributions[0].column for e in explained] == ["Seniority"] * 3
    shown = [str(e.contributions[0]) for e in explained]
    assert shown[0].startswith("Seniority: 1,000,000 (expected about ")
    assert shown[1].startswith("Seniority: 1.0e308 (expected about ")
    assert shown[2].startswith("Seniority: 1,000 (expected about ")
    for e in explained:
        top = e.contributions[0]
        # what the model expects given the other columns is a seniority of the training range
        assert 0 <= top.expected <= train["Seniority"].max()
        assert top.attribution > 0.9 * e.score
        assert not re.search(r"\d{16}", str(e))
        assert [c.attribution for c in e.contributions] == sorted(
            (c.attribution for c in e.contributions), reverse=True)
    parts = model.feature_scores(edited)
    np.testing.assert_allclose(parts.sum(axis=1), model.anomaly_score(edited), rtol=1e-6)
    by_column = dict(zip(model.codec_.names, parts[0], strict=True))
    assert explained[0].contributions[0].nats == pytest.approx(by_column["Seniority"])


def test_explain_command_names_the_edited_column_and_prints_readable_numbers(credit, tmp_path):
    import json

    from tests.cli.cli_helpers import invoke, ok

    models, _, edited = credit
    models["VAEDetector"].save(tmp_path / "credit.lwm")
    edited.to_csv(tmp_path / "new.csv", index=False)
    result = ok(invoke("explain", tmp_path / "credit.lwm", tmp_path / "new.csv", "--rows",
                       "1-3", "-k", "2"))
    lines = result.stdout.splitlines()
    firsts = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("row ")]
    assert all("Seniority: " in line for line in firsts), result.stdout
    assert "Seniority: 1.0e308 (expected about" in result.stdout
    assert not re.search(r"\d{16}", result.stdout), result.stdout
    document = json.loads(ok(invoke("explain", tmp_path / "credit.lwm", tmp_path / "new.csv",
                                    "--rows", "2", "--json")).stdout)
    top = document["rows"][0]["contributions"][0]
    assert top["column"] == "Seniority" and top["observed"] == 1e308
    assert top["attribution"] > 0 and "nats" in top


def test_a_spike_in_a_series_is_named_at_its_channel_and_step():
    steps = np.arange(400)
    frame = pd.DataFrame({"a": np.sin(steps / 5), "b": np.cos(steps / 5)})
    model = AutoEncoderDetector(window=8, max_epochs=20, random_state=0).fit(frame)
    spiked = frame.iloc[300:340].copy()
    spiked.iloc[20, 1] = 25.0
    explained = model.explain(spiked, top_k=2)
    assert explained[20].contributions[0].column == "b[t]"
    # the first row starts a series: only its own step is observed, and only it is judged
    assert {c.column for c in explained[0].contributions} == {"a[t]", "b[t]"}


def test_numbers_are_readable_at_every_size():
    assert format_number(1e308) == "1.0e308"
    assert format_number(1e308, integer=True) == "1.0e308"
    assert format_number(1e6, integer=True) == "1,000,000"
    assert format_number(-2.5e13) == "-2.5e13"
    assert about(1e308) == "1.0e308" and about(-3.2e15, 3) == "-3.2e15"
    assert format_nats(4.74e9, sign=True) == "+4.74e9"
    assert format_nats(1567.0, sign=True) == "+1,570"
    assert format_nats(-0.5, sign=True) == "-0.500"
