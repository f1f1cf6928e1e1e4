"""``galaxy-xai bars ...``: calibrate, measure and evaluate bar lengths from saliency maps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from galaxy_xai.cli_types import POSITIVE, SEED, Number, number_list, output_path

__all__ = ["add_parser"]

#: Largest map smoothing sigma (px): wider kernels erase every bar on maps of a few
#: hundred pixels and cost time (and memory) for nothing.
MAX_SMOOTH_PX = 100.0
CORR_THRESHOLD = Number(float, 0.0, 1.0, low_open=True, high_open=True)  # paper: 0.70-0.90
MIN_PIXELS = Number(int, 3)  # paper: 10-50
SMOOTH_PX = Number(float, 0.0, MAX_SMOOTH_PX)


def _strs(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _bools(text: str) -> tuple[bool, ...]:
    table = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}
    try:
        return tuple(table[v.strip().lower()] for v in text.split(",") if v.strip())
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r}: use on/off, e.g. 'off,on'") from None


def add_parser(subparsers: Any) -> None:
    """Add ``bars`` and its subcommands."""
    bars = subparsers.add_parser(
        "bars",
        help="bar lengths from saliency maps (Bhambra et al. 2022 and beyond)",
        description="Measure bar lengths from saliency maps, calibrate the measurement on a "
        "calibration split, and evaluate against true lengths. (Training the bar network: "
        "'galaxy-xai workflows bar-network'.)",
    )
    sub = bars.add_subparsers(dest="bars_command", metavar="SUBCOMMAND")

    # --- calibrate
    p = sub.add_parser(
        "calibrate",
        help="grid-search the measurement settings on a calibration split; freeze to JSON",
    )
    p.add_argument("--maps", action="append", required=True, help="maps .h5 (repeatable)")
    p.add_argument("--data", required=True, help="dataset .h5 the maps were computed from")
    p.add_argument("--truth-col", default="bar_length_px", help="true full bar length, pixels")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--split-file", help="a run's split.json; uses --part of it")
    which.add_argument("--ids", help="text file with one calibration id per line")
    p.add_argument(
        "--part", default=None, help="part of --split-file (default: calibration, else val)"
    )
    p.add_argument(
        "--corr-thresholds",
        type=number_list(CORR_THRESHOLD),
        default=None,
        help="each in (0, 1), e.g. 0.7,0.75,0.8,0.85,0.9",
    )
    p.add_argument(
        "--min-pixels",
        type=number_list(MIN_PIXELS),
        default=None,
        help="each >= 3, e.g. 10,20,30,40,50",
    )
    p.add_argument("--multiply", type=_bools, default=None, help="off,on (default both)")
    p.add_argument("--criteria", type=_strs, default=None, help="eigen,ellipticity,pearson")
    p.add_argument("--variants", type=_strs, default=None, help="published,central,moments")
    p.add_argument(
        "--smooth",
        type=number_list(SMOOTH_PX),
        default=None,
        help=f"map smoothing sigmas, px, each 0..{MAX_SMOOTH_PX:g}: e.g. 0,1",
    )
    p.add_argument("--no-fit-scale", action="store_true", help="do not fit a length scale")
    p.add_argument("--objective", choices=("rmse", "pearson"), default="rmse")
    p.add_argument(
        "--cv-folds",
        type=Number(int, 2),
        default=None,
        help="first choose between this grid and the paper's by K-fold cross-validation "
        "inside the calibration galaxies (default: no cross-validation)",
    )
    p.add_argument("--cv-seed", type=SEED, default=0, help="seed of the folds' shuffle")
    p.add_argument("--out", required=True, type=output_path, help="calibration JSON to write")
    p.set_defaults(func=_cmd_calibrate)

    # --- measure
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
        "--require-arcsec", action="store_true", help="error if a galaxy has no pixel scale"
    )
    p.add_argument("--cosmology", default="Planck18", help="astropy cosmology for kpc")
    p.add_argument("--criterion", choices=("eigen", "ellipticity", "pearson"), default=None)
    p.add_argument("--variant", choices=("published", "central", "moments"), default=None)
    p.add_argument("--corr-threshold", type=CORR_THRESHOLD, default=None, help="in (0, 1)")
    p.add_argument("--min-pixels", type=MIN_PIXELS, default=None, help=">= 3")
    p.add_argument("--multiply", action="store_true", default=None, help="multiply map by image")
    p.add_argument("--out", required=True, type=output_path, help="bars CSV to write")
    p.set_defaults(func=_cmd_measure)

    # --- evaluate
    p = sub.add_parser("evaluate", help="Pearson r and RMSE (bootstrap 95%% CIs) vs true lengths")
    p.add_argument("--pred", required=True, help="bars CSV from 'bars measure'")
    p.add_argument("--truth", required=True, help="truth catalogue (.csv/.parquet or dataset .h5)")
    p.add_argument("--id-col", default="id", help="id column of the truth catalogue")
    p.add_argument("--length-col", required=True, help="true-length column of the truth catalogue")
    p.add_argument("--pred-col", default="bar_length_px", help="measured-length column")
    p.add_argument(
        "--scale",
        default=None,
        help="factor (or truth column) putting true lengths in the prediction's unit",
    )
    p.add_argument("--flags", type=_strs, default=None, help="keep only these quality flags")
    p.add_argument(
        "--n-boot", type=Number(int, 100), default=2000, help="bootstrap resamples, >= 100"
    )
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--unit", default=None, help="unit shown on the plot (default from --pred-col)")
    p.add_argument("--out", required=True, type=output_path, help="evaluation JSON to write")
    p.add_argument("--plot", type=output_path, help="scatter plot PNG to write")
    p.set_defaults(func=_cmd_evaluate)

    bars.set_defaults(func=lambda _args: bars.print_help() or 2)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from galaxy_xai.bars.calibrate import CalibrationGrid
    from galaxy_xai.bars.catalog import calibrate_files, read_split_ids
    from galaxy_xai.errors import DataMissingError

    grid_kwargs: dict[str, Any] = {
        k: v
        for k, v in {
            "corr_thresholds": args.corr_thresholds,
            "min_pixels": args.min_pixels,
            "multiply": args.multiply,
            "criteria": args.criteria,
            "variants": args.variants,
            "smooth_sigma_px": args.smooth,
        }.items()
        if v is not None
    }
    grid = CalibrationGrid(**grid_kwargs, fit_scale=not args.no_fit_scale)
    ids = None
    part = None
    if args.split_file:
        ids, part = read_split_ids(args.split_file, args.part)
    elif args.ids:
        path = Path(args.ids)
        if not path.is_file():
            raise DataMissingError(f"ids file '{path}' does not exist")
        ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    else:
        print("warning: no --split-file or --ids: calibrating on every galaxy of the maps file")
    result = calibrate_files(
        args.maps,
        args.data,
        truth_col=args.truth_col,
        ids=ids,
        grid=grid,
        objective=args.objective,
        out=args.out,
        provenance={"split_file": args.split_file, "part": part, "ids_file": args.ids},
        cv_folds=args.cv_folds,
        cv_seed=args.cv_seed,
    )
    choice = result.grid_choice
    if choice is not None:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in choice.held_out.items())
        print(
            f"{choice.folds}-fold cross-validation ({choice.metric}: {scores}): grid {choice.name}"
        )
    p = result.params
    print(
        f"calibrated on {result.n_calibration} galaxies: criterion={p.criterion} "
        f"corr_threshold={p.corr_threshold} min_pixels={p.min_pixels} multiply={p.multiply} "
        f"variant={p.variant} smooth={p.smooth_sigma_px} length_scale={p.length_scale:.4g} "
        f"({result.objective}={result.score:.4g}) -> {args.out}"
    )
    return 0


def _cmd_measure(args: argparse.Namespace) -> int:
    import dataclasses

    from galaxy_xai.bars.calibrate import load_calibration
    from galaxy_xai.bars.catalog import measure_catalog
    from galaxy_xai.bars.measure import BarParams

    params = load_calibration(args.calibration) if args.calibration else BarParams()
    overrides = {
        k: v
        for k, v in {
            "criterion": args.criterion,
            "variant": args.variant,
            "corr_threshold": args.corr_threshold,
            "min_pixels": args.min_pixels,
            "multiply": args.multiply,
        }.items()
        if v is not None
    }
    params = dataclasses.replace(params, **overrides)
    table = measure_catalog(
        args.maps,
        data=args.data,
        params=params,
        pixel_scale_arcsec=args.pixel_scale,
        require_arcsec=args.require_arcsec,
        cosmology=args.cosmology,
        out=args.out,
    )
    counts = table["quality_flag"].value_counts().to_dict()
    print(f"{len(table)} galaxies -> {args.out}; flags: {json.dumps(counts)}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from galaxy_xai.bars.evaluate import evaluate_files
    from galaxy_xai.io import write_json

    unit = args.unit or (
        "arcsec" if "arcsec" in args.pred_col else "kpc" if "kpc" in args.pred_col else "px"
    )
    stats = evaluate_files(
        args.pred,
        args.truth,
        id_col=args.id_col,
        length_col=args.length_col,
        pred_col=args.pred_col,
        scale=args.scale,
        flags=args.flags,
        n_boot=args.n_boot,
        seed=args.seed,
        plot=args.plot,
        unit=unit,
    )
    write_json(args.out, stats)
    print(
        f"n={stats['n']}  r={stats['pearson_r']:.3f} "
        f"[{stats['pearson_r_ci_low']:.3f}, {stats['pearson_r_ci_high']:.3f}]  "
        f"RMSE={stats['rmse']:.3f} [{stats['rmse_ci_low']:.3f}, {stats['rmse_ci_high']:.3f}] {unit}"
        f" -> {args.out}"
    )
    return 0
