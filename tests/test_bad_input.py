"""Property-based fuzzing of every reader and config: success or the package's error.

Each test feeds random input (random bytes, random CSV cells, random numeric fields
including NaN, infinities and huge values) to a public entry point and asserts that the
outcome is either a result or a :class:`~galaxy_xai.errors.GalaxyXAIError`, never any
other exception: another exception would reach the user as a traceback.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galaxy_xai.errors import GalaxyXAIError

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a failure reproduces in CI
)

#: Numbers a user (or a corrupted file) can put in a numeric field.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 1e30, 0.0, -1.0]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
#: Cells of a catalogue: numbers, text, empties, odd unicode, surrogates.
CELLS = st.one_of(
    NUMBERS.map(str),
    st.text(max_size=12),
    st.sampled_from(["", "nan", "NaN", "inf", "-1", "1.5", "0x10", "../x", "/etc/passwd", "é"]),
)


def _outcome(call: Any, *args: Any, **kwargs: Any) -> None:
    """Run ``call``; a GalaxyXAIError is an acceptable outcome, anything else fails."""
    with contextlib.suppress(GalaxyXAIError):
        call(*args, **kwargs)


_MADE: list[Path] = []


def _tmp() -> Path:
    """A fresh folder per example (hypothesis reuses a test's fixtures across examples)."""
    folder = Path(tempfile.mkdtemp(prefix="gx-fuzz-"))
    _MADE.append(folder)
    return folder


@pytest.fixture(autouse=True, scope="module")
def _remove_example_folders():
    yield
    import shutil

    for folder in _MADE:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------ image files
_PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb0\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
_FITS_HEAD = (
    (
        "SIMPLE  =                    T".ljust(80)
        + "BITPIX  =                  -32".ljust(80)
        + "NAXIS   =                    2".ljust(80)
        + "NAXIS1  =                    8".ljust(80)
        + "NAXIS2  =                    8".ljust(80)
        + "END".ljust(80)
    )
    .ljust(2880)
    .encode()
)


def _mutate(seed_bytes: bytes, data: st.DataObject) -> bytes:
    """Random bytes, or a valid header with random bytes after or inside it."""
    kind = data.draw(st.sampled_from(["random", "truncated", "flipped", "appended"]))
    if kind == "random":
        return data.draw(st.binary(max_size=600))
    if kind == "truncated":
        return seed_bytes[: data.draw(st.integers(0, len(seed_bytes)))]
    if kind == "flipped":
        raw = bytearray(seed_bytes)
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
        return bytes(raw)
    return seed_bytes + data.draw(st.binary(max_size=200))


@FUZZ
@given(data=st.data(), suffix=st.sampled_from([".png", ".jpeg", ".fits"]))
def test_random_image_bytes(data: st.DataObject, suffix: str) -> None:
    from galaxy_xai.data.images import decode_raster, read_fits

    base = _FITS_HEAD + np.zeros(64, ">f4").tobytes().ljust(2880, b"\0")
    raw = _mutate(base if suffix == ".fits" else _PNG_1PX, data)
    path = _tmp() / f"x{suffix}"
    path.write_bytes(raw)
    if suffix == ".fits":
        _outcome(read_fits, path)
    else:
        _outcome(decode_raster, path, size=8)


@FUZZ
@given(naxis1=NUMBERS, naxis2=NUMBERS, bitpix=st.sampled_from([8, 16, 32, -32, -64, 7, 0]))
def test_fits_headers_with_random_sizes(naxis1: Any, naxis2: Any, bitpix: int) -> None:
    from galaxy_xai.data.images import read_fits

    def card(key: str, value: Any) -> str:
        text = str(value) if not isinstance(value, float) or math.isfinite(value) else "'x'"
        return f"{key:<8}= {text[:20]:>20}".ljust(80)

    head = "".join(
        [card("SIMPLE", "T"), card("BITPIX", bitpix), card("NAXIS", 2),
         card("NAXIS1", naxis1), card("NAXIS2", naxis2), "END".ljust(80)]
    ).ljust(2880)  # fmt: skip
    path = _tmp() / "x.fits"
    path.write_bytes(head.encode() + b"\0" * 2880)
    _outcome(read_fits, path)


# ------------------------------------------------------------------ catalogues
def _csv(rows: list[list[str]], header: list[str]) -> str:
    out = io.StringIO()
    import csv

    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@FUZZ
@given(cells=st.lists(st.tuples(CELLS, CELLS), min_size=0, max_size=6))
def test_gz1_labels_with_random_cells(cells: list[tuple[str, str]]) -> None:
    from galaxy_xai.data.readers.gz1 import read_gz1, read_gz1_labels

    root = _tmp()
    (root / "images").mkdir()
    text = _csv([list(c) for c in cells], ["OBJID", "CLASS"])
    (root / "labels.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
    for objid, _ in cells[:2]:
        name = Path(objid).name or "x"
        # names the file system refuses are not ours to test
        with contextlib.suppress(OSError, ValueError):
            (root / "images" / f"{name}.png").write_bytes(_PNG_1PX)
    _outcome(read_gz1_labels, root)
    _outcome(read_gz1, root)


@FUZZ
@given(
    cells=st.lists(st.tuples(CELLS, CELLS, CELLS), min_size=0, max_size=6),
    header=st.sampled_from(
        [
            ["id", "file", "label"],
            ["objid", "file_loc", "label"],
            ["file", "label", "redshift"],
            ["a", "b", "c"],
        ]
    ),
)
def test_folder_catalogue_with_random_cells(
    cells: list[tuple[str, str, str]], header: list[str]
) -> None:
    from galaxy_xai.data.readers.folder import read_folder

    root = _tmp()
    (root / "ok.png").write_bytes(_PNG_1PX)
    rows = [list(c) for c in cells] + [["g0", "ok.png", "0"]]
    (root / "catalog.csv").write_bytes(_csv(rows, header).encode("utf-8", "surrogateescape"))
    _outcome(read_folder, root)


@FUZZ
@given(raw=st.binary(max_size=400))
def test_random_bytes_as_a_catalogue(raw: bytes) -> None:
    from galaxy_xai.data.readers.folder import read_folder
    from galaxy_xai.data.readers.gz1 import read_gz1_labels

    root = _tmp()
    (root / "labels.csv").write_bytes(raw)
    _outcome(read_gz1_labels, root / "labels.csv")
    (root / "catalog.csv").write_bytes(raw)
    _outcome(read_folder, root / "catalog.csv")


# ------------------------------------------------------------------ container files
@FUZZ
@given(data=st.data())
def test_random_dataset_and_model_files(data: st.DataObject, tiny_h5: bytes) -> None:
    from galaxy_xai.data.store import open_dataset
    from galaxy_xai.models.files import read_model, safe_torch_load
    from galaxy_xai.train import load_trained

    root = _tmp()
    h5 = root / "d.h5"
    # Random bytes or a truncated file. Not bytes flipped inside a valid file: libhdf5
    # itself can loop forever on some corrupt metadata (no Python code regains control),
    # which no reader of ours can turn into an error.
    if data.draw(st.booleans(), label="truncate"):
        content = tiny_h5[: data.draw(st.integers(0, len(tiny_h5)), label="cut")]
    else:
        content = data.draw(st.binary(max_size=400), label="random")
    h5.write_bytes(content)

    def _open_and_read() -> None:
        with open_dataset(h5) as ds:
            _ = ds.catalog, ds.images[: min(2, len(ds))]

    _outcome(_open_and_read)
    blob = data.draw(st.binary(max_size=300))
    for name in ("model.json", "model.safetensors", "last.ckpt", "model.pt"):
        (root / name).write_bytes(blob)
        _outcome(read_model, root / name)
        _outcome(safe_torch_load, root / name, what="checkpoint")
    _outcome(load_trained, root)


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    import pandas as pd

    from galaxy_xai.data.store import write_dataset

    path = tmp_path_factory.mktemp("h5") / "t.h5"
    images = np.zeros((3, 1, 4, 4), np.float32)
    write_dataset(path, images, pd.DataFrame({"id": ["a", "b", "c"], "label": [0, 1, 0]}))
    return path.read_bytes()


# ------------------------------------------------------------------ configs
def _numeric_paths(obj: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every numeric leaf of a config's plain-dict form."""
    out: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _numeric_paths(value, f"{prefix}{key}.")
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        out.append(prefix[:-1])
    return out


def _set(mapping: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    keys = dotted.split(".")
    node = mapping
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return mapping


def _train_paths() -> list[str]:
    from galaxy_xai.config import config_to_dict
    from galaxy_xai.train import load_train_config

    return _numeric_paths(config_to_dict(load_train_config()))


def _simulation_paths() -> list[str]:
    from galaxy_xai.config import config_to_dict
    from galaxy_xai.simulate.config import load_simulation_config

    return _numeric_paths(config_to_dict(load_simulation_config()))


@FUZZ
@given(data=st.data())
def test_train_config_with_random_numbers(data: st.DataObject) -> None:
    from galaxy_xai.config import config_to_dict
    from galaxy_xai.train import load_train_config

    paths = _train_paths()
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    mapping = config_to_dict(load_train_config())
    for path in chosen:
        _set(mapping, path, data.draw(NUMBERS))
    _outcome(load_train_config, mapping)


@FUZZ
@given(data=st.data())
def test_simulation_config_with_random_numbers(data: st.DataObject) -> None:
    from galaxy_xai.config import config_to_dict
    from galaxy_xai.simulate.config import load_simulation_config

    paths = _simulation_paths()
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    mapping = config_to_dict(load_simulation_config())
    values = {path: data.draw(NUMBERS) for path in chosen}
    for path, value in values.items():
        _set(mapping, path, value)
    try:
        load_simulation_config(mapping)
    except GalaxyXAIError:
        return
    # accepted: then no field may hold a number that is not finite
    bad = {p: v for p, v in values.items() if isinstance(v, float) and not math.isfinite(v)}
    assert not bad, f"non-finite values accepted: {bad}"


@pytest.mark.parametrize("loader", ["train", "simulation"])
@FUZZ
@given(text=st.text(max_size=200))
def test_random_yaml_text_as_a_config(loader: str, text: str) -> None:
    from galaxy_xai.simulate.config import load_simulation_config
    from galaxy_xai.train import load_train_config

    path = _tmp() / "c.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    load = load_train_config if loader == "train" else load_simulation_config
    _outcome(load, path)
