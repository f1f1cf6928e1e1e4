"""Expert buffers, trajectory matching (MTT/STM), evaluation and the CLI, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from galaxy_xai.cli import main
from galaxy_xai.distill import (
    BufferConfig,
    DistillConfig,
    DivergenceError,
    EvalConfig,
    STMConstants,
    distill,
    evaluate_distilled,
    load_buffer,
    load_distilled,
    matching_loss,
    train_experts,
)
from galaxy_xai.distill.digits import write_digits_dataset
from galaxy_xai.errors import DataMissingError, ModelMismatchError, ParameterError

TINY = {"experts": 2, "epochs": 4, "width": 8, "depth": 2, "batch_size": 32, "lr_teacher": 0.05}
FAST = {"syn_steps": 4, "expert_epochs": 1, "lr_img": 10.0, "checkpoint_every": 2}


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_digits_dataset(tmp_path_factory.mktemp("d") / "digits.h5", size=8, limit=300)


@pytest.fixture(scope="module")
def buffer_dir(digits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("b") / "buffer"
    torch.set_num_threads(1)
    train_experts(digits, out, BufferConfig(**TINY))
    return out


# ------------------------------------------------------------------ buffers
def test_buffer_layout_and_trajectories(buffer_dir: Path) -> None:
    buf = load_buffer(buffer_dir)
    m = buf.manifest
    assert len(buf) == 2 and buf.epochs == 4
    assert m["image_shape"] == [1, 8, 8] and m["num_classes"] == 10
    assert m["model"]["width"] == 8 and m["model"]["name"] == "convnet"
    split = buf.split()
    assert not set(split["train"]) & set(split["test"]) and len(split["test"]) > 0
    model = buf.build_model()
    assert buf.num_params == sum(p.numel() for p in model.parameters())
    # the trajectory moves every epoch and the experts start from different seeds
    steps = [float((buf.params(0, e + 1) - buf.params(0, e)).norm()) for e in range(4)]
    assert min(steps) > 0
    assert not torch.equal(buf.params(0, 0), buf.params(1, 0))
    acc = buf.validation_accuracy()
    assert acc.shape == (2, 5) and acc[:, -1].mean() > acc[:, 0].mean()
    with pytest.raises(ParameterError, match="epoch=5"):
        buf.params(0, 5)


def test_buffer_resumes_an_interrupted_expert_exactly(buffer_dir: Path, digits: Path) -> None:
    copy = buffer_dir.parent / "resumed"
    shutil.copytree(buffer_dir, copy)
    final = copy / "expert_001.h5"
    partial = copy / "expert_001.h5.partial"
    final.rename(partial)
    with h5py.File(partial, "a") as h5:  # interrupted after epoch 2
        h5.attrs["epochs_done"] = 2
        h5["params"][3:] = 0
    train_experts(digits, copy, BufferConfig(**TINY))
    assert not partial.exists()
    a, b = load_buffer(buffer_dir), load_buffer(copy)
    for epoch in range(5):
        torch.testing.assert_close(a.params(1, epoch), b.params(1, epoch))


def test_buffer_rejects_other_settings_and_bad_folders(
    buffer_dir: Path, digits: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelMismatchError, match="other settings.*model"):
        train_experts(digits, buffer_dir, BufferConfig(**{**TINY, "width": 16}))
    with pytest.raises(DataMissingError, match="no manifest.json"):
        load_buffer(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(buffer_dir, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["num_params"] += 1
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        ModelMismatchError, match=r"its model has \d+ parameters, not the \d+ it records"
    ):
        load_buffer(broken)
    buf = load_buffer(buffer_dir)
    with pytest.raises(ModelMismatchError, match=r"trained on images \(1, 8, 8\)"):
        buf.check_compatible(image_shape=(1, 16, 16))
    with pytest.raises(ModelMismatchError, match="another architecture: width 8 != 16"):
        buf.check_compatible(model={**buf.manifest["model"], "width": 16})
    with pytest.raises(ParameterError, match="experts=0"):
        train_experts(digits, tmp_path / "x", BufferConfig(experts=0))


# ------------------------------------------------------------------ matching
def test_matching_loss_is_one_without_student_steps_and_differentiable(buffer_dir: Path) -> None:
    buf = load_buffer(buffer_dir)
    model, layout = buf.build_model(), buf.layout()
    start, target = buf.params(0, 1), buf.params(0, 2)
    images = torch.randn(10, 1, 8, 8, requires_grad=True)
    labels = torch.arange(10)
    zero = matching_loss(
        model, layout, start, target, images, labels, torch.tensor(0.0), syn_steps=3
    )
    assert zero.item() == pytest.approx(1.0)
    lr = torch.tensor(0.01, requires_grad=True)
    loss = matching_loss(model, layout, start, target, images, labels, lr, syn_steps=3)
    loss.backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert lr.grad is not None and torch.isfinite(lr.grad)
    # the probe variant gives the same value without a graph to the images
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    kw = {"syn_steps": 3, "batch_syn": 4}
    a = matching_loss(model, layout, start, target, images, labels, lr, generator=g1, **kw)
    b = matching_loss(
        model,
        layout,
        start,
        target,
        images.detach(),
        labels,
        lr.detach(),
        generator=g2,
        create_graph=False,
        **kw,
    )
    assert a.item() == pytest.approx(b.item(), rel=1e-5)


def test_distill_resume_equals_an_uninterrupted_run(buffer_dir: Path, tmp_path: Path) -> None:
    cfg = DistillConfig(ipc=1, method="mtt", iterations=4, max_start_epoch=2, **FAST)
    full = distill(buffer_dir, tmp_path / "full", cfg)
    half = distill(buffer_dir, tmp_path / "half", DistillConfig(**{**vars(cfg), "iterations": 2}))
    assert half.iterations_done == 2
    resumed = distill(buffer_dir, tmp_path / "half", cfg, resume=True)
    assert resumed.iterations_done == 4
    torch.testing.assert_close(resumed.images, full.images)
    assert resumed.syn_lr == pytest.approx(full.syn_lr)
    out = tmp_path / "full"
    for name in ("distilled.pt", "checkpoint.pt", "config.yaml", "history.csv", "prototypes.png"):
        assert (out / name).is_file(), name
    d = load_distilled(out)
    assert d.images.shape == (10, 1, 8, 8) and d.labels.tolist() == list(range(10))
    with pytest.raises(ParameterError, match="already holds a distillation run"):
        distill(buffer_dir, out, cfg)
    with pytest.raises(ParameterError, match=r"other settings: ipc=1 \(now 2\)"):
        distill(buffer_dir, out, DistillConfig(**{**vars(cfg), "ipc": 2}), resume=True)


def test_stm_run_probes_and_advances(buffer_dir: Path, tmp_path: Path) -> None:
    stm = STMConstants(test_every=3, advance_below_sigma=0.0, advance_above_sigma=0.0)
    cfg = DistillConfig(ipc=1, method="stm", iterations=6, stm=stm, init="noise", **FAST)
    result = distill(buffer_dir, tmp_path / "stm", cfg)
    probes = [h["probe_loss"] for h in result.history]
    assert np.isfinite(probes[0])
    # with zero thresholds any non-flat series advances at the first test
    assert result.history[-1]["max_start_epoch"] >= 2
    assert all(h["start_epoch"] < h["max_start_epoch"] + 1 for h in result.history)


def test_stm_probe_changes_only_with_the_images(buffer_dir: Path, tmp_path: Path) -> None:
    # frozen images and lr: the probe (fixed expert, batch order and augmentation per
    # stage) must give the same loss every iteration, or the trend test sees noise
    stm = STMConstants(test_every=3, stage_limit=50)
    frozen = {**FAST, "lr_img": 1e-30}
    cfg = DistillConfig(
        ipc=1, method="stm", iterations=5, lr_lr=0.0, init="noise", stm=stm, **frozen
    )
    probes = [h["probe_loss"] for h in distill(buffer_dir, tmp_path / "p", cfg).history]
    assert np.isfinite(probes).all() and np.ptp(probes) < 1e-6 * abs(probes[0])


def test_divergence_is_reported_and_the_last_good_state_kept(
    buffer_dir: Path, tmp_path: Path
) -> None:
    cfg = DistillConfig(ipc=1, method="mtt", iterations=2, max_start_epoch=2, **FAST)
    distill(buffer_dir, tmp_path / "run", cfg)
    before = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    bad = DistillConfig(**{**vars(cfg), "iterations": 4, "divergence_loss": 1e-9})
    with pytest.raises(DivergenceError, match=r"iteration 3.*last good state \(iteration 2\)"):
        distill(buffer_dir, tmp_path / "run", bad, resume=True)
    after = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert after["iteration"] == 2
    torch.testing.assert_close(after["images"], before["images"])


def test_bad_run_settings_raise(buffer_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"ipc=30.*class '\d' has only \d+ training"):
        distill(buffer_dir, tmp_path / "a", DistillConfig(ipc=30, **FAST))
    with pytest.raises(ParameterError, match="max_start_epoch=9.*<= 4"):
        distill(buffer_dir, tmp_path / "b", DistillConfig(method="mtt", max_start_epoch=9, **FAST))
    with pytest.raises(ParameterError, match="expert_epochs=4"):
        distill(buffer_dir, tmp_path / "c", DistillConfig(**{**FAST, "expert_epochs": 4}))
    with pytest.raises(ParameterError, match="method='dc'"):
        DistillConfig(method="dc").check()


def test_resume_with_another_buffer_is_rejected(
    buffer_dir: Path, digits: Path, tmp_path: Path
) -> None:
    cfg = DistillConfig(ipc=1, method="mtt", iterations=2, max_start_epoch=2, **FAST)
    distill(buffer_dir, tmp_path / "run", cfg)
    other = tmp_path / "wide"
    train_experts(digits, other, BufferConfig(**{**TINY, "experts": 1, "epochs": 2, "width": 4}))
    with pytest.raises(ModelMismatchError, match="checkpoint .* made with model"):
        distill(
            other, tmp_path / "run", DistillConfig(**{**vars(cfg), "iterations": 3}), resume=True
        )


# ------------------------------------------------------------------ evaluation and CLI
def test_evaluate_and_cli(buffer_dir: Path, digits: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert (
        main(
            [
                "--no-progress",
                "distill",
                "run",
                "--buffer",
                str(buffer_dir),
                "--ipc",
                "2",
                "--method",
                "stm",
                "--out",
                str(run),
                "--iterations",
                "3",
                "--syn-steps",
                "3",
                "--expert-epochs",
                "1",
                "--lr-img",
                "10",
            ]
        )
        == 0
    )
    assert "distilled 20 images" in capsys.readouterr().out
    out = tmp_path / "eval.json"
    assert (
        main(
            [
                "distill",
                "evaluate",
                "--distilled",
                str(run),
                "--data",
                str(digits),
                "--runs",
                "2",
                "--epochs",
                "15",
                "--full-epochs",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    results = json.loads(out.read_text())
    for name in ("distilled", "random", "mean", "full"):
        assert len(results[name]["runs"]) == 2 and 0 <= results[name]["mean"] <= 1
    assert results["chance"] == pytest.approx(0.1) and results["ipc"] == 2
    assert results["distilled"]["mean"] > results["chance"]
    assert Path(results["prototypes_png"]).is_file()
    if results.get("saliency"):
        maps = np.load(results["saliency"]["npy"])
        assert maps.shape == (20, 8, 8) and np.isfinite(maps).all()
    # a dataset with another image size is rejected
    big = write_digits_dataset(tmp_path / "d16.h5", size=16, limit=300)
    with pytest.raises(
        ModelMismatchError, match=r"images \(1, 16, 16\).*distilled set has \(1, 8, 8\)"
    ):
        evaluate_distilled(run, big, config=EvalConfig(runs=1, epochs=1, baselines=()))
    with pytest.raises(ParameterError, match="unknown baseline"):
        evaluate_distilled(run, config=EvalConfig(baselines=("kmeans",)))
    # bad input on the command line: one line, exit status 2
    assert (
        main(
            [
                "distill",
                "run",
                "--buffer",
                str(tmp_path / "none"),
                "--ipc",
                "1",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "no manifest.json" in capsys.readouterr().err
    assert (
        main(
            [
                "distill",
                "buffer",
                "--data",
                str(digits),
                "--out",
                str(tmp_path / "b2"),
                "--experts",
                "1",
                "--epochs",
                "1",
                "--width",
                "4",
                "--depth",
                "2",
                "--class-map",
                "0:zero,1:one",
            ]
        )
        == 0
    )
    assert "classes ['zero', 'one']" in capsys.readouterr().out
