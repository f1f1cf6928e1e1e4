"""Damaged JSON and YAML files a user hands us: one line naming the file and the field.

Configs, calibrations, split files, expert-buffer manifests and model descriptions may
come from anyone. Each way they can be broken (bytes that are not UTF-8, JSON that is
not an object, a field of the wrong type, numbers that cannot be) must become one
:class:`~galaxy_xai.errors.GalaxyXAIError` naming the file (exit 2 on the command
line), never a traceback. The property tests put random JSON values in every field.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _train_helpers import tiny_run
from galaxy_xai.bars.calibrate import load_calibration
from galaxy_xai.bars.catalog import read_split_ids
from galaxy_xai.cli import main
from galaxy_xai.config import read_config_file
from galaxy_xai.data.splits import read_split_file
from galaxy_xai.distill import BufferConfig, load_buffer, train_experts
from galaxy_xai.distill.digits import write_digits_dataset
from galaxy_xai.errors import ConfigError, DataFormatError, GalaxyXAIError, ModelMismatchError
from galaxy_xai.train import load_trained

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
NOT_UTF8 = b"a: 1\nb: '\xff\xfe'\n"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
#: Any JSON value, as a corrupted or crafted file could hold it.
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8)
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def buffer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("buffer")
    digits = write_digits_dataset(tmp / "digits.h5", size=8, limit=120)
    torch.set_num_threads(1)
    config = BufferConfig(experts=1, epochs=2, width=8, depth=2, batch_size=32)
    train_experts(digits, tmp / "buffer", config)
    return tmp / "buffer"


def _copy(folder: Path, tmp_path: Path) -> Path:
    out = tmp_path / folder.name
    shutil.copytree(folder, out)
    return out


def _set_json_field(path: Path, field: str, value: Any) -> dict[str, Any]:
    """Rewrite the JSON object in ``path`` with ``field`` set to ``value``; return it."""
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    return data


def _random_field_value(
    data: st.DataObject, folder: Path, name: str, load: Callable[[Path], object]
) -> None:
    """Load a copy of ``folder`` whose JSON ``name`` has one field set to a random value.

    Success and the package's error are both fine outcomes; any other exception fails.
    """
    root = Path(tempfile.mkdtemp(prefix="gx-fuzz-"))
    try:
        copy = _copy(folder, root)
        fields = sorted(json.loads((copy / name).read_text()))
        field = data.draw(st.sampled_from(fields), label="field")
        _set_json_field(copy / name, field, data.draw(JSON_VALUES, label="value"))
        with contextlib.suppress(GalaxyXAIError):
            load(copy)
    finally:
        shutil.rmtree(root)


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


# ------------------------------------------------------------------ configs
def test_config_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(ConfigError, match=r"c\.yaml' line 2 is not valid UTF-8"):
        read_config_file(path)


@pytest.mark.parametrize("command", ["train", "simulate"])
def test_commands_refuse_a_config_that_is_not_utf8(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_bytes(NOT_UTF8)
    argv = {
        "train": ["train", "--config", str(config), "--out", str(tmp_path / "run")],
        "simulate": ["simulate", "--n", "4", "--config", str(config), "--out",
                     str(tmp_path / "s.h5")],
    }[command]  # fmt: skip
    _one_line_exit_2(capsys, argv, "c.yaml' line 2 is not valid UTF-8")
    assert not (tmp_path / "s.h5").exists() and not (tmp_path / "run" / "model.json").exists()


def test_resume_with_a_damaged_saved_config_is_refused(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(run, tmp_path)
    (copy / "config.yaml").write_bytes(NOT_UTF8)
    data = json.loads((run / "model.json").read_text())["config"]["data"]["path"]
    argv = ["train", "--data", data, "--out", str(copy), "--resume", "--epochs", "1"]
    _one_line_exit_2(capsys, argv, "config.yaml' line 2 is not valid UTF-8")


# ------------------------------------------------------------------ calibration files
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"format": "\xff"}', "is not valid UTF-8"),
        (b"[1, 2]", "must hold a JSON object"),
        (b'{"format": "galaxy-xai-bar-calibration", "params": 3}', "field 'params' must be"),
        (b'{"format": "galaxy-xai-bar-calibration", "params": {"min_pixels": "many"}}',
         "min_pixels"),
        (b'{"corr_threshold": NaN}', "corr_threshold"),
    ],
)  # fmt: skip
def test_damaged_calibration_is_refused(content: bytes, needle: str, tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_bytes(content)
    with pytest.raises(GalaxyXAIError) as info:
        load_calibration(path)
    assert needle in str(info.value) and "calibration.json" in str(info.value)


# ------------------------------------------------------------------ split files
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"train": ["\xff"]}', "is not valid UTF-8"),
        (b'{"train": "abc"}', "must map part names to lists of ids"),
        (b'{"train": ["a", {"b": 1}]}', "field 'train' must be a list of text or integers"),
        (b'{"train": [1.5]}', "field 'train' must be a list of text or integers"),
    ],
)
def test_damaged_split_file_is_refused(content: bytes, needle: str, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    path.write_bytes(content)
    for read in (read_split_file, read_split_ids):
        with pytest.raises(DataFormatError) as info:
            read(path)
        assert needle in str(info.value) and "split.json" in str(info.value)


def test_split_ids_may_be_numbers(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    path.write_text('{"parts": {"calibration": [1, "b"]}, "seed": 3}')
    assert read_split_ids(path) == (["1", "b"], "calibration")


# ------------------------------------------------------------------ expert buffers
@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("num_params", "many", "field 'num_params' must be an integer"),
        ("class_names", [1, 2], "field 'class_names' must be a list of text"),
        ("image_shape", "8x8", "field 'image_shape' must be a list of integers"),
        ("model", {"in_channels": "one"}, "cannot be built"),
        ("normalisation", {"mean": "x", "std": [1.0]}, "field 'mean' must be a list of numbers"),
        ("teacher", {"epochs": "x"}, "teacher settings"),
        ("teacher", {"epochs": -3}, "teacher settings"),
        ("param_shapes", None, "has no 'param_shapes' field"),
    ],
)
def test_damaged_manifest_is_refused(
    field: str, value: Any, needle: str, buffer_dir: Path, tmp_path: Path
) -> None:
    broken = _copy(buffer_dir, tmp_path)
    if field == "teacher":
        value = {**json.loads((broken / "manifest.json").read_text())["teacher"], **value}
    _set_json_field(broken / "manifest.json", field, value)
    with pytest.raises(GalaxyXAIError) as info:
        load_buffer(broken)
    assert needle in str(info.value) and "manifest.json" in str(info.value)


def test_buffer_resume_with_a_damaged_manifest_is_one_line(
    buffer_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _copy(buffer_dir, tmp_path)
    (broken / "manifest.json").write_bytes(b'{"format": "\xff"}')
    data = json.loads((buffer_dir / "manifest.json").read_text())["data"]["path"]
    argv = ["distill", "buffer", "--data", data, "--out", str(broken), "--experts", "1",
            "--epochs", "2", "--width", "8", "--depth", "2"]  # fmt: skip
    _one_line_exit_2(capsys, argv, "manifest.json' is not valid UTF-8")


def test_buffer_teacher_settings_must_all_be_recorded(buffer_dir: Path, tmp_path: Path) -> None:
    """Found by the field fuzzer: a teacher object without ``epochs`` was a KeyError."""
    broken = _copy(buffer_dir, tmp_path)
    _set_json_field(broken / "manifest.json", "teacher", {})
    with pytest.raises(DataFormatError, match="teacher settings lack experts, epochs"):
        load_buffer(broken)


@pytest.mark.parametrize("content", [b'{"train": ["\xff"]}', b'{"test": 3}', b"[]"])
def test_damaged_buffer_split_is_refused(content: bytes, buffer_dir: Path, tmp_path: Path) -> None:
    broken = _copy(buffer_dir, tmp_path)
    (broken / "split.json").write_bytes(content)
    with pytest.raises(DataFormatError, match="split.json"):
        load_buffer(broken).split()


@FUZZ
@given(data=st.data())
def test_manifest_with_random_field_values(data: st.DataObject, buffer_dir: Path) -> None:
    def load_and_describe(folder: Path) -> object:
        buf = load_buffer(folder)
        return buf.epochs, buf.image_shape, buf.class_names, buf.layout(), buf.zca

    _random_field_value(data, buffer_dir, "manifest.json", load_and_describe)


# ------------------------------------------------------------------ model descriptions
@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("input_shape", "1x16x16", "field 'input_shape' must be a list of integers"),
        ("input_shape", [1, 16], "must be [channels, height, width] > 0"),
        ("input_shape", [3, 10**6, 10**6], "at most 67108864 values"),
        ("input_shape", [5, 16, 16], "records input shape [5, 16, 16]"),
        ("output_names", "blob", "field 'output_names' must be a list of text"),
        ("output_names", ["blob"], "names 1 outputs but its head has 2"),
        ("format_version", 99, "format version 99; this galaxy-xai reads up to 2"),
        ("format_version", "2", "field 'format_version' must be an integer"),
        ("build_spec", [1], "field 'build_spec' must be an object"),
        ("task", None, "has no 'task' field"),
    ],
)
def test_damaged_model_json_is_refused(
    field: str, value: Any, needle: str, run: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    copy = _copy(run, tmp_path)
    info = _set_json_field(copy / "model.json", field, value)
    with pytest.raises(ModelMismatchError) as exc:
        load_trained(copy)
    assert needle in str(exc.value) and str(copy) in str(exc.value)
    data = info["config"]["data"]["path"]
    out = tmp_path / "p.csv"
    _one_line_exit_2(capsys, ["predict", "--model", str(copy), "--data", data, "--out", str(out)])
    assert not out.exists()


@FUZZ
@given(data=st.data())
def test_model_json_with_random_field_values(data: st.DataObject, run: Path) -> None:
    _random_field_value(data, run, "model.json", load_trained)


def test_demo_marker_that_is_not_utf8_counts_as_not_done(tmp_path: Path) -> None:
    from galaxy_xai.demo.runner import read_marker

    path = tmp_path / "done.json"
    path.write_bytes(b'{"stage": "\xff"}')
    assert read_marker(path) is None
    path.write_text('{"stage": "simulate"}')
    assert read_marker(path) == {"stage": "simulate"}
