"""Bad input to the model commands: one line, exit 2, nothing that looks finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _train_helpers import blob_ring_dataset, tiny_config, tiny_run
from galaxy_xai.cli import main
from galaxy_xai.data.store import write_dataset
from galaxy_xai.train import train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalog = pd.DataFrame({"id": pd.Series([], dtype=str), "label": pd.Series([], dtype=int)})
    path = tmp_path_factory.mktemp("empty") / "empty.h5"
    images = np.zeros((0, 1, 16, 16), np.float32)
    return write_dataset(path, images, catalog, metadata={"label_names": ["blob", "ring"]})


def _fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("command", ["predict", "evaluate", "explain", "check", "train"])
def test_empty_dataset_is_refused(
    command: str, run: Path, empty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = {
        "predict": ["predict", "--model", str(run), "--data", str(empty), "--out", f"{out}.csv"],
        "evaluate": ["evaluate", "--model", str(run), "--data", str(empty), "--split", "all"],
        "explain": ["explain", "--model", str(run), "--data", str(empty), "--out", f"{out}.h5",
                    "--target", "ring", "--method", "gradient"],
        "check": ["explain", "--check", "--model", str(run), "--data", str(empty),
                  "--out", f"{out}.json", "--target", "ring"],
        "train": ["train", "--data", str(empty), "--out", str(out), "--epochs", "1"],
    }[command]  # fmt: skip
    _fails_with(capsys, argv, "holds no images", "empty.h5")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("column", ["id", "serial", "fraction"])
def test_target_that_cannot_be_a_label_is_refused(
    column: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    data = blob_ring_dataset(
        tmp_path / "d.h5", n=24, serial=np.arange(24) * 7, fraction=rng.uniform(0, 1, 24)
    )
    argv = ["train", "--data", str(data), "--target-col", column, "--out", str(tmp_path / "r"),
            "--epochs", "1"]  # fmt: skip
    _fails_with(capsys, argv, f"column '{column}' cannot be a class label", "24 rows")
    assert not (tmp_path / "r").exists()


def test_few_classes_with_repeats_are_still_labels(tmp_path: Path) -> None:
    data = blob_ring_dataset(tmp_path / "d.h5", n=24, kind=np.arange(24) % 3)
    cfg = tiny_config(data, data={"target": "kind"})
    assert (train(cfg, tmp_path / "r") / "model.json").is_file()


def test_yaml_parse_errors_print_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  max_epochs: [1, 2\n  batch_size: 4\n")
    argv = ["train", "--config", str(bad), "--data", "x.h5", "--out", str(tmp_path / "r")]
    _fails_with(capsys, argv, "bad.yaml")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04\x14\x00 cut short"])
def test_damaged_checkpoints_for_resume_and_transfer(
    content: bytes, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    copy = shutil.copytree(run, tmp_path / "copy")
    (copy / "model.json").unlink()
    (copy / "model.safetensors").unlink()
    (copy / "checkpoints" / "last.ckpt").write_bytes(content)
    _fails_with(capsys, ["train", "--out", str(copy), "--resume"], "last.ckpt")
    damaged = tmp_path / "damaged.ckpt"
    damaged.write_bytes(content)
    data = run.parent / "d.h5"
    argv = ["train", "--data", str(data), "--out", str(tmp_path / "t"), "--epochs", "1",
            "--transfer-from", str(damaged)]  # fmt: skip
    _fails_with(capsys, argv, "damaged.ckpt")
    assert not (tmp_path / "t" / "model.json").exists()


@pytest.mark.slow
def test_ctrl_c_during_train_exits_130_with_the_resume_hint(tmp_path: Path) -> None:
    data = blob_ring_dataset(tmp_path / "d.h5", n=200, size=32)
    config = tmp_path / "c.yaml"
    config.write_text("trainer:\n  patience: 0\n  max_epochs: 1000\n  batch_size: 8\n")
    run = tmp_path / "run"
    env = {**os.environ, "GALAXY_XAI_PROGRESS": "0"}
    argv = [sys.executable, "-m", "galaxy_xai", "train", "--config", str(config),
            "--data", str(data), "--out", str(run)]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "last.ckpt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["galaxy-xai train: interrupted; finished outputs are kept, rerun to resume"]
    assert not (run / "model.json").exists() and (run / "checkpoints" / "last.ckpt").is_file()


def test_a_second_training_into_the_same_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from galaxy_xai.io import OutputLock

    data = blob_ring_dataset(tmp_path / "d.h5", n=16)
    run = tmp_path / "runs" / "r"
    with OutputLock(run):  # what a running `galaxy-xai train --out runs/r` holds
        argv = ["train", "--data", str(data), "--out", str(run), "--epochs", "1"]
        _fails_with(capsys, argv, "another process is writing", "runs/r")
    assert not run.exists()
    assert (train(tiny_config(data), run) / "model.json").is_file()
    assert sorted(p.name for p in run.parent.iterdir()) == ["r"]  # no stray lock file
