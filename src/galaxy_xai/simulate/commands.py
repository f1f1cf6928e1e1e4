"""``galaxy-xai simulate``."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    FRACTION,
    SEED,
    Number,
    add_config_option,
    defaults_from,
    given,
    output_path,
)
from galaxy_xai.simulate.config import FRAMINGS, RENDERINGS
from galaxy_xai.simulate.presets import PRESET_NAMES

__all__ = ["add_parser"]

# Options that override keys of the SimulationConfig (--config); the others are the
# run's own (count, seed, workers, shard), with the defaults of simulate_dataset.
_CONFIG_OPTIONS = ("preset", "size", "bar_fraction", "rendering", "framing")


def add_parser(subparsers: Any) -> None:
    """Register the ``simulate`` subcommand (``join`` is ``data join``)."""
    sim = subparsers.add_parser(
        "simulate",
        help="simulate galaxies with GalSim into a dataset file (with a truth catalogue)",
        description="Simulate bulge + disk + bar + spiral-arm galaxies with exact ground "
        "truth into the dataset format of 'galaxy-xai data import'. The same seed gives "
        "the same galaxies whatever --workers or --shard. Options override the --config file.",
    )
    sim.add_argument("--out", required=True, type=output_path, help="output dataset file (.h5)")
    sim.add_argument("--n", type=COUNT, required=True, help="number of galaxies (all shards)")
    sim.add_argument("--preset", help=f"survey preset: {', '.join(PRESET_NAMES)}")
    sim.add_argument("--size", type=Number(int, 16), help="stamp size in pixels, >= 16")
    sim.add_argument("--bar-fraction", type=FRACTION, help="fraction of disks with a bar")
    sim.add_argument("--seed", type=SEED, help="run seed")
    sim.add_argument("--workers", type=COUNT, help="worker processes")
    add_config_option(sim, "SimulationConfig (galaxy_xai.simulate.config)")
    sim.add_argument(
        "--rendering",
        choices=RENDERINGS,
        help="8-bit asinh images (gray or gri), linear counts, or counts with the "
        "importer's asinh stretch",
    )
    sim.add_argument(
        "--framing",
        choices=FRAMINGS,
        help="survey pixel scale (fixed) or stamp scaled to the galaxy's R90 (relative)",
    )
    sim.add_argument("--shard", default=None, help="write only part i of N (i/N, i from 0)")
    sim.add_argument("--resume", action="store_true", help="continue an interrupted run")
    defaults_from(
        sim, "galaxy_xai.simulate.config:SimulationConfig", {k: k for k in _CONFIG_OPTIONS}
    )
    defaults_from(
        sim, "galaxy_xai.simulate.suite:simulate_dataset", {"seed": "seed", "workers": "workers"}
    )
    sim.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from galaxy_xai.data.store import open_dataset
    from galaxy_xai.simulate.suite import resolve_config, simulate_dataset

    config = resolve_config(args.config, **given(args, *_CONFIG_OPTIONS))
    path = simulate_dataset(
        args.out,
        n=args.n,
        **given(args, "seed", "workers"),
        shard=args.shard,
        config=config,
        resume=args.resume,
    )
    with open_dataset(path) as ds:
        cat = ds.catalog
        print(
            f"wrote {len(ds)} galaxies {ds.image_shape} to {path} "
            f"(preset {config.preset}, {config.rendering}; barred {int(cat['barred'].sum())}, "
            f"labels {cat['label'].value_counts().sort_index().to_dict()})"
        )
    return 0
