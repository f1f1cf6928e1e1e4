"""``galaxy-xai features ...``: bulge size and B/T from saliency maps."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    POSITIVE,
    SEED,
    add_config_option,
    add_subcommands,
    config_from_args,
    defaults_from,
    output_path,
)

__all__ = ["add_parser"]

_CATALOG = "galaxy_xai.features.catalog"
# option dest -> config field, shared by calibrate and measure
_SOURCE_FIELDS = {"target": "target", "draws": "n_draws", "samples": "n_samples", "seed": "seed"}
_CALIBRATE_FIELDS = {**_SOURCE_FIELDS, "bt_col": "bt_col", "radius_col": "radius_col"}
_MEASURE_FIELDS = {
    **_SOURCE_FIELDS, "pixel_scale": "pixel_scale_arcsec", "require_arcsec": "require_arcsec"
}  # fmt: skip


def _source_options(p: argparse.ArgumentParser, config: str) -> None:
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
    add_config_option(p, f"{config} ({_CATALOG})")
    p.add_argument("--target", help="output to measure from (none: the output named like 'bulge')")
    p.add_argument("--draws", type=COUNT, help="MC-dropout draws with --model")
    p.add_argument("--samples", type=COUNT, help="SmoothGrad samples with --model")
    p.add_argument("--seed", type=SEED, help="seed of the dropout masks and the noise")


def add_parser(subparsers: Any) -> None:
    """Add ``features`` and its subcommands."""
    feats = subparsers.add_parser(
        "features",
        help="bulge size and bulge-to-total from saliency maps (calibrated on simulations)",
        description="Measure the bulge's half-light radius and B/T from saliency maps of "
        "the bulge output of a bulge/disk network; calibrate on simulations first.",
    )
    sub = add_subcommands(feats, "features_command")

    p = sub.add_parser("calibrate", help="fit the measurement on simulated galaxies -> JSON")
    _source_options(p, "FeatureCalibrateConfig")
    p.add_argument("--bt-col", help="true B/T column")
    p.add_argument("--radius-col", help="true bulge half-light radius column, arcsec")
    p.add_argument("--out", required=True, type=output_path, help="calibration JSON to write")
    defaults_from(p, f"{_CATALOG}:FeatureCalibrateConfig", _CALIBRATE_FIELDS)
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("measure", help="bulge B/T and radius of every galaxy -> CSV")
    _source_options(p, "FeatureMeasureConfig")
    p.add_argument("--calibration", required=True, help="JSON from 'features calibrate'")
    p.add_argument("--pixel-scale", type=POSITIVE, help="arcsec per pixel for every galaxy")
    p.add_argument(
        "--require-arcsec",
        action="store_true",
        default=None,
        help="error if a galaxy has no pixel scale",
    )
    p.add_argument("--out", required=True, type=output_path, help="features CSV to write")
    defaults_from(
        p, f"{_CATALOG}:FeatureMeasureConfig", {k: v for k, v in _MEASURE_FIELDS.items()
                                                if k not in ("pixel_scale", "require_arcsec")},
    )  # fmt: skip
    p.set_defaults(func=_cmd_measure)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from galaxy_xai.features import calibrate_files
    from galaxy_xai.features.catalog import FeatureCalibrateConfig

    config = config_from_args(FeatureCalibrateConfig, args, _CALIBRATE_FIELDS)
    cal = calibrate_files(
        data=args.data, maps=args.maps, model=args.model, out=args.out,
        **dataclasses.asdict(config),
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
    from galaxy_xai.features.catalog import FeatureMeasureConfig

    config = config_from_args(FeatureMeasureConfig, args, _MEASURE_FIELDS)
    cal = load_bulge_calibration(args.calibration)
    table = measure_files(
        data=args.data, calibration=cal, maps=args.maps, model=args.model, out=args.out,
        **dataclasses.asdict(config),
    )  # fmt: skip
    counts = table["quality_flag"].value_counts().to_dict()
    print(f"{len(table)} galaxies -> {args.out}; flags: {json.dumps(counts)}")
    return 0
