"""Bulge size and B/T from saliency maps: measurement, calibration, files, commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.cli import main
from galaxy_xai.data.store import write_dataset
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.explain.maps_io import MapWriter
from galaxy_xai.features import (
    FEATURE_COLUMNS,
    BulgeParams,
    bulge_output,
    calibrate_bulge,
    load_bulge_calibration,
    measure_bulge,
    measure_features,
    measure_files,
    save_bulge_calibration,
)

SIZE = 48


def bulge_disk(bt: float, re_bulge_px: float, re_disk_px: float = 10.0, noise: float = 0.002,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """A face-on de Vaucouleurs-like bulge plus exponential disk of total light 1, and
    the ideal map (the bulge's share of each pixel's light), ``(1, H, W)`` each."""
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    r = np.hypot(xx, yy)
    bulge = np.exp(-7.67 * ((r / re_bulge_px) ** 0.25 - 1))
    disk = np.exp(-1.678 * r / re_disk_px)
    bulge_light = bt * bulge / bulge.sum()
    image = bulge_light + (1 - bt) * disk / disk.sum()
    share = bulge_light / image
    image = image + noise * np.random.default_rng(seed).standard_normal(image.shape) * image.max()
    return image[None].astype(np.float32), share[None].astype(np.float32)


def test_measurement_is_bounded_and_flags_what_it_cannot_measure() -> None:
    image, bulge = bulge_disk(0.4, 2.0)
    m = measure_bulge(bulge, image)
    assert m.flag == "ok"
    assert 0.0 < m.bt_raw <= 1.0 and m.radius_raw_px > 0 and m.galaxy_radius_px > 0
    assert measure_bulge(np.zeros_like(bulge), image).flag == "no_signal"
    assert measure_bulge(np.full_like(bulge, np.nan), image).flag == "no_signal"
    assert measure_bulge(bulge, np.zeros_like(image)).flag == "no_galaxy"


def test_a_tighter_map_gives_a_smaller_bulge() -> None:
    image, _ = bulge_disk(0.3, 2.0)
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    r = np.hypot(xx, yy)
    params = BulgeParams(map_threshold=0.05)
    tight = measure_bulge(np.exp(-0.5 * (r / 1.5) ** 2), image, params=params)
    broad = measure_bulge(np.exp(-0.5 * (r / 8.0) ** 2), image, params=params)
    assert tight.radius_raw_px < broad.radius_raw_px
    assert tight.bt_raw < broad.bt_raw


def test_map_and_image_of_different_sizes_name_the_galaxy() -> None:
    image, _ = bulge_disk(0.3, 2.0)
    with pytest.raises(DataFormatError, match="galaxy 'g7'.*48x48"):
        measure_bulge(np.ones((20, 20)), image, ident="g7")


@pytest.mark.parametrize(
    ("field", "value"),
    [("map_threshold", 0.0), ("map_threshold", 1.0), ("map_power", -1.0),
     ("smooth_sigma_px", float("nan")), ("min_pixels", 0), ("radius_from", "moments")],
)  # fmt: skip
def test_bad_settings_name_the_parameter(field: str, value: float) -> None:
    with pytest.raises(ParameterError, match=field):
        BulgeParams(**{field: value})


def _set(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bt = rng.uniform(0.05, 0.8, n)
    re = rng.uniform(2.0, 6.0, n)
    pairs = [
        bulge_disk(b, r, seed=int(seed * 1000 + i))
        for i, (b, r) in enumerate(zip(bt, re, strict=True))
    ]
    images = np.stack([p[0] for p in pairs])
    maps = np.stack([p[1][0] for p in pairs])
    return maps, images, bt, re


def test_calibration_on_ideal_maps_recovers_bt_and_radius_on_new_galaxies() -> None:
    maps, images, bt, re = _set(40, 1)
    cal = calibrate_bulge(maps, images, bt, re)
    assert cal.n_calibration == 40
    # radii of 2-6 px are near the pixel limit: r ~0.9 on ideal maps
    assert cal.pearson_r_bt > 0.9 and cal.pearson_r_radius > 0.8
    maps2, images2, bt2, re2 = _set(30, 2)
    table = measure_features(maps2, images2, cal, pixel_scale_arcsec=0.5)
    assert list(table.columns) == list(FEATURE_COLUMNS)
    assert np.corrcoef(table["bulge_to_total"], bt2)[0, 1] > 0.85
    assert np.corrcoef(table["bulge_half_light_radius_px"], re2)[0, 1] > 0.8
    assert np.abs(table["bulge_to_total"] - bt2).median() < 0.1
    np.testing.assert_allclose(table["bulge_half_light_radius_arcsec"],
                               table["bulge_half_light_radius_px"] * 0.5)  # fmt: skip
    # one map per galaxy: the interval collapses onto the value
    np.testing.assert_allclose(table["bulge_to_total_p16"], table["bulge_to_total"])


def test_draws_give_percentiles_around_the_median() -> None:
    maps, images, bt, re = _set(20, 3)
    cal = calibrate_bulge(maps, images, bt, re)
    rng = np.random.default_rng(0)
    draws = np.stack([maps * rng.uniform(0.5, 1.5, size=(20, 1, 1)) ** 3 for _ in range(5)], 1)
    table = measure_features(draws, images, cal)
    assert (table["n_draws_measured"] == 5).all()
    assert (table["bulge_to_total_p16"] <= table["bulge_to_total"] + 1e-9).all()
    assert (table["bulge_to_total"] <= table["bulge_to_total_p84"] + 1e-9).all()


def test_calibration_roundtrip_and_damaged_files(tmp_path: Path) -> None:
    maps, images, bt, re = _set(12, 4)
    cal = calibrate_bulge(maps, images, bt, re, provenance={"note": "test"})
    path = save_bulge_calibration(tmp_path / "cal.json", cal)
    again = load_bulge_calibration(path)
    assert again.bt_params == cal.bt_params and again.radius_map == cal.radius_map
    record = json.loads(path.read_text())
    for edit, match in (
        (lambda r: r.update(format="other"), "not a bulge calibration"),
        (lambda r: r["bt_params"].update(surprise=1), "unknown field 'surprise'"),
        (lambda r: r["bt_params"].update(map_threshold="high"), "map_threshold"),
        (lambda r: r["bt_params"].update(map_threshold=2.0), "map_threshold"),
        (lambda r: r.pop("radius_map"), "radius_map"),
    ):
        bad = json.loads(json.dumps(record))
        edit(bad)
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        with pytest.raises(DataFormatError, match=match):
            load_bulge_calibration(tmp_path / "bad.json")


def test_too_few_calibration_galaxies_is_an_error() -> None:
    maps, images, bt, re = _set(5, 5)
    with pytest.raises(ParameterError, match=">= 8 galaxies"):
        calibrate_bulge(maps, images, bt, re)
    with pytest.raises(ParameterError, match="bulge_to_total"):
        calibrate_bulge(maps, images, bt[:3], re)


def test_bulge_output_is_found_or_refused_with_the_outputs() -> None:
    assert bulge_output(["disk-dominated", "indeterminate", "bulge-dominated"]) == "bulge-dominated"
    assert bulge_output(["disk", "bulge"], "disk") == "disk"
    with pytest.raises(ParameterError, match=r"'elliptical'.*no bulge-like output"):
        bulge_output(["elliptical", "spiral"])
    with pytest.raises(ParameterError, match="'edge'.*is not an output"):
        bulge_output(["disk", "bulge"], "edge")


def _dataset_and_maps(tmp_path: Path, *, target: str = "bulge-dominated", scale: bool = True,
                      map_ids: list[str] | None = None) -> tuple[Path, Path]:  # fmt: skip
    maps, images, bt, re = _set(12, 6)
    ids = [f"g{i}" for i in range(12)]
    catalog = pd.DataFrame({"id": ids, "label": 0, "bulge_to_total": bt,
                            "bulge_half_light_radius_arcsec": re * 0.4})  # fmt: skip
    if scale:
        catalog["pixel_scale_arcsec"] = 0.4
    data = write_dataset(tmp_path / "d.h5", images, catalog, metadata={})
    map_ids = ids if map_ids is None else map_ids
    meta = {"method": "smoothgrad", "target": target,
            "output_names": ["disk-dominated", "indeterminate", "bulge-dominated"]}  # fmt: skip
    with MapWriter(tmp_path / "m.h5", ids=map_ids, map_shape=(SIZE, SIZE), metadata=meta) as w:
        w.write(0, maps[: len(map_ids)])
    return data, tmp_path / "m.h5"


def test_cli_calibrate_then_measure_from_maps_files(tmp_path: Path, capsys) -> None:
    data, maps = _dataset_and_maps(tmp_path)
    cal = tmp_path / "cal.json"
    assert main(["features", "calibrate", "--maps", str(maps), "--data", str(data),
                 "--out", str(cal)]) == 0  # fmt: skip
    out = tmp_path / "bulges.csv"
    assert main(["features", "measure", "--maps", str(maps), "--data", str(data),
                 "--calibration", str(cal), "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_csv(out)
    assert list(table.columns) == list(FEATURE_COLUMNS) and len(table) == 12
    assert np.corrcoef(table["bulge_half_light_radius_arcsec"],
                       pd.read_csv(out)["bulge_half_light_radius_px"] * 0.4)[0, 1] > 0.999  # fmt: skip
    assert json.loads(out.with_suffix(".json").read_text())["n"] == 12
    assert "12 galaxies" in capsys.readouterr().out


def test_cli_refuses_maps_of_a_disk_output_and_mismatched_ids(tmp_path: Path, capsys) -> None:
    data, maps = _dataset_and_maps(tmp_path, target="disk-dominated")
    cal = tmp_path / "cal.json"
    assert main(["features", "calibrate", "--maps", str(maps), "--data", str(data),
                 "--out", str(cal)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "not bulge-like" in err and "disk-dominated" in err and len(err.splitlines()) == 1
    assert not cal.exists()
    # the disk output on purpose, for comparison
    assert main(["features", "calibrate", "--maps", str(maps), "--data", str(data),
                 "--target", "disk-dominated", "--out", str(cal)]) == 0  # fmt: skip
    other = tmp_path / "other"
    other.mkdir()
    data2, maps2 = _dataset_and_maps(other, map_ids=["g0", "g1", "zz"])
    assert main(["features", "measure", "--maps", str(maps2), "--data", str(data2),
                 "--calibration", str(cal), "--out", str(tmp_path / "x.csv")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "'zz'" in err and len(err.splitlines()) == 1


def test_missing_pixel_scale_named_when_arcsec_are_asked_for(tmp_path: Path) -> None:
    data, maps = _dataset_and_maps(tmp_path, scale=False)
    maps_arr, images, bt, re = _set(12, 6)
    cal = calibrate_bulge(maps_arr, images, bt, re)
    with pytest.raises(DataFormatError, match="galaxy 'g0' has no pixel_scale_arcsec"):
        measure_files(data=data, maps=maps, calibration=cal, require_arcsec=True)
    table = measure_files(data=data, maps=maps, calibration=cal)
    assert table["bulge_half_light_radius_arcsec"].isna().all()
    assert table["bulge_to_total"].notna().all()


def test_a_model_without_a_bulge_output_is_refused_with_its_outputs(tmp_path: Path,
                                                                      capsys) -> None:  # fmt: skip
    data, _ = _dataset_and_maps(tmp_path)
    cal = tmp_path / "cal.json"
    code = main(["features", "calibrate", "--model", "zoo:gz1-morphology", "--data", str(data),
                 "--out", str(cal)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "no bulge-like output" in err and "elliptical" in err
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_shipped_bulge_disk_model_calibrates_and_measures_end_to_end(tmp_path: Path) -> None:
    """zoo:gamornet-sdss on simulated galaxies at its input (83 px grey): MC dropout x
    SmoothGrad maps of its bulge-dominated output, calibrated, then measured."""
    from galaxy_xai.features import calibrate_files
    from galaxy_xai.simulate import simulate_dataset

    data = simulate_dataset(tmp_path / "s.h5", n=16, preset="sdss", size=83, seed=3,
                            config={"bulge": {"bulge_to_total": [0.05, 0.9]}})  # fmt: skip
    cal = calibrate_files(data=data, model="zoo:gamornet-sdss", n_draws=2, n_samples=4,
                          out=tmp_path / "cal.json")  # fmt: skip
    assert cal.provenance["target"] == "bulge-dominated"
    table = measure_files(data=data, model="zoo:gamornet-sdss", calibration=cal, n_draws=3,
                          n_samples=4, out=tmp_path / "b.csv")  # fmt: skip
    assert len(table) == 16 and (table["n_draws_measured"] <= 3).all()
    measured = table["bulge_half_light_radius_arcsec"].notna()
    assert measured.sum() >= 8
    assert (table.loc[~measured, "quality_flag"] != "ok").all()  # unmeasured ones say why
    assert ((table["bulge_to_total"] >= 0) & (table["bulge_to_total"] <= 1)).all()


def test_signed_share_rises_with_the_bulge_and_is_one_on_absolute_maps() -> None:
    shares = []
    for bt in (0.1, 0.4, 0.7):
        image, share = bulge_disk(bt, 3.0)
        signed = share - 0.5  # positive where the bulge dominates the pixel's light
        m = measure_bulge(signed, image, params=BulgeParams(bt_from="signed_share"))
        shares.append(m.bt_raw)
        absolute = measure_bulge(np.abs(signed), image, params=BulgeParams(bt_from="signed_share"))
        assert absolute.bt_raw == pytest.approx(1.0)
    assert shares[0] < shares[1] < shares[2]
    assert np.isnan(measure_bulge(None, image, params=BulgeParams(bt_from="signed_share")).bt_raw)


def test_features_panel_renders_in_the_report(tmp_path: Path) -> None:
    from galaxy_xai.report import build_report, write_features

    rng = np.random.default_rng(0)
    true_bt = rng.uniform(0, 1, 20)
    table = pd.concat([
        pd.DataFrame({"id": [f"g{i}" for i in range(20)], "method": method, "true_bt": true_bt,
                      "measured_bt": true_bt + noise * rng.standard_normal(20),
                      "true_re_arcsec": true_bt * 2, "measured_re_arcsec": true_bt * 2 + noise})
        for method, noise in (("saliency", 0.05), ("image_only", 0.5))
    ])  # fmt: skip
    write_features(tmp_path, "sim", table=table, title="bulges", metrics={"pearson_r_bt": 0.9})
    html = build_report(tmp_path, tmp_path / "r.html").read_text()
    assert 'id="features-sim"' in html
    figure = json.loads((tmp_path / "r_assets" / "features-sim.json").read_text())
    assert (
        figure["methods"]["saliency"]["pearson_r_bt"]
        > figure["methods"]["image_only"]["pearson_r_bt"]
    )
    with pytest.raises(ParameterError, match="measured_bt"):
        write_features(tmp_path, "bad", table=table.drop(columns="measured_bt"), title="x")


def test_calibration_prefers_settings_that_measure_most_galaxies() -> None:
    from galaxy_xai.features import CalibrationGrid

    maps, images, bt, re = _set(30, 7)
    grid = CalibrationGrid(map_thresholds=(0.05, 0.99), map_powers=(1.0,), smooth_sigma_px=(0.0,))
    cal = calibrate_bulge(maps, images, bt, re, grid=grid)
    table = measure_features(maps, images, cal)
    assert table["bulge_to_total"].notna().mean() >= 0.9
    assert table["bulge_half_light_radius_px"].notna().mean() >= 0.9
