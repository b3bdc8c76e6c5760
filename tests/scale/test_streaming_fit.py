"""fit_dataset end to end: detection, the model file, checkpoints and resume, the CLI."""

import numpy as np
import pandas as pd
import pytest
import torch
from scale_helpers import SCHEMA, write_parts
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from latentwatch import AutoEncoderDetector, VAEDetector, load
from latentwatch.cli import app
from latentwatch.engine.checkpoint import FILE_NAME
from latentwatch.errors import ModelFormatError


class Interrupted(Exception):
    pass


def stop_after(epochs: int):
    def hook(epoch, history):
        if epoch + 1 == epochs:
            raise Interrupted

    return hook


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_dataset_detects_planted_anomalies_and_round_trips(tmp_path, transactions):
    folder, train, test, kind = transactions
    model = VAEDetector(schema=SCHEMA, max_epochs=5, random_state=0).fit_dataset(
        folder, chunk_rows=200)
    scores = model.anomaly_score(test)
    streamed = roc_auc_score(kind != "normal", scores)
    in_memory = roc_auc_score(kind != "normal", VAEDetector(
        schema=SCHEMA, max_epochs=5, random_state=0).fit(train).anomaly_score(test))
    assert streamed > 0.82 and streamed > in_memory - 0.05, (streamed, in_memory)
    rows = model.history_["rows"]
    assert sum(rows.values()) == len(train) and 240 < rows["validation"] < 360
    assert model.history_["epoch_rows"] == [rows["train"]] * model.n_epochs_
    loaded = load(model.save(tmp_path / "m.lwm"))
    assert np.array_equal(loaded.anomaly_score(test), scores)
    assert loaded.explain(test.iloc[:2], top_k=2)[0]  # every output reads the streamed model
    assert len(loaded.sample(5, random_state=0)) == 5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_false_alarm_rate_calibrates_on_held_out_rows(transactions):
    folder, _, test, kind = transactions
    model = AutoEncoderDetector(schema=SCHEMA, max_epochs=3, random_state=1,
                                threshold="false_alarm_rate:0.05").fit_dataset(folder)
    assert model.calibration_source_ == "calibration_split"
    assert len(model.calibration_scores_) == model.history_["rows"]["calibration"] > 100
    flagged = (model.predict(test[kind == "normal"]) == -1).mean()
    assert flagged < 0.12


def test_a_calibration_share_too_small_for_the_rate_is_refused_before_training(transactions):
    folder = transactions[0]
    model = AutoEncoderDetector(schema=SCHEMA, random_state=1,
                                threshold="false_alarm_rate:0.001")
    with pytest.raises(ValueError, match=r"needs at least 999 calibration rows, but .* gives "
                                         r"about \d+; raise max_calibration_rows"):
        model.fit_dataset(folder, max_calibration_rows=200)
    assert not hasattr(model, "module_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_resume_gives_the_model_of_an_uninterrupted_run(tmp_path, planted):
    folder, test, _ = planted
    kwargs = {"max_epochs": 4, "random_state": 0, "patience": 10}
    whole = VAEDetector(**kwargs).fit_dataset(folder, checkpoint_dir=tmp_path / "a",
                        shuffle_rows=256)
    with pytest.raises(Interrupted):
        VAEDetector(**kwargs).fit_dataset(folder, checkpoint_dir=tmp_path / "b",
                    shuffle_rows=256, on_epoch_end=stop_after(2))
    assert (tmp_path / "b" / FILE_NAME).is_file()
    resumed = VAEDetector(**kwargs).fit_dataset(folder, checkpoint_dir=tmp_path / "b",
                          shuffle_rows=256, resume=True)
    assert resumed.history_["resumed_from"] == 2
    # bit for bit: the epochs' random streams come from (seed, epoch, rank) and the
    # checkpoint holds the weights, Adam's state and the early-stopping state exactly
    for key, value in whole.module_.state_dict().items():
        assert torch.equal(value, resumed.module_.state_dict()[key]), key
    assert whole.history_["val_loss"] == resumed.history_["val_loss"]
    assert np.array_equal(whole.anomaly_score(test), resumed.anomaly_score(test))


def test_a_checkpoint_of_another_run_is_refused(tmp_path, planted):
    folder, _, _ = planted
    with pytest.raises(Interrupted):
        AutoEncoderDetector(max_epochs=3, random_state=0).fit_dataset(folder,
                    checkpoint_dir=tmp_path, on_epoch_end=stop_after(1))
    with pytest.raises(ModelFormatError, match="written by another run") as error:
        AutoEncoderDetector(max_epochs=3, random_state=1).fit_dataset(folder,
                    checkpoint_dir=tmp_path, resume=True)
    assert "\n" not in str(error.value)


def test_cli_streams_a_glob_and_resumes(tmp_path, transactions):
    folder, _, test, kind = transactions
    csv = tmp_path / "csv"
    write_parts(pd.concat([pd.read_parquet(p) for p in sorted(folder.iterdir())]), csv, 2,
                500, "csv")
    runner = CliRunner()
    model = tmp_path / "m.lwm"
    args = ["fit", f"{csv}/*.csv", "-i", "transaction_id", "-x", "customer_id", "-o",
            str(model), "--epochs", "2", "--seed", "2", "-q",
            "--checkpoint-dir", str(tmp_path / "ck")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "streamed rows" in result.output and (tmp_path / "ck" / FILE_NAME).is_file()
    first = load(model).anomaly_score(test)
    assert roc_auc_score(kind != "normal", first) > 0.75
    again = runner.invoke(app, [*args, "--resume"])  # the checkpoint is complete: no epoch
    assert again.exit_code == 0, again.output
    assert "2 resumed" in again.output
    assert np.array_equal(load(model).anomaly_score(test), first)
    test.to_csv(tmp_path / "test.csv", index=False)
    scored = runner.invoke(app, ["score", str(model), str(tmp_path / "test.csv"), "-o",
                                 str(tmp_path / "s.csv"), "-q"])
    assert scored.exit_code == 0, scored.output
    assert len(pd.read_csv(tmp_path / "s.csv")) == len(test)


def test_cli_refuses_resume_without_a_streamed_fit(tmp_path, transactions):
    _, train, _, _ = transactions
    path = tmp_path / "one.csv"
    train.iloc[:200].to_csv(path, index=False)
    result = CliRunner().invoke(app, ["fit", str(path), "--resume", "-q"])
    assert result.exit_code != 0
    assert "apply to a streamed fit" in result.output


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_purpose_generate_streams_with_the_generative_recipe(tmp_path, transactions):
    folder, train, _, _ = transactions
    out = tmp_path / "g.lwm"
    result = CliRunner().invoke(app, [
        "fit", str(folder), "-o", str(out), "--epochs", "2", "--purpose", "generate",
        "--id-column", "transaction_id", "--exclude", "customer_id", "--quiet"])
    assert result.exit_code == 0, result.output
    model = load(out)
    detect = VAEDetector(schema=SCHEMA, max_epochs=2, random_state=0).fit_dataset(folder)
    assert model.purpose == "generate" and model.codec_.numeric_transform == "mixed"
    assert model.latent_dim_ > detect.latent_dim_
    rows = model.sample(300, random_state=0)
    assert set(rows["country"]) <= set(train["country"])
    assert rows["amount"].between(train["amount"].min(), train["amount"].max()).all()
