"""``galaxy-xai features ...``: bulge size and B/T from saliency maps."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import COUNT, POSITIVE, SEED, output_path

__all__ = ["add_parser"]


def _source_options(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--maps", action="append", help="maps .h5 of the bulge output from 'explain' "
        "(repeat for MC-dropout draws)",
    )  # fmt: skip
    which.add_argument(
        "--model", help="bulge/disk classifier (run folder, model file, zoo:NAME): "
        "MC dropout x SmoothGrad maps are computed here",
    )  # fmt: skip
    p.add_argument("--data", required=True, help="dataset .h5 (images, pixel_scale_arcsec)")
    p.add_argument(
        "--target", default=None,
        help="output to measure from (default: the output named like 'bulge')",
    )  # fmt: skip
    p.add_argument("--draws", type=COUNT, default=10, help="MC-dropout draws with --model")
    p.add_argument("--samples", type=COUNT, default=25, help="SmoothGrad samples with --model")
    p.add_argument("--seed", type=SEED, default=0)


def add_parser(subparsers: Any) -> None:
    """Add ``features`` and its subcommands."""
    feats = subparsers.add_parser(
        "features",
        help="bulge size and bulge-to-total from saliency maps (calibrated on simulations)",
        description="Measure the bulge's half-light radius and B/T from saliency maps of "
        "the bulge output of a bulge/disk network; calibrate on simulations first.",
    )
    sub = feats.add_subparsers(dest="features_command", metavar="SUBCOMMAND")

    p = sub.add_parser("calibrate", help="fit the measurement on simulated galaxies -> JSON")
    _source_options(p)
    p.add_argument("--bt-col", default="bulge_to_total", help="true B/T column")
    p.add_argument(
        "--radius-col", default="bulge_half_light_radius_arcsec",
        help="true bulge half-light radius column, arcsec",
    )  # fmt: skip
    p.add_argument("--out", required=True, type=output_path, help="calibration JSON to write")
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("measure", help="bulge B/T and radius of every galaxy -> CSV")
    _source_options(p)
    p.add_argument("--calibration", required=True, help="JSON from 'features calibrate'")
    p.add_argument("--pixel-scale", type=POSITIVE, help="arcsec per pixel for every galaxy")
    p.add_argument(
        "--require-arcsec", action="store_true", help="error if a galaxy has no pixel scale"
    )
    p.add_argument("--out", required=True, type=output_path, help="features CSV to write")
    p.set_defaults(func=_cmd_measure)

    feats.set_defaults(func=lambda _args: feats.print_help() or 2)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from galaxy_xai.features import calibrate_files

    cal = calibrate_files(
        data=args.data, maps=args.maps, model=args.model, target=args.target,
        bt_col=args.bt_col, radius_col=args.radius_col, n_draws=args.draws,
        n_samples=args.samples, seed=args.seed, out=args.out,
    )  # fmt: skip
    print(
        f"calibrated on {cal.n_calibration} galaxies: B/T r={cal.pearson_r_bt:.3f} "
        f"(threshold {cal.bt_params.map_threshold}, power {cal.bt_params.map_power}), radius "
        f"r={cal.pearson_r_radius:.3f} (in-sample) -> {args.out}"
    )
    return 0


def _cmd_measure(args: argparse.Namespace) -> int:
    import json

    from galaxy_xai.features import load_bulge_calibration, measure_files

    cal = load_bulge_calibration(args.calibration)
    table = measure_files(
        data=args.data, calibration=cal, maps=args.maps, model=args.model, target=args.target,
        n_draws=args.draws, n_samples=args.samples, seed=args.seed,
        pixel_scale_arcsec=args.pixel_scale, require_arcsec=args.require_arcsec, out=args.out,
    )  # fmt: skip
    counts = table["quality_flag"].value_counts().to_dict()
    print(f"{len(table)} galaxies -> {args.out}; flags: {json.dumps(counts)}")
    return 0
