"""Simulation config: presets, YAML/TOML loading, distributions, impossible parameters."""

from __future__ import annotations

import numpy as np
import pytest

from galaxy_xai.errors import ConfigError, GalaxyXAIError, ParameterError
from galaxy_xai.simulate import (
    PRESET_NAMES,
    Distribution,
    SimulationConfig,
    get_preset,
    load_simulation_config,
    simulate_galaxies,
)


def test_defaults_fill_the_survey_from_the_preset() -> None:
    cfg = SimulationConfig()
    assert cfg.preset == "sdss" and cfg.survey_config.pixel_scale_arcsec == 0.396
    candels = load_simulation_config(preset="candels")
    assert candels.survey_config.pixel_scale_arcsec == 0.06
    assert candels.survey_config.band == "F160W"
    assert get_preset("decals").pixel_scale_arcsec == 0.262


def test_survey_keys_override_the_preset_one_by_one() -> None:
    cfg = load_simulation_config({"preset": "decals", "survey": {"psf_fwhm_arcsec": 1.1}})
    survey = cfg.survey_config
    assert survey.psf_fwhm_arcsec == Distribution(kind="fixed", value=1.1)
    assert survey.pixel_scale_arcsec == 0.262  # kept from the preset
    # a new preset on an existing config resets the survey block
    assert load_simulation_config(cfg, preset="sdss").survey_config.pixel_scale_arcsec == 0.396


def test_yaml_and_toml_files_with_distribution_shorthands(tmp_path) -> None:
    yaml_file = tmp_path / "sim.yaml"
    yaml_file.write_text(
        "preset: sdss\nsize: 64\nbulge:\n  sersic_n: 4\n  bulge_to_total: [0.2, 0.3]\n"
        "survey:\n  magnitude: {kind: normal, mean: 16, sigma: 0.5, low: 15, high: 17}\n"
    )
    cfg = load_simulation_config(yaml_file, bar_fraction=1.0)
    assert cfg.size == 64 and cfg.bar_fraction == 1.0
    assert cfg.bulge.sersic_n.support == (4.0, 4.0)
    assert cfg.bulge.bulge_to_total == Distribution(kind="uniform", low=0.2, high=0.3)
    assert cfg.survey_config.magnitude.kind == "normal"
    toml_file = tmp_path / "sim.toml"
    toml_file.write_text('preset = "candels"\n[arms]\nprobability = 1.0\n')
    cfg = load_simulation_config(toml_file)
    assert cfg.arms.probability == 1.0 and cfg.survey_config.name == "candels"


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"sizes": 64}, r"unknown key\(s\) 'sizes'"),
        ({"bar": {"lenght": 2}}, r"unknown key\(s\) 'lenght'"),
        ({"survey": {"pixscale": 1}}, r"unknown key\(s\) 'pixscale'"),
        ({"bulge": {"sersic_n": {"kind": "uniform", "lo": 1}}}, r"unknown key\(s\) 'lo'"),
        ({"bulge": {"sersic_n": "four"}}, "bulge.sersic_n"),
    ],
)
def test_unknown_keys_and_bad_types_are_rejected(mapping, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load_simulation_config(mapping)


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"preset": "hubble"}, r"preset='hubble': unknown survey preset"),
        (
            {"survey": {"disk_half_light_radius_arcsec": [-1.0, 2.0]}},
            r"survey.disk_half_light_radius_arcsec=-1.0: must be > 0",
        ),
        ({"bulge": {"half_light_radius_ratio": -0.2}}, r"bulge.half_light_radius_ratio=-0.2"),
        ({"bar": {"axis_ratio": [0.2, 1.5]}}, r"bar.axis_ratio=1.5: must be <= 1"),
        ({"bulge": {"axis_ratio": 0.0}}, r"bulge.axis_ratio=0.0: must be > 0"),
        ({"disk": {"intrinsic_axis_ratio": 1.2}}, r"disk.intrinsic_axis_ratio=1.2"),
        ({"size": 8}, r"size=8: must be an integer >= 16"),
        ({"bar_fraction": 1.5}, r"bar_fraction=1.5"),
        ({"bulge": {"bulge_to_total": [0.5, 1.2]}}, r"bulge.bulge_to_total=1.2"),
        ({"survey": {"pixel_scale_arcsec": 0.0}}, r"survey.pixel_scale_arcsec=0.0"),
        ({"arms": {"n_arms_weights": [1.0]}}, r"arms.n_arms_weights"),
    ],
)
def test_impossible_parameters_name_parameter_and_value(mapping, match) -> None:
    with pytest.raises(ParameterError, match=match):
        load_simulation_config(mapping)


def test_bar_longer_than_the_stamp_is_refused() -> None:
    cfg = {"size": 32, "bar": {"length_to_disk_scale": 20.0}}
    with pytest.raises(
        ParameterError, match=r"bar.length_to_disk_scale=20.0: .*do not fit the 32-px"
    ):
        simulate_galaxies(1, config=cfg)


def test_bad_call_arguments() -> None:
    with pytest.raises(ParameterError, match=r"seed=-1"):
        simulate_galaxies(1, seed=-1)
    with pytest.raises(ParameterError, match=r"n=-2"):
        simulate_galaxies(-2)
    with pytest.raises(ParameterError, match=r"rendering='png'"):
        SimulationConfig(rendering="png")  # type: ignore[arg-type]
    with pytest.raises(GalaxyXAIError, match="low <= high"):
        Distribution(kind="uniform", low=2.0, high=1.0)


def test_distribution_sampling_stays_in_bounds_and_follows_quantiles() -> None:
    u = np.linspace(0.0, 0.999, 500)
    for dist in (
        Distribution(kind="uniform", low=1.0, high=3.0),
        Distribution(kind="loguniform", low=0.1, high=10.0),
        Distribution(kind="normal", mean=0.0, sigma=1.0, low=-0.5, high=2.0),
        Distribution(kind="lognormal", mean=3.0, sigma=0.4, low=1.0, high=10.0),
    ):
        values = np.array([dist.sample(x) for x in u])
        assert values.min() >= dist.low and values.max() <= dist.high
        assert np.all(np.diff(values) >= 0)  # inverse CDF is monotonic
    lognormal = Distribution(kind="lognormal", mean=3.0, sigma=0.4, low=0.01, high=100.0)
    assert lognormal.sample(0.5) == pytest.approx(3.0, rel=1e-6)  # the median
    loguniform = Distribution(kind="loguniform", low=0.1, high=10.0)
    assert loguniform.sample(0.5) == pytest.approx(1.0)
    # truncation from above (used to keep bars inside the stamp)
    assert Distribution(kind="uniform", low=1, high=9).sample(0.999, upper=2.0) <= 2.0
    assert Distribution(kind="fixed", value=4.0).sample(0.3) == 4.0


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_simulates_and_is_offered_by_the_cli(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new survey preset is one entry in ``simulate/presets.py``: this covers it."""
    from galaxy_xai.cli import main

    survey = get_preset(name)
    assert survey.name == name and survey.pixel_scale_arcsec > 0
    images, catalog = simulate_galaxies(2, preset=name, size=32, seed=1)
    assert images.shape[0] == 2 and np.isfinite(images).all() and images.max() > 0
    assert (catalog["pixel_scale_arcsec"] == survey.pixel_scale_arcsec).all()
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    preset_help = capsys.readouterr().out.split("\n  --preset", 1)[1].split("\n  --size", 1)[0]
    assert name in preset_help
