"""``galaxy-xai demo --out DIR [--quick] [--config FILE] [--data PATH] [--seed S] [--force]``."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from typing import Any

from galaxy_xai.cli_types import SEED, add_config_option, defaults_from, given, output_path

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run the whole toolkit on simulated galaxies and write DIR/report.html",
        description="The end-to-end demo: simulate SDSS-like galaxies -> train the "
        "morphology and bar networks -> transfer to a small labelled set -> predict with "
        "MC-dropout uncertainties -> saliency maps with sanity checks -> bar lengths vs "
        "the simulation truth -> a distilled prototype set -> DIR/report.html. Needs no "
        "data and no downloads. An interrupted demo resumes from its finished stages.",
    )
    parser.add_argument(
        "--out", required=True, type=output_path, metavar="DIR", help="output folder"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny settings (about 2 minutes on 2 CPU cores)"
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="PATH",
        help="real-data folder (e.g. ../shared/data): also run on Galaxy Zoo 1 "
        "(classification) and Galaxy Builder (bar lengths)",
    )
    add_config_option(parser, "DemoConfig (galaxy_xai.demo.config; over --quick's)")
    parser.add_argument("--seed", type=SEED, help="seed of every stage")
    parser.add_argument(
        "--force", action="store_true", help="rerun every stage, even finished ones"
    )
    defaults_from(parser, "galaxy_xai.demo.config:demo_config", {"seed": "seed"})
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from galaxy_xai.demo import demo_config, run_demo

    log = logging.getLogger("galaxy_xai.demo")
    if log.getEffectiveLevel() > logging.INFO:  # stage lines show without -v
        log.setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, format="%(message)s")
    verbose = getattr(args, "verbose", 0)
    config = demo_config(quick=args.quick, **given(args, "seed", "data"))
    if args.config:  # the file's keys over --quick's sizes; --seed and --data over both
        import dataclasses

        from galaxy_xai.config import load_config, read_config_file
        from galaxy_xai.demo.config import DemoConfig

        merged = {**dataclasses.asdict(config), **read_config_file(args.config)}
        config = load_config(DemoConfig, merged, **given(args, "seed", "data"))
    with warnings.catch_warnings():
        if not verbose:  # Lightning's banners and hints drown the stage lines
            for name in ("lightning.pytorch", "lightning.fabric"):
                logging.getLogger(name).setLevel(logging.WARNING)
            warnings.filterwarnings("ignore", module=r"lightning(\.|$)")
        report = run_demo(args.out, config, force=args.force)
    print(report)
    return 0
