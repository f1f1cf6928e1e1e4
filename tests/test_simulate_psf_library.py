"""Real PSF images for the simulations (``survey.psf_library``), and their bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import galsim
import h5py
import numpy as np
import pytest

from galaxy_xai.cli import main
from galaxy_xai.data.psf_library import (
    galaxy_builder_psf_library,
    read_psf_library,
    write_psf_library,
)
from galaxy_xai.errors import ConfigError, DataFormatError, DataMissingError, ParameterError
from galaxy_xai.simulate import draw_parameters, load_simulation_config, render_galaxy

SCALE = 0.2  # arcsec per library pixel


def _moffat_images(fwhms: list[float], k: int = 31) -> np.ndarray:
    return np.stack([
        galsim.Moffat(beta=3.5, fwhm=f).drawImage(nx=k, ny=k, scale=SCALE).array for f in fwhms
    ])  # fmt: skip


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return write_psf_library(tmp_path / "psfs.h5", _moffat_images([1.0, 1.4, 2.0]), SCALE,
                             ["a", "b", "c"])  # fmt: skip


def _config(library: Path | None = None, fwhm: float = 1.4):
    survey: dict = {"psf_fwhm_arcsec": fwhm}
    if library is not None:
        survey["psf_library"] = str(library)
    return load_simulation_config({"size": 48, "rendering": "counts", "survey": survey})


def test_a_library_reads_back_normalised_with_its_fwhm(library: Path) -> None:
    lib = read_psf_library(library)
    assert len(lib) == 3 and lib.ids == ("a", "b", "c") and lib.pixel_scale_arcsec == SCALE
    np.testing.assert_allclose(lib.images.sum(axis=(1, 2)), 1.0, rtol=1e-6)
    # the half-maximum area of a pixelated Moffat: within a few per cent of its FWHM
    np.testing.assert_allclose(lib.fwhm_arcsec, [1.0, 1.4, 2.0], rtol=0.05)
    assert not lib.images.flags.writeable


#: Sizes and bar geometry: in fixed framing the disk is sized so that its bar, blurred
#: by the PSF, fits the stamp, so these follow the drawn PSF.
_FITTED = {
    "bulge_half_light_radius_arcsec", "disk_half_light_radius_arcsec", "disk_scale_length_arcsec",
    "r90_arcsec", "bar_length_arcsec", "bar_length_px", "bar_axis_ratio", "bar_position_angle_deg",
}  # fmt: skip


def test_library_psfs_change_only_the_psf(library: Path) -> None:
    plain, real = _config(), _config(library)
    rows = []
    for i in range(40):
        p0, p = draw_parameters(plain, 5, i), draw_parameters(real, 5, i)
        assert p0.psf_library_index == -1 and 0 <= p.psf_library_index < 3
        assert p.psf_fwhm_arcsec == pytest.approx(
            read_psf_library(library).fwhm_arcsec[p.psf_library_index]
        )
        changed = {
            f.name for f in dataclasses.fields(p) if getattr(p, f.name) != getattr(p0, f.name)
        }
        # the PSF has its own stream; only what fixed framing fits around it may move
        assert changed <= {"psf_library_index", "psf_library", "psf_fwhm_arcsec", *_FITTED}
        assert p.magnitude == p0.magnitude and p.bulge_to_total == p0.bulge_to_total
        rows.append(p.psf_library_index)
    assert set(rows) == {0, 1, 2}


def test_a_library_moffat_renders_like_the_moffat_itself(tmp_path: Path) -> None:
    lib = write_psf_library(tmp_path / "one.h5", _moffat_images([1.4]), SCALE)
    plain, real = _config(fwhm=1.4), _config(lib, fwhm=1.4)
    for i in range(4):
        p0, p = draw_parameters(plain, 9, i), draw_parameters(real, 9, i)
        p = dataclasses.replace(p, psf_fwhm_arcsec=p0.psf_fwhm_arcsec)  # same framing
        image0, _ = render_galaxy(p0, plain)
        image, _ = render_galaxy(p, real)
        # same noise stream, so what differs is the PSF: its pixelation and interpolation
        assert np.abs(image - image0).max() < 0.03 * image0.max()
    wide = write_psf_library(tmp_path / "wide.h5", _moffat_images([3.0]), SCALE)
    p_wide = draw_parameters(_config(wide), 9, 0)
    sharp, _ = render_galaxy(draw_parameters(real, 9, 0), real)
    blurred, _ = render_galaxy(p_wide, _config(wide))
    assert blurred.max() < sharp.max()


def test_galaxy_builder_psfs_make_a_library(real_data: Path, tmp_path: Path) -> None:
    out = galaxy_builder_psf_library(real_data / "galaxy-builder", tmp_path / "gzb.h5")
    lib = read_psf_library(out)
    assert len(lib) == 198 and lib.images.shape[1:] == (11, 11)
    assert lib.pixel_scale_arcsec == pytest.approx(0.396)
    assert 0.6 < np.median(lib.fwhm_arcsec) < 2.0  # SDSS r-band seeing
    some = galaxy_builder_psf_library(real_data / "galaxy-builder", tmp_path / "two.h5",
                                      list(lib.ids[:2]))  # fmt: skip
    assert read_psf_library(some).ids == lib.ids[:2]
    with pytest.raises(ParameterError, match="ids='nope'"):
        galaxy_builder_psf_library(real_data / "galaxy-builder", tmp_path / "x.h5", ["nope"])
    assert not (tmp_path / "x.h5").exists()


# --------------------------------------------------------------------------- bad input
def _write(path: Path, **datasets) -> Path:
    attrs = datasets.pop("attrs", {"pixel_scale_arcsec": SCALE})
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value)
        for key, value in attrs.items():
            f["psf"].attrs[key] = value
    return path


def _good(k: int = 11) -> np.ndarray:
    return _moffat_images([1.4, 1.6], k)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("not hdf5"), "cannot be read as HDF5"),
        (lambda p: h5py.File(p, "w").close(), "has no 'psf' array"),
        (lambda p: _write(p, psf=_good()[0]), "'psf' has shape (11, 11), expected (N, K, K) PSF images"),
        (lambda p: _write(p, psf=_good(12)), "square and odd"),
        (lambda p: _write(p, psf=np.where(np.eye(11, dtype=bool), np.nan, _good())),
         "PSF 0 holds NaN"),
        (lambda p: _write(p, psf=np.concatenate([_good(), np.zeros((1, 11, 11))])),
         "PSF 2 sums to 0"),
        (lambda p: _write(p, psf=np.roll(_good(), 4, axis=2)), "PSF 0 is not centred"),
        (lambda p: _write(p, psf=_good(), attrs={}), "'pixel_scale_arcsec' must be a number > 0"),
        (lambda p: _write(p, psf=_good(), attrs={"pixel_scale_arcsec": -0.4}), "must be a number > 0"),
        (lambda p: _write(p, psf=_good(), id=np.array([b"a"])), "'id' has 1 rows but 'psf' holds 2 PSFs"),
    ],
)  # fmt: skip
def test_a_malformed_library_is_named_in_one_line(tmp_path, capsys, make, message) -> None:
    path = tmp_path / "psfs.h5"
    make(path)
    with pytest.raises(DataFormatError, match=f"^PSF library '{_re(str(path))}'.*{_re(message)}"):
        read_psf_library(path)
    config = tmp_path / "sim.yaml"
    config.write_text(f"survey:\n  psf_library: {path}\n")
    out = tmp_path / "s.h5"
    status = main(["simulate", "--n", "2", "--config", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and str(path) in err and message in err
    assert not list(tmp_path.glob("s.h5*"))


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_a_library_that_points_at_another_file_is_refused(tmp_path) -> None:
    elsewhere = write_psf_library(tmp_path / "elsewhere.h5", _good(), SCALE)
    path = tmp_path / "psfs.h5"
    with h5py.File(path, "w") as f:
        f["psf"] = h5py.ExternalLink(str(elsewhere), "psf")
    with pytest.raises(DataFormatError, match="'psf' is a link to another file .*refused"):
        read_psf_library(path)


def test_a_missing_library_is_named(tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(DataMissingError, match="PSF library .*nowhere.h5' does not exist"):
        _config(missing)
    config = tmp_path / "sim.yaml"
    config.write_text(f"survey:\n  psf_library: {missing}\n")
    status = main(
        ["simulate", "--n", "2", "--config", str(config), "--out", str(tmp_path / "s.h5")]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "nowhere.h5" in err


@pytest.mark.parametrize("value", ["", "  "])
def test_a_library_path_must_be_a_path(value) -> None:
    with pytest.raises(ParameterError, match="survey.psf_library"):
        load_simulation_config({"survey": {"psf_library": value}})
    with pytest.raises(ConfigError, match="psf_library: 3 does not fit"):
        load_simulation_config({"survey": {"psf_library": 3}})


def test_writing_refuses_what_would_not_read_back(tmp_path) -> None:
    with pytest.raises(DataFormatError, match="square and odd"):
        write_psf_library(tmp_path / "x.h5", _good(12), SCALE)
    with pytest.raises(ParameterError, match="pixel_scale_arcsec"):
        write_psf_library(tmp_path / "x.h5", _good(), 0.0)
    with pytest.raises(ParameterError, match="ids"):
        write_psf_library(tmp_path / "x.h5", _good(), SCALE, ["only one"])
    assert not list(tmp_path.iterdir())


def test_the_cli_writes_a_galaxy_builder_library(real_data: Path, tmp_path, capsys) -> None:
    out = tmp_path / "gzb.h5"
    assert main(["data", "psf-library", str(real_data / "galaxy-builder"), "--out", str(out)]) == 0
    assert "198 PSFs, 11 px at 0.396 arcsec" in capsys.readouterr().out
    assert len(read_psf_library(out)) == 198
    status = main(
        ["data", "psf-library", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.h5")]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "nowhere' does not exist" in err
    assert not (tmp_path / "x.h5").exists()
