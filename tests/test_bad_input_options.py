"""Bad numbers and paths in command-line options: one line, exit 2, nothing finished."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from _train_helpers import blob_ring_dataset, tiny_config
from galaxy_xai.cli import main
from galaxy_xai.cli_types import COUNT, FRACTION, POSITIVE, SEED, Number, devices, number_list
from galaxy_xai.train.run import _divergence

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FINISHED = ("model.json", "model.safetensors", "metrics.json")


def _fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err and err.count("\n") == 0 and "Traceback" not in err, err
    assert "usage:" not in captured.out + err
    for needle in needles:
        assert needle in err, err
    return err


# Minimal arguments of each command, so that only the option under test is wrong.
BASE = {
    "train": ["train", "--data", "d.h5", "--out", "run"],
    "predict": ["predict", "--model", "run", "--data", "d.h5", "--out", "p.csv"],
    "evaluate": ["evaluate", "--model", "run", "--data", "d.h5", "--out", "e.json"],
    "explain": ["explain", "--model", "run", "--data", "d.h5", "--out", "m.h5"],
    "simulate": ["simulate", "--out", "s.h5", "--n", "4"],
    "import": ["data", "import", "folder", "src", "--out", "i.h5"],
    "calibrate": ["bars", "calibrate", "--maps", "m.h5", "--data", "d.h5", "--out", "c.json"],
    "measure": ["bars", "measure", "--maps", "m.h5", "--out", "b.csv"],
    "bars-evaluate": ["bars", "evaluate", "--pred", "b.csv", "--truth", "t.csv",
                      "--length-col", "L", "--out", "e.json"],
    "train-network": ["bars", "train-network", "--out", "bn"],
    "train-direct": ["bars", "train-direct", "--data", "d.h5", "--out", "bd"],
    "bar-network": ["workflows", "bar-network", "--out", "bn"],
    "bar-direct": ["workflows", "bar-direct", "--data", "d.h5", "--out", "bd"],
    "buffer": ["distill", "buffer", "--data", "d.h5", "--out", "buf"],
    "distill-run": ["distill", "run", "--buffer", "buf", "--ipc", "1", "--out", "dr"],
    "distill-evaluate": ["distill", "evaluate", "--distilled", "dr", "--out", "de.json"],
    "demo": ["demo", "--out", "demo"],
    "join": ["data", "join", "a.h5", "b.h5", "--out", "j.h5"],
    "convert": ["models", "convert", "model.pt", "--out", "converted"],
    "report": ["report", "run", "--out", "r.html"],
}  # fmt: skip

BAD_NUMBERS = [
    ("train", "--lr", "inf"), ("train", "--lr", "nan"), ("train", "--lr", "0"),
    ("train", "--lr", "-0.001"), ("train", "--epochs", "0"), ("train", "--batch-size", "-1"),
    ("train", "--devices", "nan"), ("train", "--devices", "0"), ("train", "--devices", "-1"),
    ("train", "--num-nodes", "0"), ("train", "--seed", "-1"), ("train", "--seed", "4294967296"),
    ("train", "--epochs", "1.5"),
    ("predict", "--batch-size", "0"), ("predict", "--mc-samples", "-1"),
    ("predict", "--seed", "nan"),
    ("evaluate", "--batch-size", "0"), ("evaluate", "--batch-size", "-1"),
    ("evaluate", "--bins", "0"),
    ("explain", "--n-samples", "0"), ("explain", "--noise-level", "nan"),
    ("explain", "--noise-level", "-0.1"), ("explain", "--noise-level", "inf"),
    ("explain", "--batch-size", "0"), ("explain", "--limit", "0"), ("explain", "--n-steps", "0"),
    ("explain", "--window-px", "0"), ("explain", "--stride-px", "-2"), ("explain", "--n", "0"),
    ("simulate", "--n", "0"), ("simulate", "--workers", "0"), ("simulate", "--size", "8"),
    ("simulate", "--bar-fraction", "1.5"), ("simulate", "--bar-fraction", "nan"),
    ("import", "--size", "4097"), ("import", "--crop", "0"), ("import", "--crop", "inf"),
    ("import", "--workers", "0"), ("import", "--limit", "0"),
    ("calibrate", "--smooth", "1e12"), ("calibrate", "--smooth", "0,nan"),
    ("calibrate", "--smooth", ","), ("calibrate", "--corr-thresholds", "0.8,1.5"),
    ("calibrate", "--min-pixels", "10,2"), ("calibrate", "--cv-folds", "1"),
    ("calibrate", "--cv-seed", "-1"),
    ("measure", "--pixel-scale", "0"), ("measure", "--pixel-scale", "inf"),
    ("measure", "--corr-threshold", "nan"), ("measure", "--min-pixels", "0"),
    ("bars-evaluate", "--n-boot", "0"), ("bars-evaluate", "--seed", "-5"),
    ("train-network", "--centre-mask", "1.5"), ("train-network", "--n-sim", "0"),
    ("train-network", "--size", "8"), ("train-network", "--epochs", "0"),
    ("train-network", "--finetune-epochs", "-1"),
    ("train-direct", "--epochs", "0"),
    ("bar-network", "--centre-mask", "1.5"), ("bar-network", "--n-sim", "0"),
    ("bar-direct", "--epochs", "0"),
    ("buffer", "--lr-teacher", "inf"), ("buffer", "--experts", "0"), ("buffer", "--width", "0"),
    ("buffer", "--split-seed", "-1"),
    ("distill-run", "--stm-lr-floor", "nan"), ("distill-run", "--stm-lr-floor", "inf"),
    ("distill-run", "--lr-img", "0"), ("distill-run", "--lr-lr", "-1"),
    ("distill-run", "--lr-init", "nan"), ("distill-run", "--stm-decay-factor", "1"),
    ("distill-run", "--stm-test-every", "2"), ("distill-run", "--iterations", "0"),
    ("distill-run", "--checkpoint-every", "0"),
    ("distill-evaluate", "--runs", "0"), ("distill-evaluate", "--full-epochs", "0"),
    ("demo", "--seed", "-1"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "option", "value"), BAD_NUMBERS)
def test_bad_number_is_refused_in_one_line(
    command: str,
    option: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    _fails_with(capsys, [*BASE[command], option, value], f"argument {option}", repr(value))
    assert not list(tmp_path.iterdir())


OUTPUTS = [(c, "--out") for c in sorted(BASE)] + [
    ("explain", "--overlays"),
    ("bars-evaluate", "--plot"),
    ("train-direct", "--pred-out"),
    ("bar-direct", "--pred-out"),
]


@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_non_utf8_output_path_is_refused(
    command: str,
    option: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = list(BASE[command])
    bad = os.fsdecode(b"run-\xff")
    if option in argv:
        argv[argv.index(option) + 1] = bad
    else:
        argv += [option, bad]
    _fails_with(capsys, argv, f"argument {option}", "run-\\xff", "not valid UTF-8")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--model", "run", "--data", "d.h5", "--out", "p.csv", "--bogus"],
        ["train", "--task", "poetry", "--out", "run"],
        ["train", "--data", "d.h5"],
        ["no-such-command"],
        ["bars", "measure", "--out", "b.csv"],
    ],
)
def test_argparse_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails_with(capsys, argv, "error:", "--help")
    assert err.startswith("galaxy-xai")


def test_help_still_shows_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["train", "--help"], ["bars", "calibrate", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert "usage: galaxy-xai" in capsys.readouterr().out


def test_good_values_are_read() -> None:
    assert COUNT("3") == 3 and SEED("0") == 0 and SEED(str(2**32 - 1)) == 2**32 - 1
    assert POSITIVE("1e-3") == pytest.approx(1e-3) and FRACTION("1") == 1.0
    assert devices("auto") == "auto" and devices("2") == 2
    assert number_list(Number(float, 0.0, 100.0))("0, 1.5,") == (0.0, 1.5)
    assert Number(float, 0.0, 1.0, low_open=True, high_open=True).describe() == (
        "a number in (0, 1)"
    )
    with pytest.raises(argparse.ArgumentTypeError, match="'100.5' is not a number in"):
        number_list(Number(float, 0.0, 100.0))("100.5")


def _tiny_yaml(tmp_path: Path, data: Path, **sections: object) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(tiny_config(data, **sections)))
    return path


def test_diverging_training_leaves_no_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = blob_ring_dataset(tmp_path / "d.h5", n=32)
    config = _tiny_yaml(tmp_path, data)
    out = tmp_path / "run"
    argv = ["--no-progress", "train", "--config", str(config), "--out", str(out), "--lr", "1e30"]
    _fails_with(capsys, argv, "training diverged", "is nan after epoch", "optim.lr=1e+30")
    assert not [name for name in FINISHED if (out / name).exists()]


def test_nan_images_are_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = blob_ring_dataset(tmp_path / "d.h5", n=24)
    with h5py.File(data, "r+") as h5:
        images = h5["images"][...]
        images[5, 0, 3, 3] = np.nan
        h5["images"][...] = images
    out = tmp_path / "run"
    argv = ["--no-progress", "train", "--config", str(_tiny_yaml(tmp_path, data)),
            "--out", str(out)]  # fmt: skip
    _fails_with(capsys, argv, "row 5 (id 'g005')", "NaN or infinite pixels", "d.h5")
    assert not out.exists()


class _FakeTrainer:
    def __init__(self) -> None:
        self.callback_metrics = {"train_loss": torch.tensor(0.5)}
        self.current_epoch = 2


def test_non_finite_weights_count_as_divergence() -> None:
    model = torch.nn.Linear(2, 1)
    assert _divergence(_FakeTrainer(), None, model) is None  # type: ignore[arg-type]
    with torch.no_grad():
        model.bias.fill_(float("inf"))
    cause = _divergence(_FakeTrainer(), None, model)  # type: ignore[arg-type]
    assert cause == "the weights 'bias' are not finite"
