"""``galaxy-xai data import``, ``data info``, ``data psf-library`` and ``data join``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    Number,
    add_config_option,
    add_subcommands,
    config_from_args,
    defaults_from,
    deprecated_command,
    output_path,
)
from galaxy_xai.data.import_config import CHANNELS, MASK_FILLS, STRETCHES
from galaxy_xai.data.preprocess import MAX_SIZE, MIN_SIZE
from galaxy_xai.names import IMPORT_FORMATS

__all__ = ["FORMAT_NAMES", "add_parser"]

#: The formats of ``data import`` (kept under this name; defined in galaxy_xai.names).
FORMAT_NAMES = IMPORT_FORMATS

_IMPORT_CONFIG = "galaxy_xai.data.import_config:ImportConfig"
# option dest -> ImportConfig field
_IMPORT_FIELDS = {
    "size": "size", "crop": "crop", "channels": "channels", "stretch": "stretch",
    "zero_masked": "zero_masked", "mask_fill": "mask_fill", "pattern": "pattern",
    "skip_bad": "skip_bad", "allow_outside_root": "allow_outside_root", "workers": "workers",
    "limit": "limit",
}  # fmt: skip


def add_parser(subparsers: Any) -> None:
    """Add ``data import``, ``data info`` and ``data join`` (and the old top-level ``join``)."""
    data = subparsers.add_parser(
        "data", help="import galaxy images into a dataset file; inspect or join them"
    )
    sub = add_subcommands(data, "data_command")

    imp = sub.add_parser(
        "import",
        help="read a catalogue and its images into one HDF5 dataset file",
        description="Read FORMAT from SRC into one chunked HDF5 file: images resized to "
        "--size, the catalogue beside them, preprocessing and provenance recorded. "
        "Options override the --config file.",
    )
    imp.add_argument(
        "format", metavar="FORMAT", choices=IMPORT_FORMATS, help=", ".join(IMPORT_FORMATS)
    )
    imp.add_argument("source", metavar="SRC", help="source folder or file")
    imp.add_argument("--out", required=True, type=output_path, help="output .h5 file")
    add_config_option(imp, "ImportConfig (galaxy_xai.data.import_config)")
    imp.add_argument(
        "--size", type=Number(int, MIN_SIZE, MAX_SIZE), help=f"output side in px, {MIN_SIZE}..{MAX_SIZE}"
    )  # fmt: skip
    imp.add_argument(
        "--crop",
        type=Number(float, 0.0, 1.0, low_open=True),
        help="fraction (0, 1] of the side kept about the centre",
    )
    imp.add_argument("--channels", choices=CHANNELS, help="image channels")
    imp.add_argument(
        "--stretch",
        choices=STRETCHES,
        help="float data (FITS, Galaxy Builder): asinh into [0, 1] or linear native units",
    )
    imp.add_argument(
        "--keep-masked",
        dest="zero_masked",
        action="store_false",
        default=None,
        help="leave masked pixels (Galaxy Builder stars, artefacts) as they are",
    )
    imp.add_argument(
        "--mask-fill",
        choices=MASK_FILLS,
        help="what replaces masked pixels: the surrounding light interpolated plus sky "
        "noise, sky noise alone, or 0",
    )
    imp.add_argument("--pattern", help="fits: glob selecting files in a folder")
    imp.add_argument(
        "--skip-bad",
        action="store_true",
        default=None,
        help="skip bad items, listing them in OUT.skipped.csv",
    )
    imp.add_argument(
        "--allow-outside-root",
        action="store_true",
        default=None,
        help="let the catalogue name files outside SRC (.., absolute paths, symlinks); "
        "refused by default, even with --skip-bad",
    )
    imp.add_argument("--workers", type=COUNT, help="decoding processes")
    imp.add_argument("--limit", type=COUNT, help="import only the first N items")
    imp.add_argument("--resume", action="store_true", help="continue an interrupted import")
    defaults_from(imp, _IMPORT_CONFIG, {k: v for k, v in _IMPORT_FIELDS.items()
                                        if k not in ("zero_masked", "skip_bad", "allow_outside_root", "pattern")})  # fmt: skip
    imp.set_defaults(func=_import)

    info = sub.add_parser("info", help="image count, shape, counts per label, provenance")
    info.add_argument("path", metavar="X.h5")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=_info)

    psf = sub.add_parser(
        "psf-library",
        help="a PSF library of the Galaxy Builder SDSS PSFs, for survey.psf_library",
        description="Write the psf_<objid> images of a Galaxy Builder folder as a PSF "
        "library file (HDF5) that simulations use with 'survey: {psf_library: OUT}'.",
    )
    psf.add_argument("source", metavar="SRC", help="Galaxy Builder folder (gzb_cutouts.npz)")
    psf.add_argument("--out", required=True, type=output_path, help="library file (.h5)")
    psf.add_argument(
        "--ids", nargs="+", metavar="OBJID", help="only these objids (default: all of them)"
    )
    psf.set_defaults(func=_psf_library)

    _join_options(
        sub.add_parser(
            "join",
            help="join dataset shards into one file",
            description="Join dataset files (e.g. 'galaxy-xai simulate --shard i/N' parts) "
            "into one, ordered by global index, after checking they come from the same run.",
        )
    )
    deprecated_command(subparsers, "join", "data join", _join_options)


def _join_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", help="dataset files to join")
    parser.add_argument("--out", required=True, type=output_path, help="joined dataset file (.h5)")
    parser.set_defaults(func=_join)


def _psf_library(args: argparse.Namespace) -> int:
    import numpy as np

    from galaxy_xai.data.psf_library import galaxy_builder_psf_library, read_psf_library

    out = galaxy_builder_psf_library(args.source, args.out, args.ids)
    lib = read_psf_library(out)
    print(
        f"{out}: {len(lib)} PSFs, {lib.images.shape[1]} px at {lib.pixel_scale_arcsec} "
        f"arcsec, median FWHM {float(np.median(lib.fwhm_arcsec)):.2f} arcsec"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    from galaxy_xai.data.import_config import ImportConfig
    from galaxy_xai.data.importer import import_dataset
    from galaxy_xai.data.info import dataset_info

    config = config_from_args(ImportConfig, args, _IMPORT_FIELDS)
    out = import_dataset(
        args.format,
        args.source,
        args.out,
        **dataclasses.asdict(config),
        resume=args.resume,
        command=shlex.join(["galaxy-xai", *sys.argv[1:]]),
    )
    info = dataset_info(out)
    prov = info["provenance"]
    skipped = (
        f", {prov['n_skipped']} skipped (see {prov['skipped_log']})"
        if prov.get("n_skipped")
        else ""
    )
    print(
        f"wrote {out}: {info['n_images']} images {tuple(info['image_shape'])} {info['storage_dtype']}{skipped}"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from galaxy_xai.data.info import dataset_info, format_info

    info = dataset_info(args.path)
    print(json.dumps(info, indent=2, default=str) if args.json else format_info(info))
    return 0


def _join(args: argparse.Namespace) -> int:
    from galaxy_xai.data.join import join_datasets
    from galaxy_xai.data.store import open_dataset

    path = join_datasets(args.shards, args.out)
    with open_dataset(path) as ds:
        print(f"joined {len(args.shards)} files into {path}: {len(ds)} rows {ds.image_shape}")
    return 0
