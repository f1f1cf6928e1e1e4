"""Model files: safetensors + JSON, checksums, and no code run by any load path."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from _train_helpers import tiny_run
from galaxy_xai.cli import main
from galaxy_xai.errors import DataMissingError, ModelMismatchError, ParameterError, UnsafeFileError
from galaxy_xai.models.files import (
    MODEL_INFO_NAME,
    MODEL_WEIGHTS_NAME,
    convert_legacy_model,
    read_model,
    safe_torch_load,
)
from galaxy_xai.train import load_trained

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class _Marker:
    """Unpickling this creates the marker file: what a malicious model file would do."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (shutil.copyfile, (os.devnull, self.path))


def _evil(path: Path, marker: Path, *, payload: dict | None = None) -> Path:
    """A torch file (zip + pickle) whose unpickling would create ``marker``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {**(payload or {}), "hook": _Marker(marker)}
    torch.save(blob, path)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def data(run: Path) -> Path:
    return run.parent / "d.h5"


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


def test_run_folder_holds_safetensors_and_json(run: Path) -> None:
    assert (run / MODEL_WEIGHTS_NAME).is_file() and (run / MODEL_INFO_NAME).is_file()
    assert not (run / "model.pt").exists()
    info = json.loads((run / MODEL_INFO_NAME).read_text())
    assert info["format"] == "galaxy-xai-model" and info["format_version"] == 2
    assert info["output_names"] == ["blob", "ring"] and info["input_shape"] == [1, 16, 16]
    assert len(info["weights_sha256"]) == 64
    a = load_trained(run)
    b = load_trained(run / MODEL_INFO_NAME)
    c = load_trained(run / MODEL_WEIGHTS_NAME)
    for x, y in ((a, b), (a, c)):
        for (k, v), (k2, v2) in zip(
            x.model.state_dict().items(), y.model.state_dict().items(), strict=True
        ):
            assert k == k2 and torch.equal(v, v2)
    assert a.split is not None and len(a.split["test"]) > 0


def test_tampered_weights_fail_their_checksum(run: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(run, tmp_path / "copy")
    raw = bytearray((copy / MODEL_WEIGHTS_NAME).read_bytes())
    raw[-1] ^= 0xFF
    (copy / MODEL_WEIGHTS_NAME).write_bytes(bytes(raw))
    with pytest.raises(ModelMismatchError, match=r"do not match their checksum in 'model\.json'"):
        load_trained(copy)


@pytest.mark.parametrize("damage", ["empty", "truncated", "not_json"])
def test_damaged_model_files_raise_one_error(run: Path, tmp_path: Path, damage: str) -> None:
    copy = shutil.copytree(run, tmp_path / "copy")
    if damage == "empty":
        (copy / MODEL_INFO_NAME).write_bytes(b"")
        match = "not valid JSON"
    elif damage == "truncated":
        weights = copy / MODEL_WEIGHTS_NAME
        weights.write_bytes(weights.read_bytes()[:100])
        match = "checksum"
    else:
        (copy / MODEL_INFO_NAME).write_text("[1, 2")
        match = "not valid JSON"
    with pytest.raises(ModelMismatchError, match=match):
        load_trained(copy)


def test_weights_without_their_json_are_unfinished(run: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(run, tmp_path / "copy")
    (copy / MODEL_INFO_NAME).unlink()
    with pytest.raises(DataMissingError, match="not finished"):
        load_trained(copy / MODEL_WEIGHTS_NAME)


def test_unfinished_run_is_refused_unless_asked(
    run: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = shutil.copytree(run, tmp_path / "copy")
    (copy / MODEL_INFO_NAME).unlink()
    (copy / MODEL_WEIGHTS_NAME).unlink()
    with pytest.raises(DataMissingError, match="--allow-unfinished"):
        load_trained(copy)
    assert load_trained(copy, allow_unfinished=True).path.name == "last.ckpt"
    out = tmp_path / "p.csv"
    for argv in (
        ["predict", "--model", str(copy), "--data", str(data), "--out", str(out)],
        ["evaluate", "--model", str(copy), "--data", str(data)],
        ["explain", "--model", str(copy), "--data", str(data), "--out", str(tmp_path / "m.h5"),
         "--target", "ring", "--method", "gradient"],
    ):  # fmt: skip
        err = _one_line_exit_2(capsys, argv)
        assert "--allow-unfinished" in err and "--resume" in err
    assert not out.exists()
    assert main(["predict", "--model", str(copy), "--data", str(data), "--out", str(out),
                 "--allow-unfinished"]) == 0  # fmt: skip
    assert out.is_file()


def test_legacy_model_pt_loads_through_the_safe_path(run: Path, tmp_path: Path) -> None:
    trained = load_trained(run)
    info = json.loads((run / MODEL_INFO_NAME).read_text())
    legacy = {
        k: v for k, v in info.items() if k not in ("format_version", "weights", "weights_sha256")
    }
    legacy["state_dict"] = trained.model.state_dict()
    folder = tmp_path / "old"
    folder.mkdir()
    torch.save(legacy, folder / "model.pt")
    old = load_trained(folder)
    assert old.output_names == trained.output_names
    out = convert_legacy_model(folder, tmp_path / "new", trust=False)
    assert out.name == MODEL_INFO_NAME
    new = load_trained(out.parent)
    for k, v in trained.model.state_dict().items():
        assert torch.equal(new.model.state_dict()[k], v)


def test_convert_runs_the_unsafe_load_only_with_trust(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trained = load_trained(run)
    info = json.loads((run / MODEL_INFO_NAME).read_text())
    legacy = {
        k: v for k, v in info.items() if k not in ("format_version", "weights", "weights_sha256")
    }
    legacy["state_dict"] = trained.model.state_dict()
    legacy["made_by"] = Path("somewhere")  # an object a weights-only load refuses
    folder = tmp_path / "old"
    folder.mkdir()
    torch.save(legacy, folder / "model.pt")
    with pytest.raises(UnsafeFileError, match="models convert PATH --trust"):
        load_trained(folder)
    with pytest.raises(ParameterError, match="trust=False"):
        convert_legacy_model(folder / "model.pt", trust=False)
    err = _one_line_exit_2(capsys, ["models", "convert", str(folder / "model.pt")])
    assert "--trust" in err and not (folder / MODEL_INFO_NAME).exists()
    assert main(["models", "convert", str(folder / "model.pt"), "--trust"]) == 0
    assert load_trained(folder / MODEL_INFO_NAME).output_names == ["blob", "ring"]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"not a torch file"])
def test_safe_torch_load_reports_damaged_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.ckpt"
    path.write_bytes(content)
    with pytest.raises(ModelMismatchError, match="'.*x.ckpt' is (empty|not a readable torch)"):
        safe_torch_load(path, what="checkpoint")


# ---------------------------------------------------------------- the marker test
def _evil_run(run: Path, dest: Path, marker: Path, *, where: str) -> Path:
    """A copy of ``run`` whose ``where`` file is a code-running pickle."""
    copy = shutil.copytree(run, dest)
    if where == "model.pt":
        (copy / MODEL_INFO_NAME).unlink()
        (copy / MODEL_WEIGHTS_NAME).unlink()
        _evil(copy / "model.pt", marker, payload={"format": "galaxy-xai-model"})
    elif where == "last.ckpt":
        _evil(copy / "checkpoints" / "last.ckpt", marker, payload={"epoch": 0})
    return copy


def test_no_load_path_runs_code_from_a_crafted_file(
    run: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "MARKER"
    evil_run = _evil_run(run, tmp_path / "evil_run", marker, where="model.pt")
    evil_pt = evil_run / "model.pt"
    evil_ckpt = _evil(tmp_path / "evil.ckpt", marker, payload={"galaxy_xai": {}})
    resumable = _evil_run(run, tmp_path / "resumable", marker, where="last.ckpt")
    (resumable / MODEL_INFO_NAME).unlink()
    (resumable / MODEL_WEIGHTS_NAME).unlink()
    out = tmp_path / "out"
    explain = ["--data", str(data), "--target", "ring", "--method", "gradient"]
    cases = {
        "predict run": ["predict", "--model", str(evil_run), "--data", str(data),
                        "--out", str(out / "p.csv")],
        "predict ckpt": ["predict", "--model", str(evil_ckpt), "--data", str(data),
                         "--out", str(out / "p.csv")],
        "predict unfinished": ["predict", "--model", str(resumable), "--data", str(data),
                               "--out", str(out / "p.csv"), "--allow-unfinished"],
        "evaluate": ["evaluate", "--model", str(evil_pt), "--data", str(data)],
        "explain": ["explain", "--model", str(evil_run), "--out", str(out / "m.h5"), *explain],
        "explain check": ["explain", "--check", "--model", str(evil_ckpt),
                          "--out", str(out / "c.json"), *explain],
        "transfer": ["train", "--data", str(data), "--out", str(out / "t"), "--epochs", "1",
                     "--transfer-from", str(evil_pt)],
        "transfer ckpt": ["train", "--data", str(data), "--out", str(out / "t2"),
                          "--epochs", "1", "--transfer-from", str(evil_ckpt)],
        "resume": ["train", "--out", str(resumable), "--resume"],
        "convert": ["models", "convert", str(evil_pt)],
    }  # fmt: skip
    for name, argv in cases.items():
        err = _one_line_exit_2(capsys, argv)
        assert not marker.exists(), f"{name} ran the file's code"
        assert any(w in err for w in ("weights-only", "unpickling", "not a galaxy-xai")), (
            name,
            err,
        )
    assert not any(out.rglob("*.csv")) and not any(out.rglob("*.h5"))


def test_distill_loads_run_no_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from galaxy_xai.distill import BufferConfig, DistillConfig, distill, train_experts
    from galaxy_xai.distill.digits import write_digits_dataset

    torch.set_num_threads(1)
    digits = write_digits_dataset(tmp_path / "digits.h5", size=8, limit=100)
    buffer = tmp_path / "buffer"
    train_experts(
        digits, tmp_path / "buffer",
        BufferConfig(experts=1, epochs=2, width=4, depth=1, batch_size=32),
    )  # fmt: skip
    cfg = DistillConfig(ipc=1, method="mtt", iterations=2, max_start_epoch=1, syn_steps=2,
                        expert_epochs=1, checkpoint_every=1)  # fmt: skip
    distill(buffer, tmp_path / "run", cfg)
    marker = tmp_path / "MARKER"
    ckpt = tmp_path / "run" / "checkpoint.pt"
    _evil(ckpt, marker, payload={"meta": {}})
    argv = ["distill", "run", "--buffer", str(buffer), "--ipc", "1", "--method", "mtt",
            "--out", str(tmp_path / "run"), "--iterations", "3", "--syn-steps", "2",
            "--expert-epochs", "1", "--max-start-epoch", "1", "--resume"]  # fmt: skip
    err = _one_line_exit_2(capsys, argv)
    assert "weights-only" in err and not marker.exists()
    distilled = tmp_path / "run" / "distilled.pt"
    _evil(distilled, marker, payload={"format": "galaxy-xai-distilled"})
    argv = ["distill", "evaluate", "--distilled", str(distilled), "--out", str(tmp_path / "e.json")]
    err = _one_line_exit_2(capsys, argv)
    assert "weights-only" in err and not marker.exists()
    from galaxy_xai.distill import load_distilled

    with pytest.raises(UnsafeFileError):
        load_distilled(distilled)
    assert not marker.exists()


def test_read_model_refuses_a_checkpoint_without_a_model(tmp_path: Path) -> None:
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    with pytest.raises(ModelMismatchError, match="not a galaxy-xai model"):
        read_model(path)


def test_null_format_version_reads_as_the_first_version(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    info = json.loads((copy / "model.json").read_text())
    info["format_version"] = None  # null: read as an optional field left out (version 1)
    (copy / "model.json").write_text(json.dumps(info))
    assert load_trained(copy).output_names == ["blob", "ring"]
