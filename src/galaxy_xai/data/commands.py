"""``galaxy-xai data import`` and ``galaxy-xai data info``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from galaxy_xai.cli_types import COUNT, Number, output_path
from galaxy_xai.data.preprocess import MAX_SIZE, MIN_SIZE

FORMAT_NAMES = (
    "gz1",
    "gz2-kaggle",
    "gz2-kaggle-folders",
    "gz2-hart16",
    "gz-decals",
    "galaxy10",
    "galaxy-builder",
    "fits",
    "folder",
)


def add_parser(subparsers: Any) -> None:
    """Add ``data import`` and ``data info``."""
    data = subparsers.add_parser(
        "data", help="import galaxy images into a dataset file; inspect one"
    )
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    imp = sub.add_parser(
        "import",
        help="read a catalogue and its images into one HDF5 dataset file",
        description="Read FORMAT from SRC into one chunked HDF5 file: images resized to "
        "--size, the catalogue beside them, preprocessing and provenance recorded.",
    )
    imp.add_argument("format", metavar="FORMAT", choices=FORMAT_NAMES, help=", ".join(FORMAT_NAMES))
    imp.add_argument("source", metavar="SRC", help="source folder or file")
    imp.add_argument("--out", required=True, type=output_path, help="output .h5 file")
    imp.add_argument(
        "--size",
        type=Number(int, MIN_SIZE, MAX_SIZE),
        default=128,
        help=f"output side in px, {MIN_SIZE}..{MAX_SIZE} (default 128)",
    )
    imp.add_argument(
        "--crop",
        type=Number(float, 0.0, 1.0, low_open=True),
        default=1.0,
        help="fraction (0, 1] of the side kept about the centre (default 1)",
    )
    imp.add_argument(
        "--channels", choices=("gray", "rgb", "all"), default="gray", help="default gray"
    )
    imp.add_argument(
        "--stretch",
        choices=("asinh", "linear"),
        default="asinh",
        help="float data (FITS, Galaxy Builder): asinh into [0, 1] (default) or linear native units",
    )
    imp.add_argument(
        "--keep-masked",
        action="store_true",
        help="leave masked pixels (Galaxy Builder stars, artefacts) as they are",
    )
    imp.add_argument(
        "--mask-fill",
        choices=("interpolate", "noise", "zero"),
        default="interpolate",
        help="what replaces masked pixels: the surrounding light interpolated plus sky "
        "noise (default), sky noise alone, or 0",
    )
    imp.add_argument("--pattern", default=None, help="fits: glob selecting files in a folder")
    imp.add_argument(
        "--skip-bad", action="store_true", help="skip bad items, listing them in OUT.skipped.csv"
    )
    imp.add_argument(
        "--allow-outside-root",
        action="store_true",
        help="let the catalogue name files outside SRC (.., absolute paths, symlinks); "
        "refused by default, even with --skip-bad",
    )
    imp.add_argument("--workers", type=COUNT, default=1, help="decoding processes (default 1)")
    imp.add_argument("--limit", type=COUNT, default=None, help="import only the first N items")
    imp.add_argument("--resume", action="store_true", help="continue an interrupted import")
    imp.set_defaults(func=_import)

    info = sub.add_parser("info", help="image count, shape, counts per label, provenance")
    info.add_argument("path", metavar="X.h5")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=_info)
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])


def _import(args: argparse.Namespace) -> int:
    from galaxy_xai.data.importer import import_dataset
    from galaxy_xai.data.info import dataset_info

    out = import_dataset(
        args.format,
        args.source,
        args.out,
        size=args.size,
        crop=args.crop,
        channels=args.channels,
        skip_bad=args.skip_bad,
        workers=args.workers,
        limit=args.limit,
        resume=args.resume,
        stretch=args.stretch,
        zero_masked=not args.keep_masked,
        mask_fill=args.mask_fill,
        pattern=args.pattern,
        command=shlex.join(["galaxy-xai", *sys.argv[1:]]),
        allow_outside_root=args.allow_outside_root,
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
