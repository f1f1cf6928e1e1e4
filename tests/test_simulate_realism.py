"""The sim-to-real gap measurements: domain AUCs, pixel statistics, statmorph morphology."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.errors import ParameterError
from galaxy_xai.simulate.realism import (
    MORPHOLOGY_QUANTITIES,
    STATISTICS,
    distribution_distances,
    domain_auc_cnn,
    domain_auc_statistics,
    image_statistics,
    morphology_table,
)


def _galaxies(n: int, *, noise: float, radius: float, size: int = 32, seed: int = 0):
    """Exponential discs of a given scale radius on Gaussian sky noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(xx, yy)
    out = []
    for _ in range(n):
        scale = radius * rng.uniform(0.8, 1.2)
        img = 0.8 * np.exp(-r / scale) + 0.05 + noise * rng.standard_normal((size, size))
        out.append(np.clip(img, 0, 1)[None])
    return np.stack(out).astype(np.float32)


def test_image_statistics_measure_what_they_say() -> None:
    images = _galaxies(20, noise=0.02, radius=3.0)
    stats = image_statistics(images)
    assert list(stats.columns) == list(STATISTICS) and len(stats) == 20
    assert stats["border_noise"].median() == pytest.approx(0.02, rel=0.2)
    assert stats["border_mean"].median() == pytest.approx(0.05, abs=0.01)
    assert (stats["central_concentration"] > 3).all() and (stats["near_black_fraction"] < 0.1).all()
    with pytest.raises(ParameterError, match="images"):
        image_statistics(images[0])


def test_statistics_auc_is_chance_for_one_distribution_and_one_for_two() -> None:
    same_a = image_statistics(_galaxies(40, noise=0.02, radius=3.0, seed=1))
    same_b = image_statistics(_galaxies(40, noise=0.02, radius=3.0, seed=2))
    other = image_statistics(_galaxies(40, noise=0.08, radius=3.0, seed=3))
    assert abs(domain_auc_statistics(same_a, same_b) - 0.5) < 0.2
    assert domain_auc_statistics(same_a, other) > 0.95
    with pytest.raises(ParameterError, match="folds"):
        domain_auc_statistics(same_a.iloc[:3], same_b)


def test_cnn_auc_tells_noise_levels_apart_but_not_twins() -> None:
    import torch

    torch.set_num_threads(1)
    a = _galaxies(40, noise=0.02, radius=3.0, seed=1)
    b = _galaxies(40, noise=0.02, radius=3.0, seed=2)
    c = _galaxies(40, noise=0.10, radius=3.0, seed=3)
    assert domain_auc_cnn(a, c, epochs=6) > 0.9
    assert abs(domain_auc_cnn(a, b, epochs=6) - 0.5) < 0.25
    with pytest.raises(ParameterError, match="image shape"):
        domain_auc_cnn(a, a[:, :, :16, :16])


def test_morphology_follows_the_profile_and_flags_empty_images() -> None:
    small = morphology_table(_galaxies(6, noise=0.01, radius=1.5, seed=4))
    large = morphology_table(_galaxies(6, noise=0.01, radius=4.0, seed=5))
    assert list(small.columns[:-1]) == list(MORPHOLOGY_QUANTITIES)
    assert not small["flag_bad"].any() and large["flag_bad"].sum() <= 1
    assert large["half_light_radius_frac"].median() > 1.5 * small["half_light_radius_frac"].median()
    assert small["sn_per_pixel"].median() > 5 and small["gini"].between(0, 1).all()
    blank = morphology_table(np.zeros((2, 1, 32, 32), np.float32))
    assert blank["flag_bad"].all() and blank["concentration"].isna().all()


def test_distribution_distances() -> None:
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(0, 1, 4000), "y": rng.normal(0, 1, 4000)})
    b = pd.DataFrame({"x": rng.normal(0.5, 1, 4000), "y": np.r_[rng.normal(0, 1, 3999), np.nan]})
    d = distribution_distances(a, b, ["x", "y"])
    assert d["x"]["w1"] == pytest.approx(0.5, abs=0.06) and d["x"]["ks"] > 0.15
    assert d["y"]["w1"] < 0.06 and d["y"]["median_real"] == pytest.approx(0, abs=0.06)


@pytest.mark.realdata
def test_masked_galaxy_builder_pixels_are_sky_not_holes(real_data) -> None:
    from galaxy_xai.data.preprocess import Preprocess
    from galaxy_xai.data.readers.galaxy_builder import read_galaxy_builder

    source = read_galaxy_builder(real_data / "galaxy-builder")
    i = max(range(len(source)), key=lambda k: source.mask(k).mean())
    mask = source.mask(i)
    assert mask.mean() > 0.1, "the most masked Galaxy Builder cutout masks a bright star"
    side = mask.shape[0]  # native size: the mask applies pixel for pixel
    zero, _ = source.prepare(i, Preprocess(size=side, mask_fill="zero"))
    noise, _ = source.prepare(i, Preprocess(size=side, mask_fill="noise"))
    default, _ = source.prepare(i, Preprocess(size=side))  # interpolate
    ring = np.zeros_like(mask)
    ring[:8], ring[-8:], ring[:, :8], ring[:, -8:] = True, True, True, True
    sky = noise[0][ring & ~mask]
    # zero: a flat patch darker than the sky; noise: the sky's own level and scatter
    assert zero[0][mask].std() < 0.1 * sky.std() and zero[0][mask].mean() < np.median(sky)
    filled = noise[0][mask]
    assert 0.6 < filled.std() / sky.std() < 1.6
    assert abs(np.median(filled) - np.median(sky)) < 0.5 * sky.std()
    # interpolate: the surrounding light goes on, with noise: never darker than the sky
    smooth = default[0][mask]
    assert np.median(smooth) > np.median(sky) - 0.5 * sky.std() and smooth.std() > 0.6 * sky.std()


@pytest.mark.parametrize("name", ["galaxy-builder", "gz1"])
def test_stand_in_configs_simulate(name: str) -> None:
    from galaxy_xai.simulate import simulate_galaxies
    from galaxy_xai.simulate.presets import STAND_INS

    images, catalog = simulate_galaxies(4, preset="sdss", size=32, seed=3, config=STAND_INS[name])
    assert images.shape[0] == 4 and len(catalog) == 4 and (catalog["framing"] == "relative").all()


def test_stand_in_scales_its_noise_grain_with_the_stamp_size() -> None:
    from galaxy_xai.errors import ParameterError as PE
    from galaxy_xai.simulate.presets import STAND_IN_SIZE_PX, STAND_INS, stand_in

    assert stand_in("gz1") == STAND_INS["gz1"]
    grain = float(STAND_INS["gz1"]["noise_correlation_px"])  # type: ignore[arg-type]
    big = stand_in("gz1", 2 * STAND_IN_SIZE_PX)
    assert big["noise_correlation_px"] == pytest.approx(2 * grain)
    assert {k: v for k, v in big.items() if k != "noise_correlation_px"} == {
        k: v for k, v in STAND_INS["gz1"].items() if k != "noise_correlation_px"
    }
    assert stand_in("galaxy-builder", 128) == STAND_INS["galaxy-builder"]  # white noise
    with pytest.raises(PE, match="stand_in.*gz1"):
        stand_in("gz2")
    with pytest.raises(PE, match="size"):
        stand_in("gz1", 8)


def test_jpeg_black_point_below_the_sky_lifts_the_sky_out_of_black() -> None:
    from galaxy_xai.errors import ParameterError as PE
    from galaxy_xai.simulate import simulate_galaxies
    from galaxy_xai.simulate.config import JpegConfig

    levels = {}
    for offset in (0.0, 1.5):
        images, _ = simulate_galaxies(6, preset="sdss", size=32, seed=4, rendering="jpeg-gray",
                                      config={"jpeg": {"sky_offset_sigma": offset}})  # fmt: skip
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        stats = image_statistics(images.astype(np.float32) / scale)
        levels[offset] = (stats["border_mean"].median(), stats["near_black_fraction"].median())
    assert levels[1.5][0] > 1.5 * levels[0.0][0] and levels[1.5][1] < levels[0.0][1] / 2
    for bad in (-1.0, float("nan"), 11.0):
        with pytest.raises(PE, match="jpeg.sky_offset_sigma"):
            JpegConfig(sky_offset_sigma=bad)


def test_report_shows_a_realism_section(tmp_path) -> None:
    import json

    from galaxy_xai.report import build_report, write_realism

    rng = np.random.default_rng(0)
    sim = pd.DataFrame({"gini": rng.normal(0.5, 0.05, 50), "m20": rng.normal(-1.8, 0.2, 50)})
    real = pd.DataFrame({"gini": rng.normal(0.42, 0.05, 40), "m20": rng.normal(-1.6, 0.2, 40)})
    write_realism(tmp_path / "run", "gzb", simulated=sim, real=real, title="GZB stand-in",
                  metrics={"domain_auc_gzb": 0.7})  # fmt: skip
    html = build_report(tmp_path / "run").read_text()
    assert "Realism: simulated vs real galaxies" in html and "GZB stand-in" in html
    figure = json.loads((tmp_path / "run" / "report_assets" / "realism-gzb.json").read_text())
    assert figure["quantities"]["gini"]["ks"] > 0.4 and figure["quantities"]["m20"]["n_real"] == 40
    with pytest.raises(ParameterError, match="shares no numeric column"):
        write_realism(tmp_path / "run", "bad", simulated=sim, real=pd.DataFrame({"x": [1.0]}),
                      title="bad")  # fmt: skip


def test_asinh_rendering_is_the_importers_stretch_of_the_counts(tmp_path) -> None:
    from galaxy_xai.data import open_dataset
    from galaxy_xai.data.preprocess import Preprocess, asinh_stretch
    from galaxy_xai.simulate import simulate_dataset
    from galaxy_xai.simulate.presets import STAND_INS

    images = {}
    for rendering in ("counts", "asinh"):
        path = simulate_dataset(
            tmp_path / f"{rendering}.h5", n=4, preset="sdss", size=32, seed=3,
            config=STAND_INS["galaxy-builder"], rendering=rendering,
        )  # fmt: skip
        with open_dataset(path) as ds:
            images[rendering] = ds.images[:]
            if rendering == "asinh":
                assert ds.metadata["preprocessing"]["stretch"] == "importer asinh"
    prep = Preprocess()
    expected = np.stack(
        [asinh_stretch(im, a=prep.asinh_a, percentile=prep.percentile) for im in images["counts"]]
    )
    assert images["asinh"].dtype == np.float32
    assert images["asinh"].min() >= 0.0 and images["asinh"].max() <= 1.0
    np.testing.assert_allclose(images["asinh"], expected, atol=1e-6)


def test_galaxy_builder_stand_in_renders_like_the_import() -> None:
    from galaxy_xai.simulate.config import load_simulation_config
    from galaxy_xai.simulate.presets import STAND_INS

    config = load_simulation_config({"preset": "sdss", **STAND_INS["galaxy-builder"]})
    assert config.rendering == "asinh" and config.storage_dtype == "float32"
