"""``galaxy-xai bars ...``: calibrate, measure and evaluate bar lengths from saliency maps.

The measurement settings' options are made from the :class:`~galaxy_xai.bars.BarParams`
declaration (:func:`galaxy_xai.bars.measure.bar_settings`): each searched field is a
list option of ``bars calibrate`` and an override of ``bars measure``, with its type,
bounds, choices and help, so a new setting needs no change here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, cast

from galaxy_xai.bars.measure import Setting, bar_settings, search_of, searched_settings
from galaxy_xai.cli_types import (
    POSITIVE,
    SEED,
    Number,
    add_config_option,
    add_subcommands,
    config_from_args,
    defaults_from,
    field_default,
    given,
    number_list,
    output_path,
    str_list,
)

__all__ = ["add_parser"]

_CATALOG = "galaxy_xai.bars.catalog"
_CALIBRATE_CONFIG = f"{_CATALOG}:BarCalibrateConfig"
_PARAMS = "galaxy_xai.bars.measure:BarParams"
# option dest -> BarCalibrateConfig field, besides the grid's (_grid_fields)
_CALIBRATE_FIELDS = {
    "truth_col": "truth_col", "objective": "objective", "cv_folds": "cv_folds",
    "cv_seed": "cv_seed",
}  # fmt: skip
_MEASURE_KEYWORDS = ("cosmology", "require_arcsec")  # measure_catalog's, from the options
_EVALUATE = "galaxy_xai.bars.evaluate:evaluate_files"
_EVALUATE_KEYWORDS = ("id_col", "pred_col", "n_boot", "seed")  # its keywords, from the options


def _bools(text: str) -> tuple[bool, ...]:
    table = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}
    try:
        return tuple(table[v.strip().lower()] for v in text.split(",") if v.strip())
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r}: use on/off, e.g. 'off,on'") from None


def _number(kind: type, setting: Setting) -> Number:
    """The command-line type of a numeric setting: its bounds (``cli_high`` if tighter)."""
    high = setting.high if setting.cli_high is None else setting.cli_high
    return Number(cast(type[float], kind), setting.low, high, setting.low_open, setting.high_open)


def _flag(name: str, *, grid: bool) -> dict[str, str]:
    """The option of setting ``name``: ``--<flag>``, else ``--<grid field>``/``--<field>``.

    Returns the option string (``"flag"``) and its ``metavar`` and ``dest``.
    """
    setting = bar_settings()[name][1]
    stem = setting.flag or (search_of(name).grid if grid else name)
    return {
        "flag": "--" + stem.replace("_", "-"),
        "metavar": stem.upper(),
        "dest": search_of(name).grid if grid else name,
    }


def _grid_fields() -> dict[str, str]:
    """Option dest -> BarCalibrateConfig field of the grid options (and --no-fit-scale)."""
    fields = {search_of(name).grid: f"grid.{search_of(name).grid}" for name in searched_settings()}
    return {**fields, "fit_scale": "grid.fit_scale"}


def _add_grid_option(p: argparse.ArgumentParser, name: str) -> None:
    """``bars calibrate``: the values of setting ``name`` to search, comma-separated."""
    kind, setting = bar_settings()[name]
    kwargs: dict[str, Any]
    if kind is bool:
        kwargs = {"type": _bools, "help": f"{setting.help}: off, on or off,on"}
    elif kind is str:
        kwargs = {"type": str_list, "help": f"{setting.help}: any of {','.join(setting.choices)}"}
    else:
        item = _number(kind, setting)
        kwargs = {"type": number_list(item), "help": f"{setting.help}: each {item.describe()}"}
    option = _flag(name, grid=True)
    p.add_argument(option["flag"], dest=option["dest"], metavar=option["metavar"], **kwargs)


def _add_setting_option(p: argparse.ArgumentParser, name: str) -> None:
    """``bars measure``: setting ``name``, over the calibration's."""
    kind, setting = bar_settings()[name]
    kwargs: dict[str, Any]
    if kind is bool:
        kwargs = {"action": "store_true"}
    elif kind is str:
        kwargs = {"choices": setting.choices}
    else:
        item = _number(kind, setting)
        kwargs = {"type": item, "help": f"{setting.help}, {item.describe()}"}
    kwargs.setdefault("help", setting.help)
    kwargs["help"] += " (replaces --calibration's)"
    option = _flag(name, grid=False)
    if kind is not bool and kind is not str:
        kwargs["metavar"] = option["metavar"]
    p.add_argument(option["flag"], dest=option["dest"], default=None, **kwargs)


def add_parser(subparsers: Any) -> None:
    """Add ``bars`` and its subcommands."""
    bars = subparsers.add_parser(
        "bars",
        help="bar lengths from saliency maps (Bhambra et al. 2022 and beyond)",
        description="Measure bar lengths from saliency maps, calibrate the measurement on a "
        "calibration split, and evaluate against true lengths. (Training the bar network: "
        "'galaxy-xai workflows bar-network'.)",
    )
    sub = add_subcommands(bars, "bars_command")
    _add_calibrate(sub)
    _add_measure(sub)
    _add_evaluate(sub)


def _add_calibrate(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        help="grid-search the measurement settings on a calibration split; freeze to JSON",
    )
    p.add_argument("--maps", action="append", required=True, help="maps .h5 (repeatable)")
    p.add_argument("--data", required=True, help="dataset .h5 the maps were computed from")
    add_config_option(p, f"BarCalibrateConfig ({_CATALOG})")
    p.add_argument("--truth-col", help="true full bar length, pixels")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--split-file", help="a run's split.json; uses --part of it")
    which.add_argument("--ids", help="text file with one calibration id per line")
    p.add_argument(
        "--part", default=None, help="part of --split-file (default: calibration, else val)"
    )
    for name in searched_settings("column"):
        _add_grid_option(p, name)
    p.add_argument(
        "--no-fit-scale",
        dest="fit_scale",
        action="store_const",
        const=False,
        default=None,
        help="do not fit a length scale",
    )
    p.add_argument(
        "--objective",
        choices=("rmse", "pearson"),
        help="what the calibration minimises: RMSE after the length scale, or 1 - Pearson r",
    )
    p.add_argument(
        "--cv-folds",
        type=Number(int, 2),
        help="first choose between this grid and the paper's by K-fold cross-validation "
        "inside the calibration galaxies; none: no cross-validation",
    )
    p.add_argument("--cv-seed", type=SEED, help="seed of the folds' shuffle")
    p.add_argument("--out", required=True, type=output_path, help="calibration JSON to write")
    tied = {**_CALIBRATE_FIELDS, **_grid_fields()}
    del tied["fit_scale"]  # a negative flag: "(default: on)" would read backwards
    defaults_from(p, _CALIBRATE_CONFIG, tied)
    p.set_defaults(func=_cmd_calibrate)


def _add_measure(sub: Any) -> None:
    p = sub.add_parser("measure", help="measure bar lengths from saliency maps -> CSV")
    p.add_argument(
        "--maps",
        action="append",
        required=True,
        help="maps .h5; repeat for MC-dropout draws or ensemble members (-> p16/p84)",
    )
    p.add_argument("--data", help="dataset .h5 (images, pixel_scale_arcsec, redshift)")
    p.add_argument("--calibration", help="calibration JSON from 'bars calibrate'")
    p.add_argument("--pixel-scale", type=POSITIVE, help="arcsec per pixel for every galaxy")
    p.add_argument(
        "--require-arcsec",
        action="store_true",
        default=None,
        help="error if a galaxy has no pixel scale",
    )
    p.add_argument("--cosmology", help="astropy cosmology for kpc")
    for name in searched_settings():
        _add_setting_option(p, name)
    p.add_argument("--out", required=True, type=output_path, help="bars CSV to write")
    defaults_from(p, f"{_CATALOG}:measure_catalog", {"cosmology": "cosmology"})
    defaults_from(p, _PARAMS, {name: name for name in searched_settings()})
    p.set_defaults(func=_cmd_measure)


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="Pearson r and RMSE (bootstrap 95%% CIs) vs true lengths")
    p.add_argument("--pred", required=True, help="bars CSV from 'bars measure'")
    p.add_argument("--truth", required=True, help="truth catalogue (.csv/.parquet or dataset .h5)")
    p.add_argument("--id-col", help="id column of the truth catalogue")
    p.add_argument("--length-col", required=True, help="true-length column of the truth catalogue")
    p.add_argument("--pred-col", help="measured-length column")
    p.add_argument(
        "--scale",
        default=None,
        help="factor (or truth column) putting true lengths in the prediction's unit",
    )
    p.add_argument("--flags", type=str_list, default=None, help="keep only these quality flags")
    p.add_argument("--n-boot", type=Number(int, 100), help="bootstrap resamples, >= 100")
    p.add_argument("--seed", type=SEED, help="seed of the bootstrap")
    p.add_argument("--unit", default=None, help="unit shown on the plot (default from --pred-col)")
    p.add_argument("--out", required=True, type=output_path, help="evaluation JSON to write")
    p.add_argument("--plot", type=output_path, help="scatter plot PNG to write")
    defaults_from(p, _EVALUATE, {k: k for k in _EVALUATE_KEYWORDS})
    p.set_defaults(func=_cmd_evaluate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from galaxy_xai.bars.catalog import BarCalibrateConfig, calibrate_files

    config = config_from_args(BarCalibrateConfig, args, {**_CALIBRATE_FIELDS, **_grid_fields()})
    ids, part = _calibration_ids(args)
    result = calibrate_files(
        args.maps,
        args.data,
        ids=ids,
        out=args.out,
        provenance={"split_file": args.split_file, "part": part, "ids_file": args.ids},
        **{f.name: getattr(config, f.name) for f in dataclasses.fields(config)},
    )
    choice = result.grid_choice
    if choice is not None:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in choice.held_out.items())
        print(
            f"{choice.folds}-fold cross-validation ({choice.metric}: {scores}): grid {choice.name}"
        )
    p = result.params
    chosen = " ".join(
        f"{bar_settings()[name][1].flag or name}={getattr(p, name)}" for name in searched_settings()
    )
    print(
        f"calibrated on {result.n_calibration} galaxies: {chosen} "
        f"length_scale={p.length_scale:.4g} ({result.objective}={result.score:.4g}) -> {args.out}"
    )
    return 0


def _calibration_ids(args: argparse.Namespace) -> tuple[list[str] | None, str | None]:
    """The calibration ids (None: every galaxy) and the split part they came from."""
    from galaxy_xai.bars.catalog import read_split_ids
    from galaxy_xai.errors import DataMissingError

    if args.split_file:
        return read_split_ids(args.split_file, args.part)
    if args.ids:
        path = Path(args.ids)
        if not path.is_file():
            raise DataMissingError(f"ids file '{path}' does not exist")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()], None
    print("warning: no --split-file or --ids: calibrating on every galaxy of the maps file")
    return None, None


def _cmd_measure(args: argparse.Namespace) -> int:
    from galaxy_xai.bars.calibrate import load_calibration
    from galaxy_xai.bars.catalog import measure_catalog
    from galaxy_xai.bars.measure import BarParams

    params = load_calibration(args.calibration) if args.calibration else BarParams()
    params = dataclasses.replace(params, **given(args, *searched_settings()))
    table = measure_catalog(
        args.maps,
        data=args.data,
        params=params,
        pixel_scale_arcsec=args.pixel_scale,
        out=args.out,
        **given(args, *_MEASURE_KEYWORDS),
    )
    counts = table["quality_flag"].value_counts().to_dict()
    print(f"{len(table)} galaxies -> {args.out}; flags: {json.dumps(counts)}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from galaxy_xai.bars.evaluate import evaluate_files
    from galaxy_xai.io import write_json

    keywords = given(args, *_EVALUATE_KEYWORDS)
    pred_col = keywords.get("pred_col") or field_default(_EVALUATE, "pred_col")
    unit = args.unit or ("arcsec" if "arcsec" in pred_col else "kpc" if "kpc" in pred_col else "px")
    stats = evaluate_files(
        args.pred,
        args.truth,
        length_col=args.length_col,
        scale=args.scale,
        flags=args.flags,
        plot=args.plot,
        unit=unit,
        **keywords,
    )
    write_json(args.out, stats)
    print(
        f"n={stats['n']}  r={stats['pearson_r']:.3f} "
        f"[{stats['pearson_r_ci_low']:.3f}, {stats['pearson_r_ci_high']:.3f}]  "
        f"RMSE={stats['rmse']:.3f} [{stats['rmse_ci_low']:.3f}, {stats['rmse_ci_high']:.3f}] {unit}"
        f" -> {args.out}"
    )
    return 0
