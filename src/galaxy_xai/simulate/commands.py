"""``galaxy-xai simulate`` and ``galaxy-xai join``."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import COUNT, FRACTION, SEED, Number, output_path
from galaxy_xai.simulate.config import RENDERINGS

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Register the ``simulate`` and ``join`` subcommands."""
    sim = subparsers.add_parser(
        "simulate",
        help="simulate galaxies with GalSim into a dataset file (with a truth catalogue)",
        description="Simulate bulge + disk + bar + spiral-arm galaxies with exact ground "
        "truth into the dataset format of 'galaxy-xai data import'. The same seed gives "
        "the same galaxies whatever --workers or --shard.",
    )
    sim.add_argument("--out", required=True, type=output_path, help="output dataset file (.h5)")
    sim.add_argument("--n", type=COUNT, required=True, help="number of galaxies (all shards)")
    sim.add_argument(
        "--preset", default=None, help="survey preset: sdss, candels, decals (default sdss)"
    )
    sim.add_argument(
        "--size", type=Number(int, 16), default=None, help="stamp size in pixels, >= 16 (128)"
    )
    sim.add_argument(
        "--bar-fraction", type=FRACTION, default=None, help="fraction of disks with a bar (0.5)"
    )
    sim.add_argument("--seed", type=SEED, default=0, help="run seed (default 0)")
    sim.add_argument("--workers", type=COUNT, default=1, help="worker processes (default 1)")
    sim.add_argument("--config", default=None, help="YAML/TOML file with any config key")
    sim.add_argument(
        "--rendering",
        choices=RENDERINGS,
        default=None,
        help="8-bit asinh images (gray or gri), linear counts, or counts with the "
        "importer's asinh stretch (default jpeg-gray)",
    )
    sim.add_argument(
        "--framing",
        choices=["fixed", "relative"],
        default=None,
        help="survey pixel scale (fixed) or stamp scaled to the galaxy's R90 (relative)",
    )
    sim.add_argument("--shard", default=None, help="write only part i of N (i/N, i from 0)")
    sim.add_argument("--resume", action="store_true", help="continue an interrupted run")
    sim.set_defaults(func=_simulate)

    join = subparsers.add_parser(
        "join",
        help="join dataset shards into one file",
        description="Join dataset files (e.g. 'galaxy-xai simulate --shard i/N' parts) into "
        "one, ordered by global index, after checking they come from the same run.",
    )
    join.add_argument("shards", nargs="+", help="dataset files to join")
    join.add_argument("--out", required=True, type=output_path, help="joined dataset file (.h5)")
    join.set_defaults(func=_join)


def _simulate(args: argparse.Namespace) -> int:
    from galaxy_xai.data.store import open_dataset
    from galaxy_xai.simulate.suite import resolve_config, simulate_dataset

    config = resolve_config(
        args.config,
        preset=args.preset,
        size=args.size,
        bar_fraction=args.bar_fraction,
        rendering=args.rendering,
        framing=args.framing,
    )
    path = simulate_dataset(
        args.out,
        n=args.n,
        seed=args.seed,
        workers=args.workers,
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


def _join(args: argparse.Namespace) -> int:
    from galaxy_xai.data.join import join_datasets
    from galaxy_xai.data.store import open_dataset

    path = join_datasets(args.shards, args.out)
    with open_dataset(path) as ds:
        print(f"joined {len(args.shards)} files into {path}: {len(ds)} rows {ds.image_shape}")
    return 0
