"""SDSS Petrosian radii of bulge + disk, and relative framing by them (``frame_radius``)."""

from __future__ import annotations

import pytest

from galaxy_xai.errors import ConfigError, ParameterError
from galaxy_xai.simulate import SimulationConfig, draw_parameters, load_simulation_config
from galaxy_xai.simulate.radii import enclosed_fraction, petrosian, petrosian_r90, true_r90


def test_petrosian_quantities_of_the_textbook_profiles() -> None:
    # concentration R90 / R50 of the Petrosian flux: 2.29 for an exponential and 3.33 for
    # de Vaucouleurs (Shimasaku et al. 2001, AJ 122, 1238; Strateva et al. 2001); the
    # Petrosian flux is 99% of an exponential and ~80% of de Vaucouleurs (Graham et al.
    # 2005, PASA 22, 118: 0.20 mag missed at n = 4)
    disk = petrosian(0.0, 1.0, 1.0, 1.0)
    assert disk.r90 / disk.r50 == pytest.approx(2.29, abs=0.03)
    assert disk.flux_fraction == pytest.approx(0.993, abs=0.003)
    devauc = petrosian(1.0, 4.0, 1.0, 1.0)
    assert devauc.r90 / devauc.r50 == pytest.approx(3.33, abs=0.05)
    assert 0.80 < devauc.flux_fraction < 0.84
    # at the Petrosian radius the annulus 0.8-1.25 R_P is 0.2 of the mean within R_P
    r = devauc.radius
    annulus = enclosed_fraction(1.25 * r, 1.0, 4.0, 1.0, 1.0) - enclosed_fraction(
        0.8 * r, 1.0, 4.0, 1.0, 1.0
    )
    assert annulus / ((1.25**2 - 0.8**2) * enclosed_fraction(r, 1.0, 4.0, 1.0, 1.0)) == (
        pytest.approx(0.2, abs=1e-6)
    )
    # the Petrosian R90 misses the wings: 0.98 of the true R90 for a disk, 0.43 at n = 4
    assert petrosian_r90(0.0, 1.0, 1.0, 1.0) / true_r90(0.0, 1.0, 1.0, 1.0) == pytest.approx(
        0.98, abs=0.01
    )
    assert petrosian_r90(1.0, 4.0, 1.0, 1.0) / true_r90(1.0, 4.0, 1.0, 1.0) == pytest.approx(
        0.43, abs=0.01
    )
    # radii scale with the profile
    assert petrosian_r90(0.4, 3.0, 2.0, 6.0) == pytest.approx(
        2 * petrosian_r90(0.4, 3.0, 1.0, 3.0), rel=1e-5
    )


@pytest.mark.parametrize("args", [(0.5, 4.0, 0.0, 1.0), (0.5, 4.0, 1.0, -1.0), (1.5, 4.0, 1, 1)])
def test_impossible_profiles_are_refused(args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="radii must be > 0"):
        petrosian(*args)


def test_petrosian_framing_frames_bulges_tighter_and_keeps_the_draws() -> None:
    base = {"size": 48, "framing": "relative", "frame_r90": 5.0, "bar_fraction": 0.0}
    true = load_simulation_config(base)
    petro = load_simulation_config({**base, "frame_radius": "petrosian_r90"})
    assert true.frame_radius == "true_r90"  # the default
    for index in range(30):
        a, b = draw_parameters(true, 4, index), draw_parameters(petro, 4, index)
        # the same galaxy, framed by the other radius
        for name in ("magnitude", "bulge_to_total", "bulge_sersic_n", "inclination_deg"):
            assert getattr(a, name) == getattr(b, name)
        assert b.disk_half_light_radius_arcsec == a.disk_half_light_radius_arcsec
        expected = petrosian_r90(
            a.bulge_to_total, a.bulge_sersic_n, max(a.bulge_half_light_radius_arcsec, 1e-6),
            a.disk_half_light_radius_arcsec,
        ) / a.r90_arcsec  # fmt: skip
        assert b.pixel_scale_arcsec / a.pixel_scale_arcsec == pytest.approx(expected, rel=1e-6)
        assert b.r90_arcsec == a.r90_arcsec  # the catalogue keeps the true R90
        if a.bulge_to_total > 0.8:
            assert expected < 0.75
        if a.bulge_to_total < 0.05:
            assert expected > 0.95


def test_an_unknown_frame_radius_is_named() -> None:
    with pytest.raises(ConfigError, match="frame_radius: 'petrosian' is not one of"):
        load_simulation_config({"frame_radius": "petrosian"})
    with pytest.raises(ParameterError, match="frame_radius"):
        SimulationConfig(frame_radius="r50")  # type: ignore[arg-type]
