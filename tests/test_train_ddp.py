"""Two-process DDP on CPU (gloo): both ranks end with the same model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from _train_helpers import blob_ring_dataset


@pytest.mark.slow
def test_two_process_ddp_ranks_agree(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=32)
    cfg = tmp_path / "train.yaml"
    cfg.write_text(
        "model: {name: compact, kwargs: {width: 4, depth: 2, dense_units: 8}}\n"
        "trainer: {patience: 0, log_every_n_steps: 1}\n"
    )
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GALAXY_XAI_PROGRESS": "0",
           "PYTHONWARNINGS": "ignore"}  # fmt: skip
    cmd = [sys.executable, "-m", "galaxy_xai", "train", "--data", str(data), "--out", str(out),
           "--config", str(cfg), "--epochs", "2", "--batch-size", "4", "--devices", "2",
           "--strategy", "ddp", "--accelerator", "cpu", "--num-nodes", "1"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"ddp_rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["parameter_sha256"] == ranks[1]["parameter_sha256"]
    assert (out / "model.json").is_file() and (out / "metrics.json").is_file()
