"""Hostile input to the catalogue readers and to the package's own HDF5 files.

Each fault is one :class:`~galaxy_xai.errors.GalaxyXAIError` naming the file and the
line and column (catalogues) or the array or attribute (HDF5 files); at the CLI it is
one line on stderr, exit status 2, and no output that looks finished.

Fault classes: (1) empty id cells in a catalogue; (2) a FITS ``--pattern`` that is
absolute (or empty); (3) label values too large to be class indices; (4) crafted
dataset and maps files (wrong rank, dtype, row count, metadata, ids, declared sizes
with no data behind them, data kept in other files); (5) files with no galaxies.
Crafted HDF5 files are written with h5py from valid ones, never by flipping bytes
(libhdf5 can hang on those).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from _data_fixtures import decals_catalog, fits_file, gz1, hart16, kaggle
from _train_helpers import tiny_run
from galaxy_xai.cli import main
from galaxy_xai.data import import_dataset, open_dataset
from galaxy_xai.data.readers import (
    FileSource,
    read_fits_cutouts,
    read_folder,
    read_galaxy_builder,
    read_gz1,
    read_gz2_hart16,
    read_gz2_kaggle,
    read_gz2_votes_table,
    read_gz_decals,
    read_hoyle_bar_lengths,
)
from galaxy_xai.data.readers.base import integer_column
from galaxy_xai.data.store import write_dataset
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.explain.maps_io import MapWriter, open_maps
from galaxy_xai.io import partial_path

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

IDS = ["a", "b", "c", "d"]


# --------------------------------------------------------------------------- helpers
def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run the CLI; it must exit 2 with one error line holding every needle."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith("galaxy-xai ") and ": error: " in err, err
    for needle in needles:
        assert needle in err, err
    return err


def png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), 90).save(path)
    return path


def folder_data(root: Path, **columns: list[object]) -> Path:
    """Three PNGs and ``cat.csv`` listing them, with extra ``columns``."""
    for name in "abc":
        png(root / f"{name}.png")
    pd.DataFrame({"file": ["a.png", "b.png", "c.png"], **columns}).to_csv(
        root / "cat.csv", index=False
    )
    return root


def set_cell(csv: Path, row: int, column: str, value: str) -> Path:
    """Rewrite one cell of a (possibly gzipped) CSV, every cell kept as text."""
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[row, column] = value
    table.to_csv(csv, index=False)
    return csv


def nothing_finished(out: Path) -> None:
    assert not out.exists(), out


def dataset(path: Path, **extra: list[object]) -> Path:
    """A valid 4-image dataset (1x16x16 float32) with ids ``a..d`` and labels."""
    images = np.random.default_rng(0).random((4, 1, 16, 16)).astype(np.float32)
    catalog = pd.DataFrame({"id": IDS, "label": [0, 1, 0, 1], **extra})
    return write_dataset(path, images, catalog, metadata={"label_names": ["blob", "ring"]})


def maps_file(path: Path, ids: list[str] = IDS) -> Path:
    maps = np.random.default_rng(1).random((len(ids), 16, 16)).astype(np.float32)
    with MapWriter(path, ids=ids, map_shape=(16, 16), metadata={"method": "gradient"}) as w:
        if ids:
            w.write(0, maps)
    return path


def replace(h5: h5py.File, name: str, data: object = None, **kwargs: object) -> None:
    del h5[name]
    h5.create_dataset(name, data=data, **kwargs)


# --------------------------------------------------------------------------- 1. empty ids
def _edit_folder(root: Path) -> Path:
    folder_data(root, id=["x", "y", "z"], label=[0, 1, 0])
    set_cell(root / "cat.csv", 1, "id", "")
    return root


def _edit_gz1(root: Path) -> Path:
    set_cell(gz1(root) / "labels.csv", 2, "OBJID", "")
    return root


def _edit_kaggle(root: Path) -> Path:
    set_cell(kaggle(root) / "training_solutions_rev1.csv", 1, "GalaxyID", "  ")
    return root


def _edit_hart16(root: Path) -> Path:
    set_cell(hart16(root) / "gz2_hart16.csv.gz", 1, "dr7objid", "")
    return root


def _edit_hart16_mapping(root: Path) -> Path:
    set_cell(hart16(root) / "gz2_filename_mapping.csv", 0, "objid", "")
    return root


def _edit_decals(root: Path) -> Path:
    return set_cell(decals_catalog(root), 0, "id_str", "")


def _edit_fits_catalogue(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in "ab":
        fits_file(root / f"{name}.fits", np.ones((16, 16)))
    pd.DataFrame({"id": ["a", ""], "file": ["a.fits", "b.fits"]}).to_csv(
        root / "cat.csv", index=False
    )
    return root / "cat.csv"


@pytest.mark.parametrize(
    ("build", "reader", "where"),
    [
        (_edit_folder, read_folder, "cat.csv' line 3, column 'id'"),
        (_edit_gz1, read_gz1, "labels.csv' line 4, column 'OBJID'"),
        (_edit_kaggle, read_gz2_kaggle, "rev1.csv' line 3, column 'GalaxyID'"),
        (_edit_hart16, read_gz2_hart16, "gz2_hart16.csv.gz' line 3, column 'dr7objid'"),
        (_edit_hart16_mapping, read_gz2_hart16, "mapping.csv' line 2, column 'objid'"),
        (_edit_decals, read_gz_decals, "volunteers_5.csv' line 2, column 'id_str'"),
        (_edit_fits_catalogue, read_fits_cutouts, "cat.csv' line 3, column 'id'"),
    ],
)
def test_empty_id_cell_names_file_line_and_column(
    tmp_path: Path, build: Callable[[Path], Path], reader: Callable[..., object], where: str
) -> None:
    source = build(tmp_path / "src")
    with pytest.raises(DataFormatError, match=rf"{where}: empty id$"):
        reader(source)


def test_empty_ids_in_catalogue_only_tables(tmp_path: Path) -> None:
    hoyle = tmp_path / "hoyle_barlengths.csv"
    pd.DataFrame(
        {"objid": ["1", ""], "length_avg": [5, 6], "length_stdev": [1, 1],
         "length_scaled": [0.5, 0.6], "bar_meas": [3, 4]}
    ).to_csv(hoyle, index=False)  # fmt: skip
    with pytest.raises(DataFormatError, match=r"line 3, column 'objid': empty id"):
        read_hoyle_bar_lengths(hoyle, sizes=None)
    votes = tmp_path / "table5.csv"
    pd.DataFrame(
        {"objid": ["", "", "7"], "t01_smooth_or_features_a01_smooth_fraction": [0.1, 0.2, 0.3]}
    ).to_csv(votes, index=False)
    with pytest.raises(DataFormatError, match=r"line 2, column 'objid': empty id \(2 empty"):
        read_gz2_votes_table(votes)
    gzb = tmp_path / "gzb"
    gzb.mkdir()
    np.savez(gzb / "gzb_cutouts.npz", img_1=np.ones((8, 8), np.float32))
    pd.DataFrame({"dr7objid": ["1", None], "bar_Re": [2.0, 3.0]}).to_csv(
        gzb / "galaxy-builder-catalogue.csv", index=False
    )
    with pytest.raises(DataFormatError, match=r"catalogue.csv' line 3, column 'dr7objid'"):
        read_galaxy_builder(gzb)


def test_image_source_refuses_an_empty_id_from_any_reader(tmp_path: Path) -> None:
    catalog = pd.DataFrame({"id": ["a", None], "source_file": ["a.png", "b.png"]})
    with pytest.raises(DataFormatError, match=r"files catalogue of '.*' row 1: empty id"):
        FileSource(catalog, root=tmp_path)


def test_cli_empty_id_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.h5"
    root = _edit_folder(tmp_path / "data")
    argv = ["data", "import", "folder", str(root), "--out", str(out), "--size", "8"]
    fails(capsys, argv, "cat.csv' line 3, column 'id': empty id")
    nothing_finished(out)
    assert not partial_path(out).exists()
    gz = _edit_gz1(tmp_path / "gz1")
    argv = ["data", "import", "gz1", str(gz), "--out", str(out), "--skip-bad"]
    fails(capsys, argv, "labels.csv' line 4, column 'OBJID': empty id")
    nothing_finished(out)


# --------------------------------------------------------------------------- 2. pattern
@pytest.fixture
def fits_folder(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    fits_file(root / "a.fits", np.ones((16, 16)))
    fits_file(tmp_path / "elsewhere.fits", np.ones((16, 16)))
    return root


def test_absolute_pattern_refused_unless_outside_root_allowed(
    fits_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.h5"
    pattern = str(tmp_path / "*.fits")
    argv = ["data", "import", "fits", str(fits_folder), "--out", str(out), "--size", "8"]
    fails(
        capsys,
        [*argv, "--pattern", pattern],
        f"pattern={pattern!r}: must be relative to the FITS folder '{fits_folder}'",
        "--allow-outside-root",
    )
    fails(capsys, [*argv, "--pattern", "/etc/*.fits"], "pattern='/etc/*.fits'")
    nothing_finished(out)
    capsys.readouterr()
    assert main([*argv, "--pattern", pattern, "--allow-outside-root"]) == 0
    with open_dataset(out) as ds:
        assert ds.catalog["id"].tolist() == ["elsewhere"]


def test_unusable_patterns(fits_folder: Path) -> None:
    with pytest.raises(ParameterError, match=r"pattern='': must be a glob such as"):
        read_fits_cutouts(fits_folder, pattern="")
    with pytest.raises(ParameterError, match=r"selects files in a folder, but '.*a.fits'"):
        read_fits_cutouts(fits_folder / "a.fits", pattern="*.fits")
    assert read_fits_cutouts(fits_folder, pattern="*.fits").catalog["id"].tolist() == ["a"]


# --------------------------------------------------------------------------- 3. labels
@pytest.mark.parametrize(
    ("cell", "shown"), [("1099511627776", "1099511627776"), ("1e20", "100000000000000000000")]
)
def test_huge_label_refused_before_any_output(
    cell: str, shown: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = folder_data(tmp_path / "data", label=["0", cell, "1"])
    out = tmp_path / "o.h5"
    started = time.monotonic()
    argv = ["data", "import", "folder", str(root), "--out", str(out), "--size", "8"]
    fails(
        capsys,
        argv,
        f"cat.csv' line 3, column 'label': {shown} is too large for a class index",
        "at most 10000 classes",
    )
    assert time.monotonic() - started < 30  # nothing was allocated per class
    nothing_finished(out)
    assert not partial_path(out).exists()
    with pytest.raises(DataFormatError, match=r"line 3, column 'label'"):
        import_dataset("folder", root, out, size=8, skip_bad=True)
    nothing_finished(out)


def test_integers_beyond_exact_float_range_refused() -> None:
    values = pd.Series(["3", str(2**60), "1e300"])
    with pytest.raises(
        DataFormatError,
        match=r"x line 3, column 'n': '1152921504606846976' is too large for an asset id "
        r"\(at most 9007199254740992: larger integers cannot be read exactly\) \(2 bad",
    ):
        integer_column(values, where="x", column="n", what="asset id")
    assert integer_column(values[:1], where="x", column="n").tolist() == [3]


def test_hart16_asset_id_too_large(tmp_path: Path) -> None:
    root = hart16(tmp_path / "h")
    set_cell(root / "gz2_filename_mapping.csv", 1, "asset_id", "1e20")
    with pytest.raises(DataFormatError, match=r"mapping.csv' line 3, column 'asset_id': .* is too"):
        read_gz2_hart16(root)


def test_writer_refuses_label_outside_class_range(tmp_path: Path) -> None:
    images = np.zeros((2, 1, 4, 4), np.float32)
    catalog = pd.DataFrame({"id": ["a", "b"], "label": [0, 2**40]})
    out = tmp_path / "o.h5"
    with pytest.raises(DataFormatError, match=r"o.h5' row 1 \(id 'b'\): label 1099511627776"):
        write_dataset(out, images, catalog)
    nothing_finished(out)


# --------------------------------------------------------------------------- 4. datasets
def _huge_images(h5: h5py.File) -> None:
    del h5["images"]
    ds = h5.create_dataset(
        "images", shape=(10**9, 3, 512, 512), dtype=np.float32, chunks=(1, 3, 512, 512)
    )
    ds[0] = 1.0


def _external_link(h5: h5py.File) -> None:
    other = Path(h5.filename).with_name("other.h5")
    with h5py.File(other, "w") as o:
        o["images"] = np.zeros((4, 1, 16, 16), np.float32)
    del h5["images"]
    h5["images"] = h5py.ExternalLink(str(other), "/images")


def _external_storage(h5: h5py.File) -> None:
    raw = Path(h5.filename).with_name("secret.bin")
    raw.write_bytes(b"\0" * 4096)
    del h5["images"]
    h5.create_dataset("images", shape=(4, 1, 16, 16), dtype=np.float32, external=[(raw, 0, 4096)])


def _metadata(value: object) -> Callable[[h5py.File], None]:
    def edit(h5: h5py.File) -> None:
        h5.attrs["metadata"] = value

    return edit


CRAFTED: dict[str, tuple[Callable[[h5py.File], None], str]] = {
    "images 3-D": (
        lambda h5: replace(h5, "images", np.zeros((4, 16, 16), np.float32)),
        r"'images' has shape \(4, 16, 16\), expected \(N, C, H, W\) images",
    ),
    "images 5-D": (
        lambda h5: replace(h5, "images", np.zeros((4, 1, 1, 16, 16), np.float32)),
        r"'images' has shape \(4, 1, 1, 16, 16\), expected \(N, C, H, W\)",
    ),
    "images a group": (
        lambda h5: (h5.__delitem__("images"), h5.create_group("images")),
        r"'images' is a group, not an array",
    ),
    "images as text": (
        lambda h5: replace(
            h5, "images", np.full((4, 1, 2, 2), "x", dtype=object), dtype=h5py.string_dtype()
        ),
        r"'images' holds text values, expected \(N, C, H, W\) images of uint8 or float32",
    ),
    "images as bytes": (
        lambda h5: replace(h5, "images", np.zeros((4, 1, 2, 2), dtype="S4")),
        r"'images' holds text values",
    ),
    "images uint16": (
        lambda h5: replace(h5, "images", np.zeros((4, 1, 16, 16), np.uint16)),
        r"'images' holds uint16 values",
    ),
    "fewer images than rows": (
        lambda h5: replace(h5, "images", np.zeros((3, 1, 16, 16), np.float32)),
        r"'catalog/id' has 4 rows but 'images' holds 3 images",
    ),
    "more images than rows": (
        lambda h5: replace(h5, "images", np.zeros((5, 1, 16, 16), np.float32)),
        r"'catalog/id' has 4 rows but 'images' holds 5 images",
    ),
    "huge declared shape": (
        _huge_images,
        r"'images' declares shape \(1000000000, 3, 512, 512\) but only 1 of its 1000000000 "
        r"chunks hold data",
    ),
    "images never written": (
        lambda h5: replace(h5, "images", shape=(4, 1, 16, 16), dtype=np.float32),
        r"'images' declares shape \(4, 1, 16, 16\) but holds no data",
    ),
    "link to another file": (_external_link, r"'images' is a link to another file"),
    "data in another file": (_external_storage, r"'images' keeps its data in other files"),
    "metadata not JSON": (_metadata("{not json"), r"attribute 'metadata' is not valid JSON"),
    "metadata a list": (_metadata("[1, 2]"), r"'metadata' holds a JSON list, not a JSON object"),
    "metadata a number": (_metadata(np.int64(3)), r"'metadata' holds int64, not a JSON object"),
    "label_names mistyped": (
        _metadata('{"label_names": 3}'),
        r"metadata' field 'label_names' must be a list of text, found an integer",
    ),
    "integer ids": (
        lambda h5: replace(h5, "catalog/id", np.arange(4)),
        r"'catalog/id' holds int64 values, expected text ids",
    ),
    "duplicate ids": (
        lambda h5: replace(h5, "catalog/id", np.array(["a", "b", "a", "c"], dtype="S1")),
        r"id 'a' appears more than once \(rows \[0, 2\]\)",
    ),
    "no id column": (
        lambda h5: (h5["catalog"].__delitem__("id"), h5.attrs.__setitem__("columns", '["label"]')),
        r"the catalogue has no 'id' column",
    ),
    "column not stored": (
        lambda h5: h5.attrs.__setitem__("columns", '["id", "label", "ghost"]'),
        r"has no 'catalog/ghost' array",
    ),
    "columns not a list of names": (
        lambda h5: h5.attrs.__setitem__("columns", '["id", 3]'),
        r"attribute 'columns' must list distinct column names",
    ),
    "2-D column": (
        lambda h5: replace(h5, "catalog/label", np.zeros((4, 2), np.int64)),
        r"'catalog/label' has shape \(4, 2\), expected one value per image",
    ),
    "catalog an array": (
        lambda h5: replace(h5, "catalog", np.zeros(4)),
        r"'catalog' is an array, not a group of columns",
    ),
    "label too large": (
        lambda h5: replace(h5, "catalog/label", np.array([0, 2**40, 0, 1])),
        r"row 1 \(id 'b'\): label 1099511627776 is not a class index 0\.\.9999",
    ),
}


def crafted(path: Path, edit: Callable[[h5py.File], None]) -> Path:
    dataset(path)
    with h5py.File(path, "a") as h5:
        edit(h5)
    return path


@pytest.mark.parametrize("fault", list(CRAFTED))
def test_crafted_dataset_is_refused_on_opening(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, message = CRAFTED[fault]
    path = crafted(tmp_path / "x.h5", edit)
    started = time.monotonic()
    with pytest.raises(DataFormatError, match=message):
        open_dataset(path)
    assert time.monotonic() - started < 10
    err = fails(capsys, ["data", "info", str(path)], "x.h5")
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("run"), n=16)


def _commands(run: Path, data: Path, tmp: Path) -> dict[str, list[str]]:
    maps = maps_file(tmp / "m.h5")
    good = dataset(tmp / "good.h5")
    return {
        "predict": ["predict", "--model", str(run), "--data", str(data), "--out", f"{tmp}/p.csv"],
        "evaluate": ["evaluate", "--model", str(run), "--data", str(data), "--split", "all"],
        "explain": ["explain", "--model", str(run), "--data", str(data), "--out",
                    f"{tmp}/e.h5", "--target", "ring", "--method", "gradient"],
        "train": ["train", "--data", str(data), "--out", f"{tmp}/r", "--epochs", "1"],
        "bars measure": ["bars", "measure", "--maps", str(maps), "--data", str(data),
                         "--out", f"{tmp}/b.csv"],
        "join": ["data", "join", str(good), str(data), "--out", f"{tmp}/j.h5"],
        "distill buffer": ["distill", "buffer", "--data", str(data), "--out", f"{tmp}/buf",
                           "--experts", "1", "--epochs", "1"],
    }  # fmt: skip


@pytest.mark.parametrize("fault", ["fewer images than rows", "images 3-D", "metadata a list"])
def test_every_command_reading_a_dataset_gives_one_line(
    fault: str, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, message = CRAFTED[fault]
    data = crafted(tmp_path / "bad.h5", edit)
    for name, argv in _commands(run, data, tmp_path).items():
        err = fails(capsys, argv, "bad.h5")
        assert re.search(message, err), (name, err)
    for out in ("p.csv", "e.h5", "r/model.json", "b.csv", "j.h5", "buf/buffer.json"):
        nothing_finished(tmp_path / out)


def test_reads_larger_than_memory_say_how_many_images_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.data.store as store
    import galaxy_xai.resources as resources

    path = dataset(tmp_path / "d.h5")
    monkeypatch.setattr(store, "_CHECK_MEMORY_ABOVE", 0)
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 5000)  # 2 images of 2 KB
    with open_dataset(path) as ds:
        assert ds.images[:2].shape == (2, 1, 16, 16)
        with pytest.raises(
            DataFormatError,
            match=r"dataset '.*d.h5': reading 4 images of 1x16x16 needs ~8.2 KB of memory "
            r"but 5.0 KB is available: about 2 images fit at once",
        ):
            np.asarray(ds.images)
        with pytest.raises(DataFormatError, match=r"reading 3 images"):
            ds.images[[0, 1, 3]]
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 100)
    with pytest.raises(DataFormatError, match=r"its catalogue of 4 rows needs .* about 1 rows"):
        open_dataset(path)


# --------------------------------------------------------------------------- 4. maps files
MAPS_CRAFTED: dict[str, tuple[Callable[[h5py.File], None], str]] = {
    "integer ids": (
        lambda h5: replace(h5, "ids", np.arange(4)),
        r"'ids' holds int64 values, expected text image ids",
    ),
    "maps 2-D": (
        lambda h5: replace(h5, "maps", np.zeros((4, 16), np.float32)),
        r"'maps' has shape \(4, 16\), expected \(N, H, W\) or \(N, C, H, W\)",
    ),
    "maps as text": (
        lambda h5: replace(h5, "maps", np.zeros((4, 2, 2), dtype="S2")),
        r"'maps' holds text values",
    ),
    "fewer rows than maps": (
        lambda h5: replace(h5, "rows", np.arange(2)),
        r"'rows' has 2 rows but 'maps' holds 4 maps",
    ),
    "negative row": (
        lambda h5: replace(h5, "rows", np.array([0, -5, 2, 3])),
        r"map 1 \(id 'b'\) has dataset row -5 < 0",
    ),
    "metadata a list": (_metadata("[]"), r"'metadata' holds a JSON list, not a JSON object"),
    "pixel scale as text": (
        _metadata('{"pixel_scale_arcsec": "wide"}'),
        r"field 'pixel_scale_arcsec' must be a number, found text",
    ),
    "ids a group": (
        lambda h5: (h5.__delitem__("ids"), h5.create_group("ids")),
        r"'ids' is a group, not an array",
    ),
}


@pytest.mark.parametrize("fault", list(MAPS_CRAFTED))
def test_crafted_maps_file_is_refused(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, message = MAPS_CRAFTED[fault]
    path = maps_file(tmp_path / "m.h5")
    with h5py.File(path, "a") as h5:
        edit(h5)
    with pytest.raises(DataFormatError, match=message) as caught:
        open_maps(path)
    assert f"{path}" in str(caught.value)
    argv = ["bars", "measure", "--maps", str(path), "--out", str(tmp_path / "b.csv")]
    fails(capsys, argv, "m.h5")
    nothing_finished(tmp_path / "b.csv")


# --------------------------------------------------------------------------- 5. empty
@pytest.fixture
def empty(tmp_path: Path) -> Path:
    images = np.zeros((0, 1, 16, 16), np.float32)
    return write_dataset(tmp_path / "empty.h5", images, pd.DataFrame({"id": []}))


def test_empty_dataset_still_has_an_id_column(empty: Path) -> None:
    with open_dataset(empty) as ds:
        assert list(ds.catalog.columns) == ["id"] and len(ds.catalog) == 0


def test_empty_dataset_to_bars_and_join(
    empty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maps = maps_file(tmp_path / "m.h5")
    good = dataset(tmp_path / "good.h5")
    no_galaxies = f"dataset '{empty}' has no galaxies"
    out = tmp_path / "b.csv"
    fails(capsys, ["bars", "measure", "--maps", str(maps), "--data", str(empty),
                   "--out", str(out)], no_galaxies)  # fmt: skip
    fails(capsys, ["bars", "calibrate", "--maps", str(maps), "--data", str(empty),
                   "--out", str(tmp_path / "c.json")], no_galaxies)  # fmt: skip
    fails(capsys, ["data", "join", str(empty), "--out", str(tmp_path / "j.h5")], no_galaxies)
    fails(
        capsys,
        ["data", "join", str(good), str(empty), "--out", str(tmp_path / "j.h5")],
        no_galaxies,
    )
    for name in ("b.csv", "c.json", "j.h5"):
        nothing_finished(tmp_path / name)


def test_empty_maps_file_to_bars_measure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maps = maps_file(tmp_path / "m0.h5", ids=[])
    good = dataset(tmp_path / "good.h5")
    out = tmp_path / "b.csv"
    for extra in ([], ["--data", str(good)]):
        argv = ["bars", "measure", "--maps", str(maps), *extra, "--out", str(out)]
        fails(capsys, argv, f"maps file '{maps}' has no galaxies (it holds no maps)")
    nothing_finished(out)


def test_join_refuses_a_malformed_shard_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = dataset(tmp_path / "a.h5")
    images = np.zeros((1, 1, 16, 16), np.float32)
    b = write_dataset(tmp_path / "b.h5", images, pd.DataFrame({"id": ["e"], "label": [0]}))
    for path in (a, b):
        with h5py.File(path, "a") as h5:
            h5.attrs["metadata"] = '{"label_names": ["blob", "ring"], "shard": [0]}'
    argv = ["data", "join", str(a), str(b), "--out", str(tmp_path / "j.h5")]
    fails(capsys, argv, "metadata field 'shard' is [0], expected [i, N]")
    nothing_finished(tmp_path / "j.h5")


def test_info_counts_only_class_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = dataset(tmp_path / "d.h5", ra=[1.0, np.nan, 2.0, 3.0], kind=[-100, 0, 1, 0])
    with h5py.File(path, "a") as h5:
        h5.attrs["metadata"] = (
            '{"label_names": ["blob", "ring"], "pixel_scale_arcsec": null, '
            '"class_names": {"ra": ["x"], "kind": ["k0", "k1"]}}'
        )
    capsys.readouterr()
    assert main(["data", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "counts per kind:" in out and "-100" in out and "counts per ra" not in out
    assert "pixel scale:   unknown" in out
