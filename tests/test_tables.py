"""Detectors on mixed-type tables: detection, missing values, unseen categories,
explanations, decoding back to the schema, persistence, and the numeric path unchanged."""

import json
import re
import struct

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import latentwatch
from latentwatch import AutoEncoderDetector, VAEDetector
from latentwatch.datasets import ANOMALY_KINDS, make_transactions
from latentwatch.errors import DataError
from latentwatch.schema import infer_schema

SCHEMA = {"exclude": ["customer_id"], "id_columns": ["transaction_id"]}
FAST = {"hidden_dims": [64, 32], "max_epochs": 40, "random_state": 0}
# The columns each kind of planted anomaly alters (see latentwatch.datasets).
PLANTED = {"extreme_amount": {"amount"}, "rare_combination": {"currency"},
           "impossible_hour": {"timestamp", "merchant_category", "is_online", "entry_mode",
                               "amount"},
           "missing_pattern": {"entry_mode", "merchant_category", "is_online"}}


@pytest.fixture(scope="module")
def tables():
    train, _ = make_transactions(2000, seed=0)
    test, kind = make_transactions(1000, anomaly_fraction=0.1, seed=1)
    return train, test, kind


@pytest.fixture(scope="module")
def vae(tables):
    train, _, _ = tables
    return VAEDetector(schema=SCHEMA, **FAST).fit(train)


def test_the_vae_finds_every_kind_of_planted_anomaly(vae, tables):
    _, test, kind = tables
    scores = vae.anomaly_score(test)
    normal = (kind == "normal").to_numpy()
    for name in ANOMALY_KINDS:
        rows = normal | (kind == name).to_numpy()
        auc = roc_auc_score(kind[rows] == name, scores[rows])
        assert auc > 0.8, f"{name}: AUC-ROC {auc:.3f}"


def test_the_model_reads_the_schema_it_inferred(vae):
    assert list(vae.feature_names_in_) == ["timestamp", "merchant_category", "country",
                                           "currency", "amount", "is_online", "entry_mode",
                                           "customer_age"]
    layout = vae.table_layout()
    assert layout.names[:2] == ["timestamp.hour", "timestamp.weekday"]
    kinds = {b.name: (b.kind, b.missing) for b in layout.blocks}
    assert kinds["amount"] == ("numeric", False)
    assert layout.blocks[layout.names.index("amount")].log
    assert kinds["entry_mode"] == ("categorical", True)
    assert kinds["customer_age"] == ("numeric", True)
    assert kinds["is_online"] == ("boolean", False)
    assert vae.module_.output_logits.out_features == layout.n_logits


def test_a_numeric_table_through_the_table_path_scores_exactly_as_the_matrix(planted):
    """All-Gaussian layout, all observed: the mask machinery changes no bit."""
    X_train, X_test, _ = planted
    names = [f"f{i}" for i in range(X_train.shape[1])]
    schema = {"columns": {n: {"kind": "numeric", "log": False} for n in names}}
    matrix = VAEDetector(max_epochs=4, random_state=0).fit(X_train)
    table = VAEDetector(max_epochs=4, random_state=0, schema=schema).fit(
        pd.DataFrame(X_train, columns=names))
    assert table.layout_ is not None and matrix.layout_ is None
    frame = pd.DataFrame(X_test, columns=names)
    np.testing.assert_array_equal(table.anomaly_score(frame), matrix.anomaly_score(X_test))
    np.testing.assert_array_equal(table.feature_scores(frame), matrix.feature_scores(X_test))
    assert table.offset_ == matrix.offset_ and table.history_ == matrix.history_


def test_the_ae_on_a_table_scores_in_nats(planted):
    """A table AE's numeric term is the unit-variance Gaussian NLL, 0.5 (log 2 pi + e^2):
    the matrix AE's squared error e^2 up to scale and shift, in nats like the others."""
    X_train, X_test, _ = planted
    names = [f"f{i}" for i in range(X_train.shape[1])]
    model = AutoEncoderDetector(max_epochs=3, random_state=0, schema="infer").fit(
        pd.DataFrame(X_train, columns=names))
    frame = pd.DataFrame(X_test, columns=names)
    error = (model.reconstruct(frame).to_numpy(float) - X_test) / model.scale_
    assert not any(b.log for b in model.layout_.blocks)
    np.testing.assert_allclose(model.feature_scores(frame),
                               0.5 * (np.log(2 * np.pi) + error**2), rtol=1e-6, atol=1e-9)


def test_complete_rows_score_the_same_beside_rows_with_gaps(vae, tables):
    _, test, _ = tables
    complete = test.dropna(subset=["customer_age"]).head(40)
    gappy = test.head(40).copy()
    gappy.loc[::3, ["amount", "country"]] = np.nan
    alone = vae.anomaly_score(complete)
    mixed = vae.anomaly_score(pd.concat([gappy, complete], ignore_index=True))[40:]
    np.testing.assert_allclose(mixed, alone, rtol=1e-12)
    np.testing.assert_array_equal(vae.anomaly_score(complete), alone)


@pytest.mark.parametrize("score_method",
                         ["reconstruction_probability", "capped_reconstruction_probability"])
def test_missing_entries_are_left_out_and_nothing_crashes(vae, tables, score_method):
    _, test, _ = tables
    rows = test.head(5).astype({"is_online": object})
    rows.loc[0, "amount"] = np.nan  # no gaps in training: left out, contributes 0
    rows.loc[1, ["timestamp", "country", "currency"]] = np.nan
    rows.loc[2, vae.feature_names_in_] = np.nan  # nothing observed at all
    vae.set_params(score_method=score_method)
    try:
        parts, scores = vae.feature_scores(rows), vae.anomaly_score(rows)
    finally:
        vae.set_params(score_method="reconstruction_probability")
    assert np.isfinite(vae.feature_nll_median_).all()
    names = vae.table_layout().names
    assert np.isfinite(parts).all() and np.isfinite(scores).all()
    np.testing.assert_allclose(parts.sum(axis=1), scores, rtol=1e-9, atol=1e-9)
    assert parts[0, names.index("amount")] == 0.0
    for column in ("timestamp.hour", "timestamp.weekday", "country", "currency"):
        assert parts[1, names.index(column)] == 0.0
    gap_modelled = [names.index("entry_mode"), names.index("customer_age")]
    assert (parts[2, gap_modelled] > 0).all()
    assert np.count_nonzero(parts[2]) == len(gap_modelled)


def test_masking_a_column_of_an_anomaly_leaves_the_others_as_surprising(vae, tables):
    """Masking one column that was not planted, in every planted anomaly: the others'
    contributions do not fall on the whole.

    Given a latent sample the likelihood factorises, so a mask only removes its own
    terms (exact, see test_likelihoods). Through the encoder the posterior moves with
    what is observed, so a single case can go either way; this holds the aggregate."""
    _, test, kind = tables
    names = vae.table_layout().names
    sources = [n.split(".")[0] for n in names]
    changes = []
    for name, planted in PLANTED.items():
        rows = test[(kind == name).to_numpy()].reset_index(drop=True)
        before = vae.feature_scores(rows)
        for column in vae.feature_names_in_:
            if column in planted:
                continue
            masked = rows.copy()
            masked[column] = np.nan
            after = vae.feature_scores(masked)
            others = [j for j, s in enumerate(sources) if s != column]
            changes.append(after[:, others].sum(axis=1) - before[:, others].sum(axis=1))
    changes = np.concatenate(changes)
    assert np.median(changes) >= 0.0
    assert np.mean(changes < -1.0) < 0.1


def test_unseen_categories_are_improbable_named_and_never_crash(vae, tables):
    _, test, _ = tables
    row = test[(test["merchant_category"] == "grocery") & (test["country"] == "DE")].head(1)
    odd = row.copy()
    odd["merchant_category"] = "casino"
    names = vae.table_layout().names
    column = names.index("merchant_category")
    assert vae.feature_scores(odd)[0, column] > vae.feature_scores(row)[0, column] + 2.0
    explanation = vae.explain(odd, top_k=len(names))[0]
    item = next(c for c in explanation.contributions if c.column == "merchant_category")
    assert item.unseen and item.observed == "casino"
    assert str(item).startswith("merchant_category: 'casino' (new or rare value, p=")


def test_explanations_say_what_was_observed_and_expected(vae, tables):
    _, test, _ = tables
    row = test[(test["merchant_category"] == "grocery") & (test["currency"] == "EUR")].head(1)
    row = row.assign(amount=4120.0, customer_age=np.nan)
    explanation = vae.explain(row, top_k=len(vae.table_layout().names))[0]
    assert explanation.score == pytest.approx(vae.anomaly_score(row)[0])
    assert sum(c.nats for c in explanation.contributions) == pytest.approx(explanation.score)
    text = {c.column: str(c) for c in explanation.contributions}
    assert re.fullmatch(r"amount: 4,120\.00 \(expected about [\d,.]+\)", text["amount"])
    assert re.fullmatch(r"customer_age: missing \(expected \d+\)", text["customer_age"])
    assert re.fullmatch(r"is_online: (True|False) \(p=[\d.]+%, expected (True|False)\)",
                        text["is_online"])
    top = vae.explain(row, top_k=2)[0]
    assert len(top.contributions) == 2
    assert top.contributions[0].nats >= top.contributions[1].nats
    assert str(top) == "; ".join(str(c) for c in top.contributions)


def test_reconstruct_and_decode_rows_give_the_original_schema(vae, tables):
    _, test, _ = tables
    names = vae.table_layout().names
    expected = vae.reconstruct(test.head(20))
    assert list(expected.columns) == names
    assert expected["customer_age"].dtype == "Int64"
    assert expected["is_online"].dtype == "boolean"
    assert set(expected["merchant_category"]) <= set(test["merchant_category"])
    assert set(expected["timestamp.weekday"]) <= {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    np.testing.assert_array_equal(expected["amount"], np.round(expected["amount"], 2))
    z = np.random.default_rng(0).normal(size=(50, vae.latent_dim_))
    drawn = vae.decode_rows(z, sample=True, random_state=3, with_missing=True)
    again = vae.decode_rows(z, sample=True, random_state=3, with_missing=True)
    pd.testing.assert_frame_equal(drawn, again)
    assert list(drawn.columns) == names and len(drawn) == 50
    assert drawn["country"].isin([*test["country"].unique(), "(other)"]).all()
    assert (drawn["amount"] > 0).all()
    modes = vae.decode_rows(vae.transform(test.head(20)))
    pd.testing.assert_frame_equal(modes, expected)


def test_table_models_round_trip_bit_identically(vae, tables, tmp_path):
    _, test, _ = tables
    path = vae.save(tmp_path / "table.lwm")
    raw = path.read_bytes()
    meta = json.loads(json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
                      ["__metadata__"]["latentwatch"])
    assert meta["format_version"] == 2
    assert meta["state"]["layout_"] == vae.layout_.to_dict()
    loaded = latentwatch.load(path)
    assert loaded.layout_ == vae.layout_ and loaded.schema_ == vae.schema_
    assert loaded.get_params() == vae.get_params()
    np.testing.assert_array_equal(loaded.anomaly_score(test), vae.anomaly_score(test))
    np.testing.assert_array_equal(loaded.feature_scores(test), vae.feature_scores(test))
    pd.testing.assert_frame_equal(loaded.reconstruct(test), vae.reconstruct(test))
    assert loaded.save(tmp_path / "again.lwm").read_bytes() == raw


def test_a_table_schema_parameter_survives_clone_and_save(tables, tmp_path):
    train, test, _ = tables
    schema = infer_schema(train, id_columns=["transaction_id"], exclude=["customer_id"])
    model = AutoEncoderDetector(schema=schema, hidden_dims=[16, 8], max_epochs=2,
                                random_state=0).fit(train)
    assert clone(model).get_params()["schema"] == schema
    loaded = latentwatch.load(model.save(tmp_path / "ae.lwm"))
    assert loaded.get_params()["schema"] == schema
    parts = loaded.feature_scores(test)
    np.testing.assert_allclose(parts.sum(axis=1), loaded.anomaly_score(test), rtol=1e-12)


def test_numeric_models_keep_the_version_1_file_format(planted, tmp_path):
    X_train, _, _ = planted
    path = VAEDetector(max_epochs=2, random_state=0).fit(X_train).save(tmp_path / "m.lwm")
    raw = path.read_bytes()
    meta = json.loads(json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
                      ["__metadata__"]["latentwatch"])
    assert meta["format_version"] == 1
    assert "layout_" not in meta["state"] and "schema_" not in meta["state"]


def test_the_table_path_is_taken_only_when_needed(planted):
    X_train, _, _ = planted
    names = [f"f{i}" for i in range(X_train.shape[1])]
    frame = pd.DataFrame(X_train, columns=names)
    assert VAEDetector(max_epochs=1, random_state=0).fit(frame).layout_ is None
    gappy = frame.copy()
    gappy.iloc[3, 2] = np.nan
    assert VAEDetector(max_epochs=1, random_state=0).fit(gappy).layout_ is not None
    skewed = frame.assign(f0=np.random.default_rng(0).lognormal(0.0, 1.5, size=len(frame)))
    inferred = VAEDetector(max_epochs=1, random_state=0, schema="infer").fit(skewed)
    assert inferred.layout_.blocks[0].log


def test_bad_values_in_python_raise_naming_the_row_and_column(vae, tables):
    _, test, _ = tables
    rows = test.head(4).astype({"amount": object})
    rows.loc[2, "amount"] = "12,50"
    with pytest.raises(DataError, match=r"row 3, column 'amount': '12,50' is not a number"):
        vae.anomaly_score(rows)
    with pytest.raises(DataError, match="column 'currency' is missing"):
        vae.anomaly_score(test.drop(columns=["currency"]))


def test_matrix_models_explain_and_decode_too(planted):
    X_train, X_test, _ = planted
    model = VAEDetector(max_epochs=3, random_state=0).fit(X_train)
    explanation = model.explain(X_test[:2], top_k=2)[0]
    assert explanation.contributions[0].column.startswith("x")
    assert re.fullmatch(r"x\d+: -?[\d,]+\.\d\d \(expected about -?[\d,.]+\)",
                        str(explanation.contributions[0]))
    np.testing.assert_allclose(sum(c.nats for c in explanation.contributions),
                               np.sort(model.feature_scores(X_test[:1])[0])[-2:].sum())
    z = model.transform(X_test[:5])
    np.testing.assert_allclose(model.decode_rows(z), model.reconstruct(X_test[:5]), rtol=1e-9)
    assert model.decode_rows(z, sample=True, random_state=0).shape == (5, X_test.shape[1])
