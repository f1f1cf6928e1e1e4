"""``galaxy-xai bars calibrate|measure|evaluate`` on maps and dataset files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.bars import measure_catalog, read_split_ids
from galaxy_xai.bars.synthetic import synthetic_bar_maps
from galaxy_xai.cli import main
from galaxy_xai.data import write_dataset
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.explain.maps_io import MapWriter

N = 30


def _write_maps(path, maps, ids):
    with MapWriter(path, ids=ids, map_shape=maps.shape[1:], metadata={"method": "smoothgrad"}) as w:
        w.write(0, maps)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bars")
    maps, lengths, _ = synthetic_bar_maps(N, bulge=0.4, noise=0.2, seed=5)
    ids = [f"g{i:02d}" for i in range(N)]
    images = np.clip(maps[:, None] + 0.2, 0, None).astype(np.float32)
    scale = np.full(N, 0.396)
    scale[7] = np.nan
    catalog = pd.DataFrame(
        {
            "id": ids,
            "bar_length_px": lengths,
            "pixel_scale_arcsec": scale,
            "redshift": np.where(np.arange(N) % 2 == 0, 0.05, np.nan),
        }
    )
    write_dataset(tmp / "data.h5", images, catalog, metadata={"kind": "test"})
    _write_maps(tmp / "maps.h5", maps, ids)
    noisy = maps + np.random.default_rng(1).random(maps.shape).astype(np.float32) * 0.3
    _write_maps(tmp / "maps_draw2.h5", noisy, ids)
    split = {"train": [], "calibration": ids[:20], "test": ids[20:]}
    (tmp / "split.json").write_text(json.dumps(split))
    return tmp, ids, lengths


def test_calibrate_measure_evaluate_chain(files, capsys):
    tmp, ids, _lengths = files
    calib = tmp / "calib.json"
    status = main(
        [
            "bars", "calibrate", "--maps", str(tmp / "maps.h5"), "--data", str(tmp / "data.h5"),
            "--split-file", str(tmp / "split.json"), "--out", str(calib),
            "--smooth", "0", "--variants", "published,central", "--multiply", "off,on",
        ]
    )  # fmt: skip
    assert status == 0
    frozen = json.loads(calib.read_text())
    assert frozen["calibration_ids"] == ids[:20]  # never the test ids
    assert frozen["provenance"]["part"] == "calibration"
    bars = tmp / "bars.csv"
    status = main(
        ["bars", "measure", "--maps", str(tmp / "maps.h5"), "--data", str(tmp / "data.h5"),
         "--calibration", str(calib), "--out", str(bars)]
    )  # fmt: skip
    assert status == 0
    table = pd.read_csv(bars)
    assert table["id"].tolist() == ids
    assert {"bar_length_px", "bar_length_arcsec", "bar_length_kpc", "quality_flag"} <= set(
        table.columns
    )
    ok = np.isfinite(table["bar_length_arcsec"])
    assert not ok[7] and ok.sum() == N - 1  # no pixel scale for g07: NaN, not dropped
    np.testing.assert_allclose(
        table["bar_length_arcsec"][ok], 0.396 * table["bar_length_px"][ok], rtol=1e-5
    )
    assert np.isfinite(table["bar_length_kpc"][::2].drop(index=[])).sum() >= 14
    assert table["bar_length_kpc"][1::2].isna().all()  # unknown redshift
    sidecar = json.loads((tmp / "bars.json").read_text())
    assert sidecar["cosmology"] == "Planck18" and sidecar["n"] == N
    out = tmp / "eval.json"
    status = main(
        ["bars", "evaluate", "--pred", str(bars), "--truth", str(tmp / "data.h5"),
         "--length-col", "bar_length_px", "--out", str(out), "--plot", str(tmp / "s.png"),
         "--n-boot", "200"]
    )  # fmt: skip
    assert status == 0
    stats = json.loads(out.read_text())
    assert stats["n"] == N and stats["pearson_r"] > 0.9
    assert (tmp / "s.png").stat().st_size > 1000
    assert "r=" in capsys.readouterr().out


def test_several_map_files_give_percentiles(files):
    tmp, _ids, _ = files
    table = measure_catalog([tmp / "maps.h5", tmp / "maps_draw2.h5"], data=tmp / "data.h5")
    assert table["n_draws_measured"].max() == 2
    good = table["quality_flag"].isin(["ok", "touches_edge"])
    assert (table["bar_length_px_p16"][good] <= table["bar_length_px"][good] + 1e-9).all()
    assert (table["bar_length_px_p84"][good] >= table["bar_length_px"][good] - 1e-9).all()
    assert (table["bar_length_px_p84"] - table["bar_length_px_p16"])[good].max() > 0


def test_mismatched_ids_and_missing_scales_are_named(files, tmp_path, capsys):
    tmp, _ids, _ = files
    maps, _, _ = synthetic_bar_maps(3, seed=9)
    other = _write_maps(tmp_path / "other.h5", maps, ["g00", "zz1", "g02"])
    with pytest.raises(DataFormatError, match="map row 1 has id 'zz1', which dataset .* does not"):
        measure_catalog(other, data=tmp / "data.h5")
    status = main(["bars", "measure", "--maps", str(other), "--data", str(tmp / "data.h5"),
                   "--out", str(tmp_path / "x.csv")])  # fmt: skip
    assert status == 2 and "zz1" in capsys.readouterr().err
    reordered = _write_maps(tmp_path / "re.h5", maps, ["g01", "g00", "g02"])
    with pytest.raises(DataFormatError, match="'.*re.h5' row 0 has id 'g01' but .* has id 'g00'"):
        measure_catalog([tmp / "maps.h5", reordered])
    with pytest.raises(DataFormatError, match="id 'g07': pixel_scale_arcsec is nan"):
        measure_catalog(tmp / "maps.h5", data=tmp / "data.h5", require_arcsec=True)
    with pytest.raises(DataFormatError, match="row 0: pixel_scale_arcsec|id 'g00'"):
        measure_catalog(tmp / "maps.h5", require_arcsec=True)
    from galaxy_xai.bars import BarParams

    with pytest.raises(ParameterError, match="data=None: the calibration multiplies"):
        measure_catalog(tmp / "maps.h5", params=BarParams(multiply=True))
    with pytest.raises(ParameterError, match="part='cal': split file .* holds parts"):
        read_split_ids(tmp / "split.json", "cal")


def test_nan_map_is_flagged_not_dropped(tmp_path):
    import h5py

    maps, _, _ = synthetic_bar_maps(3, seed=4)
    path = _write_maps(tmp_path / "m.h5", maps, ["a", "b", "c"])
    with h5py.File(path, "a") as h5:  # corrupt one map after writing
        h5["maps"][1, 5, 5] = np.nan
    table = measure_catalog(path, pixel_scale_arcsec=0.4)
    assert table["quality_flag"].tolist()[1] == "nan_map"
    assert np.isnan(table["bar_length_px"][1]) and np.isfinite(table["bar_length_px"][0])
