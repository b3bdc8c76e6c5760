"""DistributedDataParallel: ``torchrun --nproc-per-node 2 -m latentwatch fit`` on the CPU."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from latentwatch import load


def test_torchrun_trains_one_model_on_disjoint_shards(tmp_path, planted):
    folder, test, y = planted
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "latentwatch", "fit", f"{folder}/*.parquet",
               "-o", str(out / "m.lwm"), "--epochs", "10", "--seed", "0", "--device", "cpu", "-q",
               "--checkpoint-dir", str(tmp_path / "ck")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained VAEDetector") == 1  # rank 0 reports, and writes
    assert "on 2 ranks" in done.stdout
    assert sorted(os.listdir(out)) == ["m.lwm"]  # written once, no temporary file left
    model = load(out / "m.lwm")
    history = model.history_
    assert history["world_size"] == 2 and len(history["train_loss"]) == 10
    n_train = history["rows"]["train"]
    # the ranks' shards are disjoint: together they step on each training row at most
    # once an epoch (an epoch ends when one rank runs out: at most a row group is left)
    assert all(n_train - 100 <= seen <= n_train for seen in history["epoch_rows"])
    scores = model.anomaly_score(test)
    assert roc_auc_score(y, scores) > 0.85
    assert np.isfinite(scores).all()


def test_torchrun_on_one_file_trains_one_model_across_the_ranks(tmp_path, planted):
    """The in-memory route (one file) under torchrun: the ranks share the training rows
    and train one model, not a copy each."""
    folder, test, y = planted
    train = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))])
    data = tmp_path / "train.csv"
    train.to_csv(data, index=False)
    fit = ["-m", "latentwatch", "fit", str(data), "--epochs", "8", "--seed", "0",
           "--device", "cpu", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ranks = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                            "--nproc-per-node", "2", *fit, "-o", str(tmp_path / "ddp.lwm")],
                           capture_output=True, text=True, timeout=240, env=env)
    assert ranks.returncode == 0, ranks.stderr[-3000:]
    assert ranks.stdout.count("trained VAEDetector") == 1 and "on 2 ranks" in ranks.stdout
    one = subprocess.run([sys.executable, *fit, "-o", str(tmp_path / "one.lwm")],
                         capture_output=True, text=True, timeout=240, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    ddp, single = load(tmp_path / "ddp.lwm"), load(tmp_path / "one.lwm")
    assert ddp.history_["world_size"] == 2 and single.history_["world_size"] == 1
    # every training row is stepped on exactly once an epoch, by one of the two ranks
    n_train = single.history_["epoch_rows"][0]
    assert ddp.history_["epoch_rows"] == [n_train] * len(ddp.history_["train_loss"])
    scores = ddp.anomaly_score(test)
    assert not np.array_equal(scores, single.anomaly_score(test))  # not a one-process copy
    assert roc_auc_score(y, scores) > 0.85
