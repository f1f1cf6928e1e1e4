"""``import_dataset`` and ``galaxy-xai data import/info``: store contents, bad input,
skip logs, workers, interruption and resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from _data_fixtures import corrupt, fits_file, galaxy10, gz1, jpeg
from galaxy_xai.cli import main
from galaxy_xai.data import import_dataset, open_dataset
from galaxy_xai.data.importer import skipped_log_path
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError
from galaxy_xai.io import partial_path


def test_gz1_import_values_and_metadata(tmp_path):
    root = gz1(tmp_path / "gz1")
    out = import_dataset("gz1", root, tmp_path / "x.h5", size=16, crop=0.5)
    with open_dataset(out) as ds:
        assert len(ds) == 8 and ds.image_shape == (1, 16, 16)
        assert ds.catalog["label"].tolist() == [0, 1, 2, 3, 4, 5, 0, 3]
        assert ds.label_names[3] == "edge-on disk"
        assert ds.metadata["class_names"]["label"] == ds.label_names
        # uniform grey JPEGs stay uniform, at their grey level (JPEG error ~1 level)
        levels = ds.images[:].reshape(8, -1)
        expected = (20 + 25 * np.arange(8)) / 255.0
        np.testing.assert_allclose(levels.mean(1), expected, atol=3 / 255)
        assert levels.std(1).max() < 2 / 255
        assert ds.metadata["preprocessing"]["crop"] == 0.5
        assert ds.metadata["provenance"]["n_imported"] == 8
        assert ds.catalog["original_width_px"].eq(60).all()
        assert np.isnan(ds.catalog["pixel_scale_arcsec"]).all()
    import h5py

    with h5py.File(out) as h5:
        assert h5["images"].dtype == np.uint8


def test_rgb_channels_keep_colour(tmp_path):
    jpeg(tmp_path / "imgs" / "red.jpg", (200, 30, 30))
    pd.DataFrame({"file": ["imgs/red.jpg"], "label": [0]}).to_csv(tmp_path / "c.csv", index=False)
    with open_dataset(
        import_dataset("folder", tmp_path, tmp_path / "o.h5", size=8, channels="rgb")
    ) as ds:
        pixel = ds.images[0][:, 4, 4]
    np.testing.assert_allclose(pixel, np.array([200, 30, 30]) / 255, atol=6 / 255)


def test_galaxy10_import_pixel_scale(tmp_path):
    path = galaxy10(tmp_path / "g.h5", side=256, decals=True)
    out = import_dataset("galaxy10", path, tmp_path / "o.h5", size=64, crop=0.5)
    with open_dataset(out) as ds:
        assert ds.metadata["pixel_scale_arcsec"] == pytest.approx(0.262 * 128 / 64)
        assert ds.catalog["redshift"].eq(0.03).all()


def test_fits_import_asinh_and_linear(tmp_path):
    yy, xx = np.mgrid[:40, :40] - 19.5
    galaxy = 100 * np.exp(-np.hypot(xx, yy) / 4)
    fits_file(tmp_path / "a.fits", np.stack([galaxy, 2 * galaxy, 3 * galaxy]))
    lin = import_dataset(
        "fits", tmp_path, tmp_path / "lin.h5", size=20, channels="all", stretch="linear"
    )
    ash = import_dataset("fits", tmp_path, tmp_path / "ash.h5", size=20, channels="gray")
    with open_dataset(lin) as a, open_dataset(ash) as b:
        img = a.images[0]
        assert img.shape == (3, 20, 20) and img.max() > 50  # native units kept
        np.testing.assert_allclose(img[1], 2 * img[0], rtol=1e-4, atol=1e-3)
        assert a.catalog["bands"][0] == "grz"
        g = b.images[0]
        assert g.shape == (1, 20, 20) and g.min() >= 0 and g.max() <= 1
        assert g[0, 10, 10] > g[0, 0, 0]  # centre brighter after the monotonic stretch
        assert b.metadata["preprocessing"]["stretch"] == "asinh"
        assert a.catalog["pixel_scale_arcsec"][0] == pytest.approx(0.262 * 2, rel=1e-3)


def test_galaxy_builder_import_scale_real(real_data, tmp_path):
    out = import_dataset(
        "galaxy-builder", real_data / "galaxy-builder", tmp_path / "gb.h5", size=32, limit=5
    )
    with open_dataset(out) as ds:
        cat = ds.catalog
        np.testing.assert_allclose(cat["pixel_scale_arcsec"], 0.396 * cat["original_width_px"] / 32)
        assert ds.images[:].min() >= 0 and ds.images[:].max() <= 1
        assert "p_bar" in cat and "bar_Re_arcsec" in cat


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 4}, r"size=4: must lie in 8\.\.4096"),
        ({"size": 5000}, r"size=5000"),
        ({"crop": 0.0}, r"crop=0\.0: must lie in \(0, 1\]"),
        ({"crop": 1.5}, r"crop=1\.5"),
        ({"channels": "cmyk"}, r"channels='cmyk'"),
        ({"workers": 0}, r"workers=0"),
        ({"limit": 0}, r"limit=0"),
    ],
)
def test_bad_options(tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        import_dataset("gz1", tmp_path, tmp_path / "o.h5", **kwargs)


def test_unknown_format_and_missing_source(tmp_path):
    with pytest.raises(ParameterError, match="format='gz3': must be one of gz1, gz2-kaggle"):
        import_dataset("gz3", tmp_path, tmp_path / "o.h5")
    with pytest.raises(DataMissingError, match="GZ1 folder '.*missing' does not exist"):
        import_dataset("gz1", tmp_path / "missing", tmp_path / "o.h5")


def test_corrupt_jpeg_raises_or_is_skipped(tmp_path):
    root = gz1(tmp_path / "gz1")
    corrupt(root / "images" / "588848901537202310.jpeg")
    out = tmp_path / "o.h5"
    with pytest.raises(DataFormatError, match=r"image file '.*588848901537202310.jpeg' is corrupt"):
        import_dataset("gz1", root, out, size=16)
    assert not out.exists()
    (root / "images" / "588848901537202307.jpeg").unlink()
    import_dataset("gz1", root, out, size=16, skip_bad=True)
    with open_dataset(out) as ds:
        assert len(ds) == 6 and "588848901537202310" not in set(ds.catalog["id"])
        assert ds.metadata["provenance"]["n_skipped"] == 2
    log = pd.read_csv(skipped_log_path(out), dtype=str)
    assert log["id"].tolist() == ["588848901537202307", "588848901537202310"]
    assert log["reason"].tolist()[0] == "no image file" and "corrupt" in log["reason"][1]


def test_nan_fits_raises_or_is_skipped(tmp_path):
    fits_file(tmp_path / "a.fits", np.ones((16, 16)))
    bad = np.ones((16, 16))
    bad[3, 3] = np.nan
    fits_file(tmp_path / "b.fits", bad)
    with pytest.raises(DataFormatError, match=r"b.fits': 1 NaN or infinite pixel"):
        import_dataset("fits", tmp_path, tmp_path / "o.h5", size=8)
    import_dataset("fits", tmp_path, tmp_path / "o.h5", size=8, skip_bad=True)
    with open_dataset(tmp_path / "o.h5") as ds:
        assert ds.catalog["id"].tolist() == ["a"]


def test_mixed_band_counts_named(tmp_path):
    fits_file(tmp_path / "a.fits", np.ones((3, 16, 16)))
    fits_file(tmp_path / "b.fits", np.ones((16, 16)))
    with pytest.raises(
        DataFormatError, match=r"'b'.*shape \(1, 8, 8\) differs from the first image's \(3, 8, 8\)"
    ):
        import_dataset("fits", tmp_path, tmp_path / "o.h5", size=8, channels="all")


def test_workers_match_single_process(tmp_path):
    root = gz1(tmp_path / "gz1", labels=tuple(range(6)) * 3)
    one = import_dataset("gz1", root, tmp_path / "one.h5", size=16, chunk_size=4)
    two = import_dataset("gz1", root, tmp_path / "two.h5", size=16, workers=2, chunk_size=4)
    with open_dataset(one) as a, open_dataset(two) as b:
        np.testing.assert_array_equal(a.images[:], b.images[:])
        pd.testing.assert_frame_equal(a.catalog, b.catalog)


def test_interrupted_import_leaves_no_finished_file_and_resumes(tmp_path, monkeypatch):
    from galaxy_xai.data.readers.base import FileSource

    root = gz1(tmp_path / "gz1", labels=tuple(range(6)) * 2)
    out = tmp_path / "o.h5"
    full = import_dataset("gz1", root, tmp_path / "ref.h5", size=16)
    original = FileSource.prepare
    calls = {"n": 0}

    def flaky(self, i, prep):
        calls["n"] += 1
        if calls["n"] == 9:  # probe + 7 items, then the "machine dies"
            raise KeyboardInterrupt
        return original(self, i, prep)

    monkeypatch.setattr(FileSource, "prepare", flaky)
    with pytest.raises(KeyboardInterrupt):
        import_dataset("gz1", root, out, size=16, chunk_size=3)
    assert not out.exists() and partial_path(out).exists()
    with pytest.raises(DataMissingError, match="unfinished '.partial' file exists"):
        open_dataset(out)
    monkeypatch.setattr(FileSource, "prepare", original)
    calls["n"] = 0
    seen = []
    monkeypatch.setattr(
        FileSource, "prepare", lambda self, i, prep: (seen.append(i), original(self, i, prep))[1]
    )
    import_dataset("gz1", root, out, size=16, chunk_size=3, resume=True)
    assert seen[1:] == list(range(6, 12))  # probe, then only the unfinished chunks
    assert not partial_path(out).exists()
    with open_dataset(out) as a, open_dataset(full) as b:
        np.testing.assert_array_equal(a.images[:], b.images[:])
        assert a.catalog["id"].tolist() == b.catalog["id"].tolist()


def test_cli_import_and_info(tmp_path, capsys):
    root = gz1(tmp_path / "gz1")
    out = tmp_path / "x.h5"
    assert (
        main(
            ["data", "import", "gz1", str(root), "--out", str(out), "--size", "16", "--limit", "5"]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    assert main(["data", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "images:        5" in text and "anticlockwise spiral" in text and "(1, 16, 16)" in text
    assert main(["data", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_images"] == 5 and info["storage_dtype"] == "uint8"
    assert [r["count"] for r in info["label_counts"]["label"]] == [1, 1, 1, 1, 1, 0]
    assert info["provenance"]["command"].startswith("galaxy-xai")
    assert main(["data", "import", "gz1", str(root), "--out", str(out), "--crop", "2"]) == 2
    assert "argument --crop: '2' is not a number in (0, 1]" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path / "none.h5")]) == 2
