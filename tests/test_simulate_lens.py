"""Lenses in unbarred galaxies (``bar.lens_probability``): the bar each would have had, round."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from galaxy_xai.errors import ConfigError, ParameterError
from galaxy_xai.simulate import draw_components, draw_parameters, load_simulation_config
from galaxy_xai.simulate.presets import STAND_INS

FAST = {"bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}, "size": 64}


def _config(bar_fraction: float, **bar):
    return load_simulation_config(
        {**FAST, "bar_fraction": bar_fraction, "bar": {**FAST["bar"], **bar}, "noise": False}
    )


def _without_lens(p):
    """``p`` with its lens columns zeroed, as a galaxy drawn without lenses has them."""
    return dataclasses.replace(
        p, lens_to_total=0.0, lens_length_arcsec=0.0, lens_axis_ratio=0.0,
        lens_position_angle_deg=0.0, lens_sersic_n=0.0,
    )  # fmt: skip


def _ellipticity(image: np.ndarray) -> float:
    """1 - b/a of the second moments of a non-negative image."""
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    w = image / image.sum()
    mx, my = (w * xx).sum(), (w * yy).sum()
    vxx, vyy = (w * (xx - mx) ** 2).sum(), (w * (yy - my) ** 2).sum()
    vxy = (w * (xx - mx) * (yy - my)).sum()
    root = np.sqrt(((vxx - vyy) / 2) ** 2 + vxy**2)
    l1, l2 = (vxx + vyy) / 2 + root, (vxx + vyy) / 2 - root
    return float(1 - np.sqrt(l2 / l1))


def test_an_unbarred_twin_holds_the_bar_it_would_have_had_made_round() -> None:
    barred, unbarred = _config(1.0, lens_probability=1.0), _config(1e-9, lens_probability=1.0)
    for index in range(6):
        b, u = draw_parameters(barred, 4, index), draw_parameters(unbarred, 4, index)
        assert b.barred == 1 and b.lens_to_total == 0.0  # barred galaxies hold no lens
        assert u.barred == 0 and u.bar_to_total == 0.0
        # the same light, length (semi-major axis in the disk plane) and profile
        assert u.lens_to_total == pytest.approx(b.bar_to_total)
        assert u.lens_sersic_n == b.bar_sersic_n
        # face-on axis ratio 0.85-1, projected like the disk: at least 0.85 of the
        # disk's apparent axis ratio, and rounder than the bar
        assert u.lens_axis_ratio >= 0.85 * u.disk_axis_ratio - 1e-9
        assert u.lens_axis_ratio > b.bar_axis_ratio
        assert u.lens_length_arcsec <= b.bar_length_arcsec / max(b.bar_axis_ratio, 0.15)
        # disk light pays for it: the classes have the same radial light budget
        parts_b, parts_u = draw_components(b, barred), draw_components(u, unbarred)
        assert parts_u["lens"].sum() == pytest.approx(parts_b["bar"].sum(), rel=1e-3)
        assert parts_u["disk"].sum() + parts_u["knots"].sum() == pytest.approx(
            parts_b["disk"].sum() + parts_b["knots"].sum(), rel=1e-3
        )
        assert not parts_u["bar"].any() and not parts_b["lens"].any()
        total_b, total_u = sum(parts_b.values()), sum(parts_u.values())
        assert total_u.sum() == pytest.approx(total_b.sum(), rel=1e-3)


def test_a_lens_is_round_where_the_bar_is_long() -> None:
    face_on = {"disk": {"cos_inclination": 1.0}}
    barred = load_simulation_config({**FAST, **face_on, "bar_fraction": 1.0,
                                     "bar": {**FAST["bar"], "axis_ratio": 0.25}})  # fmt: skip
    unbarred = load_simulation_config({**FAST, **face_on, "bar_fraction": 1e-9,
                                       "bar": {**FAST["bar"], "lens_probability": 1.0,
                                               "lens_axis_ratio": 1.0}})  # fmt: skip
    p_bar, p_lens = draw_parameters(barred, 2, 0), draw_parameters(unbarred, 2, 0)
    bar = draw_components(p_bar, barred, psf=False)["bar"]
    lens = draw_components(p_lens, unbarred, psf=False)["lens"]
    assert p_lens.lens_axis_ratio == pytest.approx(1.0)
    assert _ellipticity(bar) > 0.5 and _ellipticity(lens) < 0.05
    # a round lens spans the bar's end-to-end length in every direction
    assert p_lens.lens_length_arcsec == pytest.approx(p_bar.bar_length_arcsec, rel=1e-6)


def test_lenses_come_from_their_own_stream_and_at_the_asked_rate() -> None:
    plain, lensed = _config(0.3), _config(0.3, lens_probability=0.5)
    rows = [draw_parameters(lensed, 8, i) for i in range(300)]
    for index, p in enumerate(rows[:20]):  # the other parameters are drawn as before
        assert _without_lens(p) == draw_parameters(plain, 8, index)
    unbarred = [p for p in rows if not p.barred]
    share = np.mean([p.lens_to_total > 0 for p in unbarred])
    # 0.5 of ~210 unbarred galaxies: well within four binomial standard deviations
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / len(unbarred))
    assert all(p.lens_to_total == 0 for p in rows if p.barred)
    assert all(p.lens_to_total == 0 for p in (draw_parameters(plain, 8, i) for i in range(50)))


def test_bar_sdss_trains_with_lenses_in_every_unbarred_galaxy_the_stand_in_has_none() -> None:
    from galaxy_xai.zoo.recipe_bars import _sim_config

    recipe = load_simulation_config({**_sim_config(), "bar_fraction": 0.5})
    stand_in = load_simulation_config({**STAND_INS["galaxy-builder"], "bar_fraction": 0.5})
    for index in range(40):
        p, q = draw_parameters(recipe, 1, index), draw_parameters(stand_in, 1, index)
        assert (p.lens_to_total > 0) == (not p.barred) and q.lens_to_total == 0
        assert _without_lens(p) == q  # otherwise the same galaxy


@pytest.mark.parametrize(
    ("bar", "needle"),
    [
        ({"lens_probability": 1.5}, "bar.lens_probability"),
        ({"lens_probability": float("nan")}, "bar.lens_probability"),
        ({"lens_axis_ratio": [0.0, 1.0]}, "bar.lens_axis_ratio"),
        ({"lens_axis_ratio": [0.9, 1.2]}, "bar.lens_axis_ratio"),
    ],
)
def test_bad_lens_settings_are_named(bar: dict, needle: str) -> None:
    with pytest.raises((ParameterError, ConfigError), match=needle.replace(".", r"\.")):
        load_simulation_config({"bar": bar})
