"""Bad simulation input: NaN/infinite numbers in any config field, impossible counts."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from galaxy_xai.cli import main
from galaxy_xai.errors import ConfigError, ParameterError
from galaxy_xai.simulate import suite as suite_module
from galaxy_xai.simulate.config import (
    BulgeConfig,
    Distribution,
    SimulationConfig,
    load_simulation_config,
)
from galaxy_xai.simulate.suite import simulate_dataset, simulate_galaxies

FAST = {"size": 32, "bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}}
BAD = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
DIST_KEYS = ("low", "high", "mean", "sigma", "value")


def _is_dataclass_type(hint: Any) -> type | None:
    """The dataclass in ``hint`` (``X`` or ``X | None``), else None."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if dataclasses.is_dataclass(arg) and isinstance(arg, type):
                return arg
    return None


def _is_numeric(hint: Any) -> bool:
    if hint in (float, int):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType, tuple):
        return any(_is_numeric(a) for a in typing.get_args(hint) if a is not Ellipsis)
    return False


def _numeric_fields(cls: type, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every numeric field under ``cls``: (path, "number" | "tuple" | "distribution")."""
    out: list[tuple[tuple[str, ...], str]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        nested = _is_dataclass_type(hint)
        if nested is not None:
            out.extend(_numeric_fields(nested, (*path, f.name)))
        elif f.metadata.get("distribution"):
            out.append(((*path, f.name), "distribution"))
        elif hint is not bool and _is_numeric(hint):
            is_tuple = typing.get_origin(hint) is tuple
            out.append(((*path, f.name), "tuple" if is_tuple else "number"))
    return out


FIELDS = _numeric_fields(SimulationConfig)


def _default(path: tuple[str, ...]) -> Any:
    obj: Any = SimulationConfig()
    for name in path:
        obj = getattr(obj, name)
    return obj


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    mapping: Any = value
    for name in reversed(path):
        mapping = {name: mapping}
    return mapping


def _cases() -> list[Any]:
    cases = []
    for path, kind in FIELDS:
        dotted = ".".join(path)
        for label, bad in BAD.items():
            if kind == "tuple":
                value: Any = [bad, *list(_default(path))[1:]]
                cases.append(pytest.param(path, value, dotted, id=f"{dotted}[0]={label}"))
            else:
                cases.append(pytest.param(path, bad, dotted, id=f"{dotted}={label}"))
            if kind == "distribution":
                pair = [bad, 1.0]
                cases.append(pytest.param(path, pair, dotted, id=f"{dotted}=[{label}, 1]"))
                for key in DIST_KEYS:
                    mapping = {"kind": "uniform", "low": 0.5, "high": 1.0, key: bad}
                    cases.append(
                        pytest.param(path, mapping, f"{dotted}.{key}", id=f"{dotted}.{key}={label}")
                    )
    return cases


def test_the_walk_finds_every_block_and_the_survey_preset_fields() -> None:
    dotted = {".".join(p) for p, _ in FIELDS}
    for name in (
        "bar_fraction",
        "frame_r90",
        "size",
        "survey.pixel_scale_arcsec",
        "survey.psf_fwhm_arcsec",
        "survey.zero_point_mag",
        "survey.colour_sky_mag_per_arcsec2",
        "bulge.sersic_n",
        "bar.half_light_fraction",
        "arms.n_arms_weights",
        "knots.number",
        "contaminants.min_distance",
        "jpeg.quality",
        "jpeg.colour_scales",
    ):
        assert name in dotted
    assert len(FIELDS) > 40


@pytest.mark.parametrize(("path", "value", "name"), _cases())
def test_non_finite_numbers_are_refused_naming_the_field(path, value, name) -> None:
    with pytest.raises((ParameterError, ConfigError), match=re.escape(name)) as info:
        load_simulation_config(_nested(path, value))
    if isinstance(info.value, ParameterError):
        assert info.value.name == name
        assert str(info.value).endswith("must be finite")


@pytest.mark.parametrize("preset", ["sdss", "candels", "decals"])
def test_every_preset_survey_field_is_checked(preset) -> None:
    survey_fields = [p for p, _ in FIELDS if p[0] == "survey"]
    for path in survey_fields:
        if path[-1] in ("colour_sky_mag_per_arcsec2",):
            value: Any = [math.nan, 20.0, 20.0]
        else:
            value = math.nan
        with pytest.raises(ParameterError, match=re.escape(".".join(path)) + r"=.*must be finite"):
            load_simulation_config({"preset": preset, "survey": {path[-1]: value}})


def test_direct_construction_refuses_non_finite_numbers() -> None:
    with pytest.raises(ParameterError, match=r"bulge.sersic_n_step=nan: must be finite"):
        BulgeConfig(sersic_n_step=math.nan)
    with pytest.raises(ParameterError, match=r"bulge.colour=\(0.1, inf\): must be finite"):
        BulgeConfig(colour=(0.1, math.inf))
    with pytest.raises(ParameterError, match=r"^mean=nan: must be finite"):
        Distribution(kind="normal", mean=math.nan)
    with pytest.raises(ParameterError, match=r"^value=-inf: must be finite"):
        Distribution(kind="fixed", value=-math.inf)
    with pytest.raises(ParameterError, match=r"frame_r90=inf: must be finite"):
        SimulationConfig(frame_r90=math.inf)
    with pytest.raises(ParameterError, match=r"bar_fraction=nan"):
        SimulationConfig().replace(bar_fraction=math.nan)


def test_distribution_errors_name_their_field() -> None:
    with pytest.raises(ConfigError, match=r"bulge.sersic_n: distribution bounds need low <= high"):
        load_simulation_config({"bulge": {"sersic_n": [3.0, 2.0]}})
    with pytest.raises(ConfigError, match=r"bulge.sersic_n: unknown key\(s\) 'lo'"):
        load_simulation_config({"bulge": {"sersic_n": {"kind": "uniform", "lo": 1}}})


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("survey:\n  psf_fwhm_arcsec: .nan\n", "survey.psf_fwhm_arcsec=nan: must be finite"),
        ("survey:\n  pixel_scale_arcsec: .inf\n", "survey.pixel_scale_arcsec=inf: must be finite"),
        ("framing: relative\nframe_r90: -.inf\n", "frame_r90=-inf: must be finite"),
        (
            "survey:\n  magnitude: {kind: normal, mean: .nan, sigma: 0.5, low: 14, high: 17}\n",
            "survey.magnitude.mean=nan: must be finite",
        ),
        ("bulge:\n  colour: [.nan, 0.4]\n", "bulge.colour=(nan, 0.4): must be finite"),
        (
            "arms:\n  pitch_angle_deg: [10, .inf]\n",
            "arms.pitch_angle_deg=[10, inf]: must be finite",
        ),
    ],
)
def test_yaml_nan_and_inf_exit_2_with_one_line(tmp_path, capsys, yaml_text, message) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(yaml_text)
    out = tmp_path / "s.h5"
    status = main(["simulate", "--n", "2", "--config", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and message in err
    assert not list(tmp_path.glob("s.h5*"))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_cli_float_option_nan_is_refused(tmp_path, capsys, value) -> None:
    out = tmp_path / "s.h5"
    status = main(["simulate", "--n", "2", f"--bar-fraction={value}", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and f"argument --bar-fraction: '{value}' is not a number" in err
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- sizes
def test_huge_count_is_refused_before_anything_is_written(tmp_path) -> None:
    out = tmp_path / "big.h5"
    # 10**12 x 512 x 512 bytes is ~262 PB: no disk holds that; an index array alone
    # would be 8 TB, so this also shows the check comes before any allocation
    with pytest.raises(ParameterError, match=r"^n=1000000000000: .*at most \d+ galaxies fit"):
        simulate_dataset(out, n=10**12, config={"size": 512})
    assert not list(tmp_path.iterdir())


def test_disk_limit_message_says_how_many_fit(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(suite_module, "_free_disk_bytes", lambda path: (tmp_path, 10_000_000))
    monkeypatch.setattr(suite_module, "available_memory_bytes", lambda: 10**12)
    # 128 x 128 uint8 = 16384 bytes per galaxy: 10 MB hold 610
    with pytest.raises(ParameterError, match=r"disk space .* at most 610 galaxies fit") as info:
        simulate_dataset(tmp_path / "d.h5", n=1000, config={"size": 128})
    assert "written as it goes" in str(info.value) and info.value.name == "n"
    # float32 counts take four times as much
    with pytest.raises(ParameterError, match=r"at most 152 galaxies fit"):
        simulate_dataset(tmp_path / "d.h5", n=1000, config={"size": 128}, rendering="counts")
    assert not list(tmp_path.iterdir())


def test_memory_limit_of_the_catalogue_says_how_many_fit(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(suite_module, "available_memory_bytes", lambda: 1_000_000)
    per = suite_module.CATALOG_BYTES_PER_GALAXY
    with pytest.raises(ParameterError, match=rf"in memory .* at most {1_000_000 // per} galaxies"):
        simulate_dataset(tmp_path / "m.h5", n=1000, config=FAST)
    with pytest.raises(ParameterError, match=r"500 galaxies in this shard"):
        simulate_dataset(tmp_path / "m.h5", n=1000, config=FAST, shard="0/2")
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(suite_module, "available_memory_bytes", lambda: None)  # unknown
    assert simulate_dataset(tmp_path / "ok.h5", n=2, config=FAST).is_file()


def test_in_memory_simulation_larger_than_memory_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(suite_module, "available_memory_bytes", lambda: 50_000_000)
    with pytest.raises(ParameterError, match=r"^n=10000: .*held in memory at once .* at most \d+"):
        simulate_galaxies(10_000, config={"size": 128})
    images, _ = simulate_galaxies(2, config=FAST)  # small runs are unaffected
    assert images.shape == (2, 1, 32, 32)


def test_available_memory_is_a_positive_number_here() -> None:
    memory = suite_module.available_memory_bytes()
    assert memory is None or memory > 0


def test_cli_huge_count_exits_2_with_one_line(tmp_path, capsys) -> None:
    out = tmp_path / "big.h5"
    argv = ["simulate", "--n", str(10**12), "--size", "512", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at most" in err and "galaxies fit" in err
    assert not Path(out).exists() and not list(tmp_path.iterdir())
