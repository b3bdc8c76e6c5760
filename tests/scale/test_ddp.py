"""DistributedDataParallel: ``torchrun --nproc-per-node 2 -m latentwatch fit`` on the CPU."""

import os
import subprocess
import sys

import numpy as np
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
