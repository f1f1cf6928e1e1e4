"""``BarParams`` is the one declaration of the bar-measurement settings: the checks, the
calibration grid, its search and table, and both commands' options are made from it."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import galaxy_xai.bars.commands as commands_module
import galaxy_xai.bars.measure as measure_module
from galaxy_xai.bars import PAPER_GRID, BarParams, CalibrationGrid, calibrate, save_calibration
from galaxy_xai.bars.measure import (
    SCAN_SETTINGS,
    Search,
    Setting,
    bar_settings,
    bar_trace,
    searched_settings,
    validate_params,
)
from galaxy_xai.bars.synthetic import synthetic_bar_maps
from galaxy_xai.cli import build_parser
from galaxy_xai.errors import ParameterError

# the module, not the function galaxy_xai.bars.calibrate that shadows it as an attribute
calibrate_module = importlib.import_module("galaxy_xai.bars.calibrate")

#: The calibration file's grid keys, in order: a file format that must not change.
GRID_KEYS = ("corr_thresholds", "min_pixels", "multiply", "criteria", "variants",
             "smooth_sigma_px", "fit_scale")  # fmt: skip


def _subparser(*names: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in names:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings}


def test_every_searched_setting_is_in_the_grid_and_both_commands() -> None:
    calibrate_opts = _options(_subparser("bars", "calibrate"))
    measure_opts = _options(_subparser("bars", "measure"))
    grid_fields = {f.name: f for f in dataclasses.fields(CalibrationGrid)}
    searched = searched_settings()
    assert searched == ["criterion", "corr_threshold", "min_pixels", "multiply", "variant",
                        "smooth_sigma_px"]  # fmt: skip
    for name in searched:
        kind, setting = bar_settings()[name]
        search = setting.search
        assert search is not None
        assert grid_fields[search.grid].default == search.values, name
        assert kind is type(getattr(BarParams(), name))
        assert calibrate_opts[search.grid].default is None, name
        assert calibrate_opts[search.grid].default_source[1] == f"grid.{search.grid}"
        assert measure_opts[name].default is None, name
        assert measure_opts[name].default_source[1] == name
        if setting.choices:
            assert tuple(measure_opts[name].choices) == setting.choices
    not_searched = set(bar_settings()) - set(searched)
    assert not_searched == {"absolute", "t_start", "t_step", "length_scale"}
    assert not not_searched & set(measure_opts)


def test_grid_order_and_search_order_are_declared_once() -> None:
    assert tuple(f.name for f in dataclasses.fields(CalibrationGrid)) == GRID_KEYS
    columns = sorted(bar_settings()[n][1].search.column for n in searched_settings())
    assert columns == list(range(len(columns)))
    # the scan's fields (bar_trace's keywords) are searched outside the stop rule's
    assert SCAN_SETTINGS == ("multiply", "variant", "smooth_sigma_px", "absolute", "t_start",
                             "t_step")  # fmt: skip
    assert set(SCAN_SETTINGS) <= set(bar_settings())
    assert searched_settings("nesting") == ["multiply", "smooth_sigma_px", "variant",
                                            "criterion", "corr_threshold", "min_pixels"]  # fmt: skip
    paper = CalibrationGrid(
        corr_thresholds=(0.70, 0.75, 0.80, 0.85, 0.90), criteria=("pearson",),
        variants=("published",), smooth_sigma_px=(0.0,),
    )  # fmt: skip
    assert paper == PAPER_GRID
    # ours also searches elongations below the paper's 0.70 (blurred maps)
    assert CalibrationGrid().corr_thresholds[:4] == (0.30, 0.40, 0.50, 0.60)
    assert CalibrationGrid().size == 9 * 5 * 2 * 3 * 3 * 3


def test_the_command_options_keep_their_spellings() -> None:
    calibrate_opts = {a.option_strings[0]: a for a in _subparser("bars", "calibrate")._actions}
    for flag in ("--corr-thresholds", "--min-pixels", "--multiply", "--criteria", "--variants",
                 "--smooth", "--no-fit-scale", "--config"):  # fmt: skip
        assert flag in calibrate_opts, flag
    measure_opts = {a.option_strings[0]: a for a in _subparser("bars", "measure")._actions}
    for flag in ("--criterion", "--variant", "--corr-threshold", "--min-pixels", "--multiply",
                 "--smooth"):  # fmt: skip
        assert flag in measure_opts, flag
    assert measure_opts["--multiply"].nargs == 0  # a flag, as before
    args = build_parser().parse_args(
        ["bars", "calibrate", "--maps", "m.h5", "--data", "d.h5", "--out", "c.json",
         "--corr-thresholds", "0.7,0.8", "--min-pixels", "10", "--multiply", "off,on",
         "--criteria", "pearson", "--smooth", "0,1.5"]
    )  # fmt: skip
    assert (args.corr_thresholds, args.min_pixels, args.multiply) == (
        (0.7, 0.8),
        (10,),
        (False, True),
    )
    assert (args.criteria, args.smooth_sigma_px) == (("pearson",), (0.0, 1.5))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calibrate", "--corr-thresholds", "0.7,1"], "'1' is not a number in (0, 1)"),
        (["calibrate", "--min-pixels", "2"], "'2' is not an integer >= 3"),
        (["calibrate", "--smooth", "101"], "'101' is not a number in [0, 100]"),
        (["calibrate", "--multiply", "maybe"], "use on/off"),
        (["measure", "--criterion", "area"], "invalid choice: 'area'"),
        (["measure", "--smooth", "-1"], "'-1' is not a number in [0, 100]"),
    ],
)
def test_command_options_check_the_declared_bounds(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--maps", "m.h5", "--out", "o", *(["--data", "d.h5"] if argv[0] == "calibrate" else [])]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bars", argv[0], *base, *argv[1:]])
    assert message in capsys.readouterr().err


def test_validate_params_names_the_setting() -> None:
    validate_params(criterion="pearson", min_pixels=np.int64(5), t_start=0.0)
    with pytest.raises(ParameterError, match="corr_treshold=0.8: is not a setting"):
        validate_params(corr_treshold=0.8)
    with pytest.raises(ParameterError, match=r"t_start=1.0: must lie in \[0, 1\)"):
        validate_params(t_start=1.0)
    with pytest.raises(ParameterError, match="length_scale=nan: must be a positive number"):
        BarParams(length_scale=float("nan"))
    # grid values are read as the setting's type, losslessly
    assert CalibrationGrid(min_pixels=(10.0, np.int64(20))).min_pixels == (10.0, 20)
    with pytest.raises(ParameterError, match="min_pixels=10.5: each must be an integer >= 3"):
        CalibrationGrid(min_pixels=(10.5,))
    with pytest.raises(ParameterError, match="corr_thresholds='0.8': each must lie strictly"):
        CalibrationGrid(corr_thresholds=("0.8",))


def test_calibration_file_keys_are_unchanged(tmp_path: Path) -> None:
    maps, lengths, _ = synthetic_bar_maps(6, seed=1)
    grid = CalibrationGrid(corr_thresholds=(0.8,), min_pixels=(10,), criteria=("eigen",),
                           variants=("published",), smooth_sigma_px=(0.0,))  # fmt: skip
    result = calibrate(maps, lengths, grid=grid)
    data = json.loads(save_calibration(result, tmp_path / "c.json", grid=grid).read_text())
    assert tuple(data["grid"]) == GRID_KEYS
    assert tuple(data["params"]) == tuple(f.name for f in dataclasses.fields(BarParams))
    assert tuple(data["table"][0]) == (
        "criterion", "corr_threshold", "min_pixels", "multiply", "variant", "smooth_sigma_px",
        "length_scale", "score", "frac_ok", "n_unmeasured",
    )  # fmt: skip
    assert len(data["table"]) == 1 and grid.size == 2  # no images: multiply=False only


# --- a new setting needs its declaration only -------------------------------------------


def _with_fake_setting(table: Mapping[str, tuple[type, Setting]]) -> dict[str, Any]:
    fake = Setting(
        help="a fake width of the bar, px",
        rule="be > 0 pixels",
        low=0.0,
        low_open=True,
        cli_high=50.0,
        search=Search("fake_widths_px", (1.0, 2.0), column=6, nesting=3),
    )
    return {**table, "fake_width_px": (float, fake)}


@pytest.fixture
def fake_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``BarParams`` as if it had a searched field ``fake_width_px`` (grid ``fake_widths_px``)."""
    table = _with_fake_setting(measure_module.bar_settings())
    for module in (measure_module, calibrate_module, commands_module):
        monkeypatch.setattr(module, "bar_settings", lambda: table)


@pytest.mark.usefixtures("fake_setting")
def test_a_declared_setting_reaches_the_grid_and_both_commands() -> None:
    class Grid:  # CalibrationGrid's class body, made again with the fake setting declared
        """A grid.

        Attributes
        ----------
        {searched}
        fit_scale
            As CalibrationGrid's.
        """

        fit_scale: bool = True
        __post_init__ = CalibrationGrid.__post_init__
        size = CalibrationGrid.size

    grid_class = calibrate_module._grid_fields(Grid)
    names = [f.name for f in dataclasses.fields(grid_class)]
    assert names == [*GRID_KEYS[:-1], "fake_widths_px", "fit_scale"]
    assert grid_class().fake_widths_px == (1.0, 2.0)
    assert "fake_widths_px\n" in (grid_class.__doc__ or "")
    with pytest.raises(ParameterError, match="fake_widths_px=0.0: each must be > 0 pixels"):
        grid_class(fake_widths_px=(0.0,))
    assert grid_class(fake_widths_px=(3.0,)).size == CalibrationGrid().size
    assert grid_class(fake_widths_px=(3.0, 4.0)).size == 2 * CalibrationGrid().size
    assert searched_settings("nesting")[-1] == "fake_width_px"
    calibrate_opts = _options(_subparser("bars", "calibrate"))
    assert calibrate_opts["fake_widths_px"].option_strings == ["--fake-widths-px"]
    assert calibrate_opts["fake_widths_px"].type("1,2.5") == (1.0, 2.5)
    measure_opts = _options(_subparser("bars", "measure"))
    assert measure_opts["fake_width_px"].option_strings == ["--fake-width-px"]
    with pytest.raises(argparse.ArgumentTypeError, match="is not a number in"):
        measure_opts["fake_width_px"].type("60")
    assert measure_opts["fake_width_px"].help.startswith(
        "a fake width of the bar, px, a number in (0, 50]"
    )
    assert calibrate_opts["fake_widths_px"].default_source[1] == "grid.fake_widths_px"


def test_the_scan_is_computed_per_setting_of_its_fields_only() -> None:
    """Calibration reuses one threshold scan for every stop-rule setting (bar_trace's keywords)."""
    maps, lengths, _ = synthetic_bar_maps(4, seed=3)
    calls: list[dict[str, Any]] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return bar_trace(*args, **kwargs)

    grid = CalibrationGrid(variants=("published", "moments"), smooth_sigma_px=(0.0,),
                           multiply=(False,))  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(calibrate_module, "bar_trace", counting)
        result = calibrate(maps, lengths, grid=grid)
    assert len(calls) == 2 * len(maps) and len(result.table) == grid.size
    assert set(calls[0]) == set(SCAN_SETTINGS)
