"""Training: its configuration (the "auto" rules and tuning constants), trimming, early
stopping, the history it reports, and a model trained by it on a mixed table."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from latentwatch.data.codec import fit_codec
from latentwatch.data.heads import TableHeads
from latentwatch.demos.datasets import ANOMALY_KINDS, make_transactions
from latentwatch.engine import scoring
from latentwatch.engine.training import (
    TrainingConfig,
    resolve_batch_size,
    resolve_max_epochs,
    train,
    trimmed_mean,
)
from latentwatch.models import AEConfig, VAEConfig, build


@settings(derandomize=True)
@given(
    losses=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=60),
    trim=st.floats(0, 0.99),
)
def test_trimmed_mean_equals_mean_of_smallest(losses, trim):
    values = torch.tensor(losses, dtype=torch.float64)
    keep = max(len(losses) - int(trim * len(losses)), 1)
    expected = np.sort(np.array(losses))[:keep].mean()
    assert float(trimmed_mean(values, trim)) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_trimmed_mean_without_trimming_is_the_mean():
    values = torch.tensor([3.0, 1.0, 2.0])
    assert float(trimmed_mean(values, 0.0)) == pytest.approx(2.0)


def test_the_config_holds_the_tuning_constants_as_fields():
    config = TrainingConfig()
    assert (config.max_epochs, config.batch_size) == ("auto", "auto")
    assert config.auto_row_budget == 300_000 and config.auto_epoch_range == (10, 30)
    assert config.auto_steps_per_epoch == 16 and config.auto_batch_range == (128, 4096)
    assert config.improvement_tolerance == 1e-3 and config.validation_batch == 4096
    assert config.learning_rate == 4e-3 and config.patience == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.patience = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("n_rows", "expected"), [(10, 128), (5_000, 256), (45_000, 2048), (10_000_000, 4096)]
)
def test_auto_batch_size(n_rows, expected):
    assert resolve_batch_size(TrainingConfig(), n_rows) == expected
    assert resolve_batch_size(TrainingConfig(batch_size=100), n_rows) == 100


def test_auto_batch_size_follows_its_constants():
    config = TrainingConfig(auto_steps_per_epoch=4, auto_batch_range=(8, 64))
    assert [resolve_batch_size(config, n) for n in (10, 128, 1000, 10**6)] == [8, 32, 64, 64]


@pytest.mark.parametrize(("n_rows", "expected"), [(80, 30), (20_000, 15), (1_000_000, 10)])
def test_auto_max_epochs(n_rows, expected):
    assert resolve_max_epochs(TrainingConfig(), n_rows) == expected
    assert resolve_max_epochs(TrainingConfig(max_epochs=7), n_rows) == 7


def test_auto_max_epochs_follows_its_constants():
    config = TrainingConfig(auto_row_budget=1000, auto_epoch_range=(2, 5))
    assert [resolve_max_epochs(config, n) for n in (10, 300, 400, 10**6)] == [5, 4, 3, 2]


# -- train ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(300, 2))
    X = np.tanh(latent @ rng.normal(size=(2, 6))) + 0.05 * rng.normal(size=(300, 6))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    codec = fit_codec(frame)
    rows = torch.from_numpy(codec.encode(frame).packed).float()
    return codec, TableHeads(codec), rows[:250], rows[250:]


def fresh(name, codec):
    torch.manual_seed(0)
    config = (AEConfig if name == "ae" else VAEConfig)(hidden_dims=[16, 8], latent_dim=2)
    return build(name, config, codec.shape)


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_training_lowers_the_loss_and_reports_its_history(matrix, name):
    codec, heads, X_train, X_val = matrix
    module = fresh(name, codec)
    history = train(module, heads, X_train, X_val, TrainingConfig(max_epochs=8, batch_size=32),
                    seed=0)
    assert set(history) == {"train_loss", "val_loss", "best_epoch", "still_improving",
                            "epoch_rows", "resumed_from"}
    assert len(history["train_loss"]) == len(history["val_loss"]) <= 8
    assert history["val_loss"][history["best_epoch"] - 1] == min(history["val_loss"])
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert all(np.isfinite(history["train_loss"]))


def test_the_best_epochs_weights_are_restored(matrix):
    codec, heads, X_train, X_val = matrix
    module = fresh("ae", codec)
    history = train(module, heads, X_train, X_val, TrainingConfig(max_epochs=6, batch_size=32,
                                                                  learning_rate=0.05), seed=0)
    with torch.no_grad():
        loss = float(module.loss(heads, X_val, torch.Generator(), 0).mean())
    assert loss == pytest.approx(history["val_loss"][history["best_epoch"] - 1], rel=1e-5)


def test_training_is_reproducible_from_the_seed(matrix):
    codec, heads, X_train, X_val = matrix
    config = TrainingConfig(max_epochs=3, batch_size=64)
    first, again, other = fresh("vae", codec), fresh("vae", codec), fresh("vae", codec)
    h1 = train(first, heads, X_train, X_val, config, seed=1)
    h2 = train(again, heads, X_train, X_val, config, seed=1)
    h3 = train(other, heads, X_train, X_val, config, seed=2)
    assert h1 == h2 and h1 != h3
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                  again.state_dict().values(), strict=True))


def test_early_stopping_waits_patience_epochs(matrix):
    codec, heads, X_train, X_val = matrix
    never_better = TrainingConfig(max_epochs=20, batch_size=64, patience=3,
                                  improvement_tolerance=10.0)
    history = train(fresh("ae", codec), heads, X_train, X_val, never_better, seed=0)
    assert len(history["train_loss"]) == 4 and history["best_epoch"] == 1
    assert not history["still_improving"]


def test_a_run_cut_short_by_max_epochs_says_it_was_still_improving(matrix):
    codec, heads, X_train, X_val = matrix
    config = TrainingConfig(max_epochs=3, batch_size=32, improvement_tolerance=0.0)
    history = train(fresh("ae", codec), heads, X_train, X_val, config, seed=0)
    assert history["best_epoch"] == 3 and history["still_improving"]


def test_without_validation_rows_the_training_loss_is_watched(matrix):
    codec, heads, X_train, _ = matrix
    config = TrainingConfig(max_epochs=4, batch_size=32, trim_fraction=0.1)
    history = train(fresh("vae", codec), heads, X_train, X_train[:0], config, seed=0)
    assert history["val_loss"] == []
    assert history["train_loss"][history["best_epoch"] - 1] == min(history["train_loss"])


def test_one_unusual_validation_row_does_not_decide_early_stopping():
    """A column that is 0 on every training row and 1 on one validation row (ADBench
    Cardiotocography's x9 under one seed): the decoder's variance for it shrinks, that
    row's loss grows without bound, and an untrimmed validation mean stops at epoch 1."""
    rng = np.random.default_rng(0)
    X = np.tanh(rng.normal(size=(400, 2)) @ rng.normal(size=(2, 6)))
    frame = pd.DataFrame(X + 0.05 * rng.normal(size=(400, 6)), columns=list("abcdef"))
    frame["rare"] = 0.0
    frame.loc[300, "rare"] = 1.0
    codec = fit_codec(frame)
    rows = torch.from_numpy(codec.encode(frame).packed).float()
    histories = {}
    for trim in (0.0, TrainingConfig().validation_trim_fraction):
        torch.manual_seed(0)
        module = build("vae", VAEConfig(hidden_dims=[16, 8], latent_dim=2), codec.shape)
        config = TrainingConfig(max_epochs=30, batch_size=32, validation_trim_fraction=trim)
        histories[trim] = train(module, TableHeads(codec), rows[:250], rows[250:], config,
                                seed=0)
    untrimmed, trimmed = histories.values()
    assert untrimmed["best_epoch"] == 1 and untrimmed["val_loss"][-1] > untrimmed["val_loss"][0]
    assert trimmed["best_epoch"] > 20 and trimmed["val_loss"][-1] < trimmed["val_loss"][0] / 2


def test_a_loss_that_is_not_finite_stops_training_with_advice(matrix):
    codec, heads, X_train, X_val = matrix
    broken = X_train.clone()
    broken[0, codec.input_width] = float("nan")
    with pytest.raises(FloatingPointError, match="lower learning_rate or check the input"):
        train(fresh("ae", codec), heads, broken, X_val, TrainingConfig(max_epochs=2), seed=0)


# -- a model trained by the engine on a mixed table --------------------------------------
# The columns each kind of planted anomaly alters (see latentwatch.demos.datasets).
PLANTED = {"extreme_amount": {"amount"}, "rare_combination": {"currency"},
           "impossible_hour": {"timestamp", "merchant_category", "is_online", "entry_mode",
                               "amount"},
           "missing_pattern": {"entry_mode", "merchant_category", "is_online"}}


@pytest.fixture(scope="module")
def transactions():
    """A VAE trained by the engine on normal card transactions, and planted anomalies."""
    train_rows, _ = make_transactions(1500, anomaly_fraction=0.0, seed=0)
    test_rows, kind = make_transactions(600, anomaly_fraction=0.2, seed=1)
    codec = fit_codec(train_rows, {"exclude": ["customer_id"],
                                   "id_columns": ["transaction_id"]})
    heads = TableHeads(codec)
    X = torch.from_numpy(codec.encode(train_rows).packed).float()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = build("vae", VAEConfig(hidden_dims=[64, 32]), codec.shape)
    train(module, heads, X[150:], X[:150], TrainingConfig(max_epochs=30), seed=0)

    def parts(frame, masked=None):
        encoded = codec.encode(frame)
        encoded.raise_for_problems()
        packed = encoded.packed.copy()
        for j, block in enumerate(codec.blocks):
            if block.source == masked:  # what a gap does, in packed rows (the codec
                start = codec.input_start[j]  # refuses gaps it never saw in training)
                packed[:, start:start + block.width] = 0.0
                packed[:, codec.input_width + j] = 0.0
                packed[:, codec.input_width + codec.n_blocks + j] = 0.0
        return scoring.score(module, heads, packed, "reconstruction_probability", seed=0)[1]

    return codec, parts, test_rows, kind


def test_a_vae_trained_on_transactions_finds_every_kind_of_planted_anomaly(transactions):
    _, parts, test_rows, kind = transactions
    scores = parts(test_rows).sum(axis=1)
    normal = (kind == "normal").to_numpy()
    for name in ANOMALY_KINDS:
        rows = normal | (kind == name).to_numpy()
        auc = roc_auc_score(kind[rows] == name, scores[rows])
        assert auc > 0.8, f"{name}: AUC-ROC {auc:.3f}"


def test_masking_a_column_of_an_anomaly_leaves_the_others_as_surprising(transactions):
    """Masking one column that was not planted, in every planted anomaly: the others'
    contributions do not fall on the whole.

    Given a latent sample the likelihood factorises, so a mask only removes its own
    terms (exact, see tests/data/test_heads.py). Through the encoder the posterior moves
    with what is observed, so a single case can go either way; this holds the aggregate."""
    codec, parts, test_rows, kind = transactions
    sources = [b.source for b in codec.blocks]
    changes = []
    for name, planted in PLANTED.items():
        rows = test_rows[(kind == name).to_numpy()].reset_index(drop=True)
        before = parts(rows)
        for column in codec.sources:
            if column in planted:
                continue
            after = parts(rows, masked=column)
            others = [j for j, s in enumerate(sources) if s != column]
            changes.append(after[:, others].sum(axis=1) - before[:, others].sum(axis=1))
    changes = np.concatenate(changes)
    assert np.median(changes) >= 0.0
    assert np.mean(changes < -1.0) < 0.1


def test_an_unseen_category_is_improbable(transactions):
    codec, parts, test_rows, _ = transactions
    row = test_rows[(test_rows["merchant_category"] == "grocery")
                    & (test_rows["country"] == "DE")].head(1)
    odd = row.assign(merchant_category="casino")
    column = codec.names.index("merchant_category")
    assert parts(odd)[0, column] > parts(row)[0, column] + 2.0
