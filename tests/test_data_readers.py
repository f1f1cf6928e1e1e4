"""Readers: every format, on real data where present and exact-layout files otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _data_fixtures import corrupt, decals_catalog, fits_file, galaxy10, gz1, hart16, jpeg, kaggle
from galaxy_xai.data.preprocess import Preprocess
from galaxy_xai.data.readers import (
    GZ1_CLASS_NAMES,
    KAGGLE_VOTE_COLUMNS,
    read_fits_cutouts,
    read_folder,
    read_galaxy10,
    read_galaxy_builder,
    read_gz1,
    read_gz1_labels,
    read_gz2_hart16,
    read_gz2_kaggle,
    read_gz2_kaggle_folders,
    read_gz2_votes_table,
    read_gz_decals,
    read_hoyle_bar_lengths,
)
from galaxy_xai.errors import DataFormatError, DataMissingError

GZ1_COUNTS = [4645, 414, 436, 998, 56, 115]


# --------------------------------------------------------------------------- real data
def test_gz1_real_labels_and_catalogue(real_data):
    labels = read_gz1_labels(real_data / "gz1-sdss")
    assert len(labels) == 6664
    assert np.bincount(labels["label"]).tolist() == GZ1_COUNTS
    source = read_gz1(real_data / "gz1-sdss")
    assert len(source) == 6664 and source.metadata["label_names"] == list(GZ1_CLASS_NAMES)
    assert source.catalog["id"].str.fullmatch(r"\d{18}").all()
    image = source.image(0)
    assert image.shape == (3, 423, 423) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert np.isnan(source.catalog["pixel_scale_arcsec"]).all()


def test_gz2_kaggle_spirals_folders_real(real_data):
    source = read_gz2_kaggle_folders(real_data / "gz2-kaggle-spirals")
    cat = source.catalog
    assert len(cat) == 2000 and source.metadata["label_names"] == ["non_spirals", "spirals"]
    assert cat.groupby(["split", "label"]).size().tolist() == [700, 700, 300, 300]
    assert cat["split"].value_counts().to_dict() == {"train": 1400, "validation": 600}


def test_galaxy_builder_real(real_data):
    source = read_galaxy_builder(real_data / "galaxy-builder")
    cat = source.catalog
    assert len(cat) == 198 and cat["pixel_scale_arcsec"].eq(0.396).all()
    assert int(cat["has_bar"].sum()) == 59 and cat["p_bar"].notna().all()
    assert cat["redshift"].between(0, 0.2).all()
    np.testing.assert_allclose(cat["bar_Re_arcsec"], cat["bar_Re"] * 0.396)
    image, notes = source.native(0)
    assert (
        image.dtype == np.float32
        and image.shape[1] == image.shape[2]
        and 60 <= image.shape[1] <= 294
    )
    assert notes["mask"].shape == image.shape[1:] and notes["mask"].dtype == bool
    psf = source.psf(0)
    assert psf.shape == (11, 11) and psf.sum() == pytest.approx(1.0, rel=1e-5)
    i = next(k for k in range(len(source)) if source.mask(k).any())
    assert np.all(source.native(i)[0][0][source.mask(i)] == 0)  # released pre-masked


def test_galaxy_builder_layout_masks(tmp_path):
    rng = np.random.default_rng(0)
    img = (1.0 + 0.1 * rng.standard_normal((40, 40))).astype(np.float32)
    mask = np.zeros((40, 40), bool)
    mask[:20] = True
    np.savez(tmp_path / "gzb_cutouts.npz", img_1=img, mask_1=mask, psf_1=np.ones((11, 11)))
    source = read_galaxy_builder(tmp_path)
    assert source.catalog["id"].tolist() == ["1"] and "p_bar" not in source.catalog
    zero, extras = source.prepare(0, Preprocess(size=20, stretch="linear", mask_fill="zero"))
    off, _ = source.prepare(0, Preprocess(size=20, stretch="linear", zero_masked=False))
    assert np.allclose(zero[0, :6], 0, atol=1e-6) and abs(zero[0, 14:].mean() - 1) < 0.02
    assert abs(off.mean() - 1) < 0.01
    assert extras["pixel_scale_arcsec"] == pytest.approx(0.396 * 2)
    assert source.psf(0).sum() == pytest.approx(1.0)
    # the default fills masked pixels with the unmasked sky's level and noise, no hole
    noise, _ = source.prepare(0, Preprocess(size=40, stretch="linear"))
    masked, sky = noise[0, :20], noise[0, 20:]
    assert abs(masked.mean() - 1.0) < 0.02 and abs(masked.std() - sky.std()) < 0.02
    np.testing.assert_allclose(sky, img[20:], atol=1e-4)  # unmasked pixels untouched
    again, _ = source.prepare(0, Preprocess(size=40, stretch="linear"))
    np.testing.assert_array_equal(noise, again)  # seeded by the galaxy's id


def test_interpolated_fill_leaves_no_hole_in_the_galaxy():
    from galaxy_xai.data.preprocess import fill_masked

    yy, xx = np.mgrid[:64, :64] - 31.5
    rng = np.random.default_rng(1)
    galaxy = 10.0 * np.exp(-np.hypot(xx, yy) / 8.0)
    image = (galaxy + 0.1 * rng.standard_normal((64, 64)))[None].astype(np.float32)
    star = np.hypot(xx - 8, yy + 4) < 4  # a masked star on the galaxy's bright part
    truth = galaxy[star].mean()
    interpolated = fill_masked(image, star, how="interpolate", seed=0)[0][star]
    sky_only = fill_masked(image, star, how="noise", seed=0)[0][star]
    assert abs(interpolated.mean() - truth) < 0.15 * truth  # the galaxy's light goes on
    assert sky_only.mean() < 0.3 * truth  # sky noise alone: a dark hole in the galaxy
    assert interpolated.std() > 0.05  # with noise, not a flat patch
    again = fill_masked(image, star, how="interpolate", seed=0)[0][star]
    np.testing.assert_array_equal(interpolated, again)


def test_fill_masked_checks_its_input():
    from galaxy_xai.data.preprocess import fill_masked
    from galaxy_xai.errors import ParameterError

    image = np.ones((1, 8, 8), np.float32)
    with pytest.raises(ParameterError, match="mask_fill='blur'"):
        fill_masked(image, np.zeros((8, 8), bool), how="blur", seed=0)
    with pytest.raises(ParameterError, match="mask="):
        fill_masked(image, np.zeros((4, 4), bool), how="noise", seed=0)
    with pytest.raises(ParameterError, match="mask_fill"):
        Preprocess(mask_fill="holes")
    everything = fill_masked(image, np.ones((8, 8), bool), how="noise", seed=0)
    assert not everything.any()  # no sky left to copy: zero, said in the docstring


def test_fits_real_decals_and_cosmos(real_data):
    source = read_fits_cutouts(real_data / "decals-fits")
    assert source.catalog["id"].tolist() == ["example_a", "example_b"] and source.float_data
    image, info = source.native(0)
    assert image.shape == (3, 509, 509) and info["bands"] == ["g", "r", "z"]
    assert info["pixel_scale_arcsec"] == pytest.approx(0.262, abs=1e-3)
    out, extras = source.prepare(1, Preprocess(size=81, channels="all", stretch="linear"))
    assert out.shape == (3, 81, 81)
    assert extras["pixel_scale_arcsec"] == pytest.approx(0.262 * 162 / 81, rel=1e-3)
    cosmos = read_fits_cutouts(real_data / "cosmos-hst", pattern="*masknoise.fits")
    image, info = cosmos.native(0)
    assert image.shape == (1, 543, 543)
    assert info["pixel_scale_arcsec"] == pytest.approx(0.03, rel=0.05)  # ACS drizzled


def test_willett_votes_table_real(real_data):
    df = read_gz2_votes_table(real_data / "gz2-stripe82" / "table5.csv.gz")
    assert len(df) == 19761 and df.columns[0] == "id" and df["id"].is_unique
    frac = df[
        [
            c
            for c in df.columns
            if c.startswith("t01_") and c.endswith("_fraction") and "weighted" not in c
        ]
    ]
    np.testing.assert_allclose(frac.sum(axis=1), 1.0, atol=0.01)


def test_hoyle_bar_lengths_real(real_data):
    df = read_hoyle_bar_lengths(real_data / "hoyle2011-bars" / "hoyle_barlengths.csv")
    assert len(df) == 3106 and df["id"].is_unique and df["sma_kpc"].notna().all()
    assert (df["bar_length_arcsec"] > 0).all()
    assert np.allclose(df["bar_semi_major_arcsec"] * 2, df["length_avg"])
    assert df["redshift"].between(0, 0.2).all()


# --------------------------------------------------------------------------- exact layouts
def test_gz2_kaggle_layout(tmp_path):
    source = read_gz2_kaggle(kaggle(tmp_path))
    assert source.catalog["id"].tolist() == ["100008", "100023", "100053"]
    assert all(c in source.catalog.columns for c in KAGGLE_VOTE_COLUMNS)
    assert source.catalog["source_file"][0] == "images_training_rev1/100008.jpg"
    assert source.image(0).shape == (3, 48, 48)


def test_gz2_kaggle_missing_vote_column_lists_found(tmp_path):
    kaggle(tmp_path)
    csv = tmp_path / "training_solutions_rev1.csv"
    pd.read_csv(csv).rename(columns={"Class7.2": "Class7_2"}).to_csv(csv, index=False)
    with pytest.raises(
        DataFormatError, match=r"no column\(s\) 'Class7.2' \(found: GalaxyID, Class1.1"
    ):
        read_gz2_kaggle(tmp_path)


def test_gz2_hart16_layout_and_unmatched(tmp_path):
    source = read_gz2_hart16(hart16(tmp_path))
    cat = source.catalog
    assert cat["id"].tolist() == ["587722981741363294", "587722981741363323", "587722981741559888"]
    assert cat["asset_id"].tolist() == [10, 11, 12]
    assert "t01_smooth_or_features_a01_smooth_debiased" in cat.columns
    assert not any(c.endswith(("_count", "_flag")) for c in cat.columns)
    mapping = tmp_path / "gz2_filename_mapping.csv"
    pd.read_csv(mapping).iloc[:2].to_csv(mapping, index=False)
    with pytest.raises(DataMissingError, match=r"id '587722981741559888' \(line 4\) has no row in"):
        read_gz2_hart16(tmp_path)
    skipped = read_gz2_hart16(tmp_path, skip_bad=True)
    assert len(skipped) == 2 and skipped.skipped[0]["reason"] == "no filename mapping"


def test_gz_decals_catalogue(tmp_path):
    source = read_gz_decals(decals_catalog(tmp_path))
    cat = source.catalog
    assert cat["id"].tolist() == ["J0000", "J0001", "J0002"]
    assert "smooth-or-featured_smooth_fraction" in cat.columns and "redshift" in cat.columns
    assert "iauname" not in cat.columns  # text columns dropped, numeric kept
    np.testing.assert_allclose(source.image(2)[:, 0, 0], np.array([100, 90, 200]) / 255, atol=1e-6)


def test_gz_decals_missing_file_column(tmp_path):
    csv = decals_catalog(tmp_path)
    pd.read_csv(csv).drop(columns=["file_loc"]).to_csv(csv, index=False)
    with pytest.raises(
        DataFormatError, match=r"has no file column \(looked for file, file_loc.*found: iauname"
    ):
        read_gz_decals(csv)


@pytest.mark.parametrize(("side", "decals"), [(69, False), (256, True)])
def test_galaxy10_variants(tmp_path, side, decals):
    source = read_galaxy10(galaxy10(tmp_path / "g10.h5", side=side, decals=decals))
    assert source.metadata["galaxy10_variant"] == ("decals" if decals else "sdss")
    assert source.catalog["label"].tolist() == [0, 1, 2, 3, 4, 5]
    assert source.metadata["label_names"][5] == (
        "barred spiral" if decals else "disk, edge-on, boxy bulge"
    )
    image = source.image(3)
    assert image.shape == (3, side, side)
    if decals:
        assert source.catalog["pixel_scale_arcsec"].eq(0.262).all()
        out, extras = source.prepare(0, Preprocess(size=64))
        assert out.shape == (1, 64, 64) and extras["pixel_scale_arcsec"] == pytest.approx(0.262 * 4)


def test_galaxy10_missing_dataset(tmp_path):
    import h5py

    with h5py.File(tmp_path / "bad.h5", "w") as h5:
        h5["images"] = np.zeros((2, 69, 69, 3), np.uint8)
    with pytest.raises(DataFormatError, match=r"has no dataset\(s\) \['ans'\] \(found: images\)"):
        read_galaxy10(tmp_path / "bad.h5")


def test_folder_with_class_names(tmp_path):
    for k, name in enumerate(["b.png", "a.jpg", "c.jpg"]):
        jpeg(tmp_path / "imgs" / name, 50 * (k + 1))
    pd.DataFrame(
        {
            "file": ["imgs/b.png", "imgs/a.jpg", "imgs/c.jpg"],
            "class": ["spiral", "elliptical", "spiral"],
            "mag": [17.0, 16.5, 18.0],
        }
    ).to_csv(tmp_path / "cat.csv", index=False)
    source = read_folder(tmp_path)
    assert source.catalog["id"].tolist() == ["b", "a", "c"]  # from file names
    assert source.catalog["label"].tolist() == [1, 0, 1]
    assert source.metadata["class_names"] == {"label": ["elliptical", "spiral"]}


def test_gz1_errors(tmp_path):
    with pytest.raises(DataMissingError, match="GZ1 folder '.*nowhere' does not exist"):
        read_gz1(tmp_path / "nowhere")
    root = gz1(tmp_path / "g")
    labels = pd.read_csv(root / "labels.csv")
    labels.rename(columns={"CLASS": "class"}).to_csv(root / "labels.csv", index=False)
    with pytest.raises(DataFormatError, match=r"no column\(s\) 'CLASS' \(found: OBJID, class\)"):
        read_gz1(root)
    pd.concat([labels, labels.iloc[[1]]]).to_csv(root / "labels.csv", index=False)
    with pytest.raises(
        DataFormatError, match=r"duplicate id '588848901537202307' on lines \[3, 10\]"
    ):
        read_gz1(root)
    labels.assign(CLASS=[0, 1, 2, 3, 4, 5, 9, 0]).to_csv(root / "labels.csv", index=False)
    with pytest.raises(DataFormatError, match=r"line 8, column 'CLASS': 9 is not a GZ1 class"):
        read_gz1(root)
    labels.to_csv(root / "labels.csv", index=False)
    (root / "images" / "588848901537202308.jpeg").unlink()
    with pytest.raises(DataMissingError, match=r"id '588848901537202308' \(line 4\) has no image"):
        read_gz1(root)
    source = read_gz1(root, skip_bad=True)
    assert len(source) == 7 and source.skipped == [
        {
            "id": "588848901537202308",
            "file": "images/588848901537202308.jpeg",
            "reason": "no image file",
        }
    ]


def test_fits_bad_input(tmp_path):
    from galaxy_xai.data.images import decode_raster, read_fits

    good = np.ones((3, 20, 20), np.float32)
    nan = good.copy()
    nan[1, 4, 5] = np.nan
    fits_file(tmp_path / "nan.fits", nan)
    with pytest.raises(
        DataFormatError,
        match=r"nan.fits': 1 NaN or infinite pixel\(s\), first NaN at index \(1, 4, 5\)",
    ):
        read_fits(tmp_path / "nan.fits")
    inf = good.copy()
    inf[0, 0, 0] = np.inf
    fits_file(tmp_path / "inf.fits", inf)
    with pytest.raises(DataFormatError, match="first infinite at index"):
        read_fits(tmp_path / "inf.fits")
    corrupt(fits_file(tmp_path / "cut.fits", np.ones((64, 64))))
    with pytest.raises(DataFormatError, match="FITS file '.*cut.fits' is corrupt or unreadable"):
        read_fits(tmp_path / "cut.fits")
    with pytest.raises(DataMissingError, match="FITS file '.*absent.fits' does not exist"):
        read_fits(tmp_path / "absent.fits")
    corrupt(jpeg(tmp_path / "cut.jpg"))
    with pytest.raises(DataFormatError, match="image file '.*cut.jpg' is corrupt"):
        decode_raster(tmp_path / "cut.jpg", size=16)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="holds no FITS files"):
        read_fits_cutouts(tmp_path / "empty")


def test_fits_pixel_scale_and_single_band(tmp_path):
    fits_file(
        tmp_path / "one.fits",
        np.arange(400, dtype=np.float32).reshape(20, 20),
        scale_deg=0.2 / 3600,
    )
    fits_file(tmp_path / "nowcs.fits", np.ones((20, 20)), scale_deg=None)
    source = read_fits_cutouts(tmp_path)
    assert source.catalog["id"].tolist() == ["nowcs", "one"]
    _, info = source.native(1)
    assert info["pixel_scale_arcsec"] == pytest.approx(0.2)
    _, extras = source.prepare(0, Preprocess(size=10))
    assert np.isnan(extras["pixel_scale_arcsec"])
