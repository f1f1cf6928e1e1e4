"""Hostile and broken input to the data import path: every reader, one fault class at a
time. Each error is a :class:`DataFormatError` naming the file, row (line) and column;
at the CLI it is one line on stderr and exit status 2.

Fault classes: (1) paths outside the data folder (``..``, absolute, symlinks, ids
with separators); (2) decompression bombs (headers declaring enormous images); (3)
empty, truncated or damaged containers (.npz, .h5, FITS, .csv.gz); (4) catalogue
values of the wrong type (text, ``1.5``, negative labels); (5) file names that are
not valid UTF-8.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from _data_fixtures import decals_catalog, fits_file, galaxy10, gz1, hart16, jpeg, kaggle
from galaxy_xai.cli import main
from galaxy_xai.data import import_dataset, open_dataset
from galaxy_xai.data.images import decode_raster, read_fits
from galaxy_xai.data.importer import skipped_log_path
from galaxy_xai.data.preprocess import Preprocess
from galaxy_xai.data.readers import (
    read_fits_cutouts,
    read_folder,
    read_galaxy10,
    read_galaxy_builder,
    read_gz1,
    read_gz2_hart16,
    read_gz2_kaggle,
    read_gz2_kaggle_folders,
    read_gz_decals,
    read_hoyle_bar_lengths,
)
from galaxy_xai.data.store import write_dataset
from galaxy_xai.errors import DataFormatError
from galaxy_xai.io import partial_path

GZ1_FIRST_ID = 588848901537202306
BAD_NAME = b"\xff\xfe"  # not UTF-8: reaches Python as '\udcff\udcfe'


# --------------------------------------------------------------------------- helpers
def png(path: Path, size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (size, size), 90).save(path)
    return path


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width x height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def jpeg_declaring(path: Path, width: int, height: int) -> Path:
    """A real 8x8 JPEG with its frame header patched to claim ``width x height``."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 90).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def fits_declaring(path: Path, *naxes: int) -> Path:
    """A FITS header claiming an image of ``naxes`` (NAXIS1 first), with no data."""
    from astropy.io import fits

    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = 8
    header["NAXIS"] = len(naxes)
    for k, n in enumerate(naxes, start=1):
        header[f"NAXIS{k}"] = n
    path.write_bytes(header.tostring().encode("ascii"))
    return path


def folder_catalog(root: Path, files: list[str], **columns: list[object]) -> Path:
    """A folder-format catalogue ``cat.csv`` in ``root`` listing ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"file": files, **columns}).to_csv(root / "cat.csv", index=False)
    return root / "cat.csv"


def bad_name(folder: Path, suffix: str, data: bytes = b"") -> Path:
    """Create ``folder/<bytes ff fe><suffix>`` (a file name that is not UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = os.path.join(os.fsencode(folder), BAD_NAME + suffix.encode())
    with open(raw, "wb") as fh:
        fh.write(data)
    return Path(os.fsdecode(raw))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run ``galaxy-xai data ...``; return the status and stderr."""
    capsys.readouterr()
    status = main(["data", *args])
    return status, capsys.readouterr().err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("galaxy-xai data: error: "), err
    return lines[0]


# --------------------------------------------------------------------------- 1. paths
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """An image outside the data folder ``tmp_path/data``."""
    return png(tmp_path / "elsewhere" / "secret.png")


def test_folder_dotdot_path_refused(tmp_path, outside):
    root = tmp_path / "data"
    png(root / "imgs" / "a.png")
    folder_catalog(root, ["imgs/a.png", "../elsewhere/secret.png"], label=[0, 1])
    with pytest.raises(
        DataFormatError,
        match=r"cat.csv' line 3, column 'file': path '\.\./elsewhere/secret.png' resolves to "
        r"'.*elsewhere/secret.png', outside the data folder '.*data'",
    ):
        read_folder(root)
    # a '..' that stays inside the folder is fine
    folder_catalog(root, ["imgs/a.png", "imgs/../imgs/a.png"], id=["x", "y"])
    assert len(read_folder(root)) == 2


def test_folder_absolute_path_refused_unless_allowed(tmp_path, outside):
    root = tmp_path / "data"
    inside = png(root / "imgs" / "a.png")
    folder_catalog(root, [str(inside), str(outside)], label=[0, 1])
    with pytest.raises(DataFormatError, match=r"line 3, column 'file': path '/.*secret.png'"):
        read_folder(root)
    source = read_folder(root, allow_outside_root=True)
    assert len(source) == 2 and source.image(1).shape == (1, 8, 8)


def test_symlinks_out_of_the_folder_refused(tmp_path, outside):
    root = tmp_path / "data"
    png(root / "imgs" / "a.png")
    (root / "imgs" / "link.png").symlink_to(outside)
    folder_catalog(root, ["imgs/a.png", "imgs/link.png"])
    with pytest.raises(
        DataFormatError,
        match=r"line 3, column 'file': path 'imgs/link.png' resolves to '.*elsewhere/secret.png'",
    ):
        read_folder(root)
    assert len(read_folder(root, allow_outside_root=True)) == 2
    # a symlinked folder leads out just the same
    (root / "more").symlink_to(outside.parent, target_is_directory=True)
    folder_catalog(root, ["imgs/a.png", "more/secret.png"])
    with pytest.raises(DataFormatError, match=r"line 3, column 'file': path 'more/secret.png'"):
        read_folder(root)
    # a symlink that stays inside is fine
    (root / "imgs" / "alias.png").symlink_to(root / "imgs" / "a.png")
    folder_catalog(root, ["imgs/a.png", "imgs/alias.png"], id=["x", "y"])
    assert len(read_folder(root)) == 2


def test_decals_file_loc_outside_refused(tmp_path, outside):
    root = tmp_path / "data"
    csv = decals_catalog(root)
    pd.read_csv(csv).assign(file_loc=["J000/J0000.png", "../elsewhere/secret.png", "x.png"]).to_csv(
        csv, index=False
    )
    with pytest.raises(DataFormatError, match=r"line 3, column 'file_loc': path '\.\./elsewhere"):
        read_gz_decals(csv, skip_bad=True)


def test_gz1_ids_with_path_parts_refused(tmp_path):
    root = gz1(tmp_path / "g")
    labels = pd.read_csv(root / "labels.csv", dtype={"OBJID": str})
    for bad in ("../../etc/passwd", "sub/588848901537202306", "a\\b", ".."):
        labels.assign(OBJID=[*labels["OBJID"][:3], bad, *labels["OBJID"][4:]]).to_csv(
            root / "labels.csv", index=False
        )
        match = r"labels.csv' line 5, column 'OBJID': id .* holds a path separator or '\.\.'"
        with pytest.raises(DataFormatError, match=match):
            read_gz1(root)
        with pytest.raises(DataFormatError, match=match):
            read_gz1(root, allow_outside_root=True)  # an id is never a path


def test_gz1_symlinked_image_outside_refused(tmp_path, outside):
    root = gz1(tmp_path / "data")
    image = root / "images" / f"{GZ1_FIRST_ID + 2}.jpeg"
    image.unlink()
    image.symlink_to(outside)
    with pytest.raises(
        DataFormatError,
        match=rf"labels.csv' line 4, column 'OBJID': path 'images/{GZ1_FIRST_ID + 2}.jpeg' "
        r"resolves to '.*secret.png', outside the data folder",
    ):
        read_gz1(root, skip_bad=True)
    assert len(read_gz1(root, allow_outside_root=True)) == 8


def test_gz2_kaggle_ids_and_symlinks(tmp_path, outside):
    root = kaggle(tmp_path / "data")
    csv = root / "training_solutions_rev1.csv"
    table = pd.read_csv(csv, dtype={"GalaxyID": str})
    table.assign(GalaxyID=["100008", "../../x", "100053"]).to_csv(csv, index=False)
    with pytest.raises(DataFormatError, match=r"line 3, column 'GalaxyID': id '\.\./\.\./x'"):
        read_gz2_kaggle(root)
    table.to_csv(csv, index=False)
    image = root / "images_training_rev1" / "100053.jpg"
    image.unlink()
    image.symlink_to(outside)
    with pytest.raises(DataFormatError, match=r"line 4, column 'GalaxyID': path 'images_train"):
        read_gz2_kaggle(root)


def test_gz2_kaggle_folders_symlinked_class_refused(tmp_path, outside):
    root = tmp_path / "data"
    jpeg(root / "spirals" / "1.jpg", size=8)
    (root / "ellipticals").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(
        DataFormatError,
        match=r"GZ2 Kaggle folders '.*data': path 'ellipticals/secret.png' resolves to "
        r"'.*elsewhere/secret.png', outside the data folder",
    ):
        read_gz2_kaggle_folders(root)
    assert len(read_gz2_kaggle_folders(root, allow_outside_root=True)) == 2


def test_gz2_hart16_symlinked_image_names_its_line(tmp_path, outside):
    root = hart16(tmp_path / "data")
    image = root / "images_gz2" / "images" / "11.jpg"
    image.unlink()
    image.symlink_to(outside)
    with pytest.raises(
        DataFormatError, match=r"gz2_hart16.csv.gz' line 3, column 'dr7objid': path 'images_gz2"
    ):
        read_gz2_hart16(root)


def test_fits_folder_symlink_outside_refused(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    fits_file(root / "a.fits", np.ones((8, 8)))
    (tmp_path / "elsewhere").mkdir()
    fits_file(tmp_path / "elsewhere" / "b.fits", np.ones((8, 8)))
    (root / "b.fits").symlink_to(tmp_path / "elsewhere" / "b.fits")
    with pytest.raises(
        DataFormatError, match=r"FITS folder '.*data': path 'b.fits' resolves to '.*elsewhere"
    ):
        read_fits_cutouts(root)
    assert len(read_fits_cutouts(root, allow_outside_root=True)) == 2


def test_outside_path_is_an_error_even_with_skip_bad(tmp_path, outside):
    root = tmp_path / "data"
    png(root / "imgs" / "a.png")
    folder_catalog(root, ["imgs/a.png", "../elsewhere/secret.png"])
    out = tmp_path / "o.h5"
    with pytest.raises(DataFormatError, match="outside the data folder"):
        import_dataset("folder", root, out, size=8, skip_bad=True)
    assert not out.exists() and not partial_path(out).exists()
    import_dataset("folder", root, out, size=8, allow_outside_root=True)
    with open_dataset(out) as ds:
        assert len(ds) == 2


def test_cli_outside_paths(tmp_path, outside, capsys):
    root = tmp_path / "data"
    png(root / "imgs" / "a.png")
    (root / "imgs" / "link.png").symlink_to(outside)
    out = str(tmp_path / "o.h5")
    folder_catalog(root, ["imgs/a.png", "../elsewhere/secret.png"])
    status, err = cli(capsys, "import", "folder", str(root), "--out", out, "--size", "8")
    line = one_error_line(err)
    assert status == 2
    assert "cat.csv' line 3, column 'file': path '../elsewhere/secret.png' resolves to" in line
    assert "use --allow-outside-root" in line
    status, err = cli(capsys, "import", "folder", str(root), "--out", out, "--skip-bad")
    assert status == 2 and "outside the data folder" in one_error_line(err)
    args = ("import", "folder", str(root), "--out", out, "--size", "8", "--allow-outside-root")
    assert cli(capsys, *args)[0] == 0 and Path(out).is_file()
    folder_catalog(root, ["imgs/a.png", "imgs/link.png"])  # symlink out of the folder
    status, err = cli(capsys, "import", "folder", str(root), "--out", out + "2")
    assert status == 2 and "path 'imgs/link.png' resolves to" in one_error_line(err)


# --------------------------------------------------------------------------- 2. bombs
@pytest.mark.parametrize(
    ("width", "height", "declared"),
    [
        (9000, 9000, r"9000 x 9000 pixels"),  # under Pillow's own limits
        (10000, 10000, r"10000 x 10000 pixels"),  # Pillow warns
        (100000, 100000, r"10000000000 pixels"),  # Pillow raises
    ],
)
def test_png_bomb_refused_before_decoding(tmp_path, width, height, declared):
    path = png_declaring(tmp_path / "bomb.png", width, height)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may leak
        with pytest.raises(
            DataFormatError,
            match=rf"image file '.*bomb.png' declares an image of {declared}, over the limit",
        ):
            decode_raster(path, size=8)


def test_jpeg_bomb_refused_in_every_decoder(tmp_path):
    root = gz1(tmp_path / "g")
    path = root / "images" / f"{GZ1_FIRST_ID + 1}.jpeg"
    jpeg_declaring(path, 60000, 60000)
    with pytest.raises(DataFormatError, match=r"'.*\.jpeg' declares an image of 3600000000 pixels"):
        decode_raster(path, size=8)
    source = read_gz1(root)
    with pytest.raises(DataFormatError, match=r"declares an image of 3600000000 pixels"):
        source.image(1)  # the full-resolution path (FileSource.native)
    with pytest.raises(DataFormatError, match=r"declares an image of 3600000000 pixels"):
        source.prepare(1, Preprocess(size=8))


def test_fits_bomb_refused_from_its_header(tmp_path):
    with pytest.raises(
        DataFormatError,
        match=r"FITS file '.*big.fits' HDU 0 declares an image of 100000 x 100000 pixels",
    ):
        read_fits(fits_declaring(tmp_path / "big.fits", 100000, 100000))
    with pytest.raises(
        DataFormatError,
        match=r"declares an image of 64 x 64 pixels x 1000000 bands, over the limit of 268435456 values",
    ):
        read_fits(fits_declaring(tmp_path / "cube.fits", 64, 64, 1000000))


def test_galaxy10_declared_bomb_refused(tmp_path):
    import h5py

    with h5py.File(tmp_path / "g.h5", "w") as h5:  # sparse: nothing is stored
        h5.create_dataset("images", (2, 100000, 100000, 3), np.uint8, chunks=(1, 64, 64, 3))
        h5["ans"] = np.array([0, 1], np.uint8)
    with pytest.raises(
        DataFormatError,
        match=r"Galaxy10 file '.*g.h5' dataset 'images' declares an image of 100000 x 100000 "
        r"pixels x 3 bands, over the limit of 67108864 pixels",
    ):
        read_galaxy10(tmp_path / "g.h5")


def test_galaxy_builder_declared_bomb_refused(tmp_path):
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 2), np.float32))
    header["shape"] = (100000, 100000)
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)  # header only: no data
    with zipfile.ZipFile(tmp_path / "gzb_cutouts.npz", "w") as zf:
        zf.writestr("img_1.npy", member.getvalue())
    source = read_galaxy_builder(tmp_path)
    try:
        with pytest.raises(
            DataFormatError,
            match=r"gzb_cutouts.npz' array 'img_1' declares shape \(100000, 100000\), over the",
        ):
            source.native(0)
    finally:
        source.close()


def test_bomb_skipped_with_skip_bad(tmp_path):
    root = tmp_path / "data"
    png(root / "a.png")
    png_declaring(root / "b.png", 100000, 100000)
    png(root / "c.png")
    folder_catalog(root, ["a.png", "b.png", "c.png"])
    out = tmp_path / "o.h5"
    with pytest.raises(DataFormatError, match=r"b.png' declares an image of 10000000000 pixels"):
        import_dataset("folder", root, out, size=8)
    import_dataset("folder", root, out, size=8, skip_bad=True)
    with open_dataset(out) as ds:
        assert ds.catalog["id"].tolist() == ["a", "c"]
    log = pd.read_csv(skipped_log_path(out))
    assert log["id"].tolist() == ["b"] and "declares an image" in log["reason"][0]


def test_cli_bomb_with_and_without_skip_bad(tmp_path, capsys, caplog):
    root = tmp_path / "data"
    png_declaring(root / "a.png", 10000, 10000)
    png(root / "b.png")
    folder_catalog(root, ["a.png", "b.png"])
    out = str(tmp_path / "o.h5")
    status, err = cli(capsys, "import", "folder", str(root), "--out", out, "--size", "8")
    assert status == 2
    assert "a.png' declares an image of 10000 x 10000 pixels" in one_error_line(err)
    status, _ = cli(capsys, "import", "folder", str(root), "--out", out, "--skip-bad")
    assert status == 0  # skipped and logged, never aborting the import
    with open_dataset(out) as ds:
        assert ds.catalog["id"].tolist() == ["b"]
    assert "declares an image" in pd.read_csv(skipped_log_path(out))["reason"][0]
    # a bomb after good items: still the one error line, no extra warning
    folder_catalog(root, ["b.png", "a.png"])
    caplog.clear()
    status, err = cli(capsys, "import", "folder", str(root), "--out", out + "2", "--size", "8")
    assert status == 2 and "a.png' declares an image of" in one_error_line(err)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------- 3. containers
def test_empty_and_truncated_npz(tmp_path):
    npz = tmp_path / "gzb_cutouts.npz"
    npz.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"cutouts '.*gzb_cutouts.npz' cannot be read"):
        read_galaxy_builder(tmp_path)
    np.savez(npz, img_1=np.ones((40, 40), np.float32), img_2=np.ones((40, 40), np.float32))
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"cutouts '.*gzb_cutouts.npz' cannot be read"):
        read_galaxy_builder(tmp_path)


def test_npz_damaged_after_opening(tmp_path):
    npz = tmp_path / "gzb_cutouts.npz"
    np.savez(npz, img_1=np.ones((40, 40), np.float32))
    source = read_galaxy_builder(tmp_path)
    npz.write_bytes(b"PK\x03\x04 not a zip any more")
    with pytest.raises(DataFormatError, match=r"file '.*gzb_cutouts.npz' cannot be read"):
        source.native(0)


def test_empty_and_truncated_galaxy10(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"Galaxy10 file '.*empty.h5' is not a readable"):
        read_galaxy10(tmp_path / "empty.h5")
    data = galaxy10(tmp_path / "g.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"Galaxy10 file '.*cut.h5' is not a readable"):
        read_galaxy10(tmp_path / "cut.h5")


def test_damaged_galaxy10_never_leaks_h5py_errors(tmp_path):
    data = galaxy10(tmp_path / "g.h5").read_bytes()
    failures = 0
    for k, offset in enumerate(range(0, 6000, 97)):
        damaged = bytearray(data)
        damaged[offset : offset + 200] = b"\xa5" * 200
        path = tmp_path / f"d{k}.h5"  # a new name each time: HDF5 caches open files
        path.write_bytes(bytes(damaged))
        try:
            source = read_galaxy10(path)
            for i in range(len(source)):
                source.prepare(i, Preprocess(size=8))
            source.close()
        except DataFormatError as exc:
            assert f"d{k}.h5" in str(exc) and "\n" not in str(exc)
            failures += 1
    assert failures > 0


def test_empty_and_damaged_dataset_store(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"dataset '.*empty.h5' .*the file is empty"):
        open_dataset(tmp_path / "empty.h5")
    images = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    catalog = pd.DataFrame({"id": list("abcde"), "label": [0, 1, 0, 1, 0]})
    data = write_dataset(tmp_path / "ds.h5", images, catalog).read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"dataset '.*cut.h5' is not a readable HDF5"):
        open_dataset(tmp_path / "cut.h5")
    failures = 0
    for k, offset in enumerate(range(0, 8000, 97)):  # superblock, headers, attributes
        damaged = bytearray(data)
        damaged[offset : offset + 200] = b"\xa5" * 200
        path = tmp_path / f"d{k}.h5"
        path.write_bytes(bytes(damaged))
        try:
            with open_dataset(path) as ds:
                ds.images[:]
                ds.images[[3, 1]]
        except DataFormatError as exc:
            assert f"d{k}.h5" in str(exc) and "\n" not in str(exc)
            failures += 1
    assert failures > 0


def test_empty_and_truncated_fits(tmp_path):
    (tmp_path / "empty.fits").write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"FITS file '.*empty.fits' is corrupt"):
        read_fits(tmp_path / "empty.fits")
    data = fits_file(tmp_path / "a.fits", np.ones((64, 64))).read_bytes()
    (tmp_path / "cut.fits").write_bytes(data[:5000])
    with pytest.raises(
        DataFormatError,
        match=r"FITS file '.*cut.fits' is corrupt or unreadable: truncated, HDU 0 declares "
        r"64 x 64 pixels \(16384 bytes of data\) but the file ends \d+ bytes short",
    ):
        read_fits(tmp_path / "cut.fits")


def test_truncated_gzipped_catalogue(tmp_path):
    root = gz1(tmp_path / "g")
    labels = root / "labels.csv"
    labels.with_suffix(".csv.gz").write_bytes(b"")  # labels.csv.gz wins over labels.csv
    labels.unlink()
    pd.DataFrame({"OBJID": np.arange(3000), "CLASS": 0}).to_csv(root / "full.csv.gz", index=False)
    data = (root / "full.csv.gz").read_bytes()
    (root / "labels.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"GZ1 labels '.*labels.csv.gz' cannot be parsed"):
        read_gz1(root)


def test_cli_zero_byte_h5(tmp_path, capsys):
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    status, err = cli(capsys, "import", "galaxy10", str(empty), "--out", str(tmp_path / "o.h5"))
    assert status == 2 and "empty.h5' is not a readable HDF5 file" in one_error_line(err)
    status, err = cli(capsys, "info", str(empty))
    assert status == 2 and "the file is empty (0 bytes)" in one_error_line(err)


# --------------------------------------------------------------------------- 4. values
@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("two", r"'two' is not a number, expected a GZ1 class 0\.\.5"),
        ("1.5", r"1\.5 is not a whole number, expected a GZ1 class 0\.\.5"),
        ("-1", r"-1 is not a GZ1 class 0\.\.5"),
        ("", r"empty cell, expected a GZ1 class 0\.\.5"),
    ],
)
def test_gz1_class_of_the_wrong_type(tmp_path, cell, problem):
    root = gz1(tmp_path / "g")
    labels = pd.read_csv(root / "labels.csv", dtype=str)
    labels.loc[2, "CLASS"] = cell
    labels.to_csv(root / "labels.csv", index=False)
    with pytest.raises(DataFormatError, match=rf"labels.csv' line 4, column 'CLASS': {problem}"):
        read_gz1(root)


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        (["0", "1", "two"], r"line 4, column 'label': 'two' is not a number"),
        ([0, 1.5, 1], r"line 3, column 'label': 1\.5 is not a whole number"),
        ([0, -2, 1], r"line 3, column 'label': -2 is not a class index \(an integer >= 0\)"),
        ([0, None, 1], r"line 3, column 'label': empty cell"),
    ],
)
def test_folder_label_of_the_wrong_type(tmp_path, labels, problem):
    for name in "abc":
        png(tmp_path / f"{name}.png")
    folder_catalog(tmp_path, ["a.png", "b.png", "c.png"], label=labels)
    with pytest.raises(DataFormatError, match=rf"folder catalogue '.*cat.csv' {problem}"):
        read_folder(tmp_path)


def test_folder_class_names_still_work(tmp_path):
    for name in "abc":
        png(tmp_path / f"{name}.png")
    folder_catalog(tmp_path, ["a.png", "b.png", "c.png"], label=["spiral", "bar", "spiral"])
    assert read_folder(tmp_path).catalog["label"].tolist() == [1, 0, 1]
    folder_catalog(tmp_path, ["a.png", "b.png", "c.png"], label=[2.0, 0.0, 1.0])
    source = read_folder(tmp_path)
    assert source.catalog["label"].tolist() == [2, 0, 1]
    assert source.metadata["label_names"] == ["0", "1", "2"]


def test_galaxy10_labels_of_the_wrong_type(tmp_path):
    import h5py

    path = galaxy10(tmp_path / "g.h5", n=4)
    for ans, problem in [
        (np.array([0, 1, 1.5, 2]), r"row 2, dataset 'ans': class 1\.5 not in 0\.\.9"),
        (np.array([0, 1, 2, -3]), r"row 3, dataset 'ans': class -3 not in 0\.\.9"),
        (np.array([b"0", b"1", b"x", b"2"]), r"dataset 'ans' holds \|S1 values, not integer"),
    ]:
        with h5py.File(path, "a") as h5:
            del h5["ans"]
            h5["ans"] = ans
        with pytest.raises(DataFormatError, match=rf"Galaxy10 file '.*g.h5' {problem}"):
            read_galaxy10(path)


def test_gz2_values_of_the_wrong_type(tmp_path):
    root = hart16(tmp_path / "h")
    mapping = root / "gz2_filename_mapping.csv"
    pd.read_csv(mapping).assign(asset_id=["10", "eleven", "12"]).to_csv(mapping, index=False)
    with pytest.raises(
        DataFormatError,
        match=r"gz2_filename_mapping.csv' line 3, column 'asset_id': 'eleven' is not a number",
    ):
        read_gz2_hart16(root)
    root = kaggle(tmp_path / "k")
    csv = root / "training_solutions_rev1.csv"
    table = pd.read_csv(csv)
    table["Class1.2"] = table["Class1.2"].astype(object)
    table.loc[1, "Class1.2"] = "abc"
    table.to_csv(csv, index=False)
    with pytest.raises(
        DataFormatError, match=r"solutions_rev1.csv' line 3, column 'Class1.2': 'abc' is not a"
    ):
        read_gz2_kaggle(root)


def test_decals_vote_column_with_text_not_silently_dropped(tmp_path):
    csv = decals_catalog(tmp_path)
    table = pd.read_csv(csv)
    column = "smooth-or-featured_smooth_fraction"
    table[column] = table[column].astype(object)
    table.loc[2, column] = "n/a?"
    table.to_csv(csv, index=False)
    with pytest.raises(DataFormatError, match=rf"line 4, column '{column}': 'n/a\?' is not a"):
        read_gz_decals(csv)


def test_catalogue_only_tables_of_the_wrong_type(tmp_path):
    hoyle = tmp_path / "hoyle_barlengths.csv"
    pd.DataFrame(
        {
            "objid": ["1", "2"],
            "length_avg": ["10.5", "long"],
            "length_stdev": [1.0, 1.0],
            "length_scaled": [0.5, 0.5],
            "bar_meas": [3, 3],
        }
    ).to_csv(hoyle, index=False)
    with pytest.raises(DataFormatError, match=r"line 3, column 'length_avg': 'long' is not a"):
        read_hoyle_bar_lengths(hoyle, sizes=None)
    np.savez(tmp_path / "gzb_cutouts.npz", img_1=np.ones((8, 8), np.float32))
    pd.DataFrame({"dr7objid": ["1"], "bar_Re": ["wide"]}).to_csv(
        tmp_path / "galaxy-builder-catalogue.csv", index=False
    )
    with pytest.raises(DataFormatError, match=r"catalogue.csv' line 2, column 'bar_Re': 'wide'"):
        read_galaxy_builder(tmp_path)


def test_bad_label_raised_before_any_output(tmp_path, capsys):
    for name in "abc":
        png(tmp_path / f"{name}.png")
    folder_catalog(tmp_path, ["a.png", "b.png", "c.png"], label=["0", "1", "two"])
    out = tmp_path / "o.h5"
    with pytest.raises(DataFormatError, match=r"line 4, column 'label'"):
        import_dataset("folder", tmp_path, out, size=8, skip_bad=True)
    assert not out.exists() and not partial_path(out).exists()
    status, err = cli(capsys, "import", "folder", str(tmp_path), "--out", str(out))
    assert status == 2
    assert "cat.csv' line 4, column 'label': 'two' is not a number" in one_error_line(err)
    assert not out.exists()


# --------------------------------------------------------------------------- 5. UTF-8
def test_non_utf8_file_name_in_a_listed_folder(tmp_path, capsys):
    root = tmp_path / "data"
    jpeg(root / "spirals" / "1.jpg", size=8)
    jpeg(root / "spirals" / "2.jpg", size=8)
    bad_name(root / "spirals", ".jpg", (root / "spirals" / "1.jpg").read_bytes())
    with pytest.raises(
        DataFormatError, match=r"folder '.*spirals': file name '\\xff\\xfe.jpg' is not valid UTF-8"
    ):
        read_gz2_kaggle_folders(root)
    source = read_gz2_kaggle_folders(root, skip_bad=True)
    assert source.catalog["id"].tolist() == ["1", "2"]
    out = tmp_path / "o.h5"
    import_dataset("gz2-kaggle-folders", root, out, size=8, skip_bad=True)
    log = skipped_log_path(out).read_text(encoding="utf-8")
    assert "\\xff\\xfe.jpg" in log
    status, err = cli(capsys, "import", "gz2-kaggle-folders", str(root), "--out", str(out))
    assert status == 2 and "is not valid UTF-8" in one_error_line(err)


def test_non_utf8_fits_names(tmp_path):
    fits_file(tmp_path / "a.fits", np.ones((8, 8)))
    bad = bad_name(tmp_path, ".fits", (tmp_path / "a.fits").read_bytes())
    with pytest.raises(DataFormatError, match=r"file name '\\xff\\xfe.fits' is not valid"):
        read_fits_cutouts(tmp_path)
    assert read_fits_cutouts(tmp_path, skip_bad=True).catalog["id"].tolist() == ["a"]
    with pytest.raises(DataFormatError, match=r"'\\xff\\xfe.fits' is not valid UTF-8"):
        read_fits_cutouts(bad)  # named on the command line: refused, not a traceback


def test_non_utf8_text_is_stored_escaped(tmp_path, monkeypatch):
    from galaxy_xai.data.readers.base import FileSource

    fits_file(tmp_path / "a.fits", np.ones((8, 8)))
    prepare = FileSource.prepare

    def with_odd_text(self, i, prep):  # e.g. a header keyword holding raw bytes
        image, extras = prepare(self, i, prep)
        return image, {**extras, "note": os.fsdecode(BAD_NAME)}

    monkeypatch.setattr(FileSource, "prepare", with_odd_text)
    out = import_dataset("fits", tmp_path, tmp_path / "o.h5", size=8)
    with open_dataset(out) as ds:
        assert ds.catalog["note"].tolist() == ["\\xff\\xfe"]


def test_catalogue_not_utf8_names_line_and_column(tmp_path):
    png(tmp_path / "a.png")
    (tmp_path / "cat.csv").write_bytes(b"label,file\n0,a.png\n1,caf\xe9.png\n")
    with pytest.raises(
        DataFormatError,
        match=r"folder catalogue '.*cat.csv' line 3, column 'file' is not valid UTF-8 "
        r"\(invalid continuation byte: b'\\xe9'\)",
    ):
        read_folder(tmp_path)
